"""One state file, several processes: two `emulator serve --state FILE`, or two commands using the
embedded local tenant at once. Each request holds an exclusive lock on the file (`flock` on a
`.FILE.lock` beside it), first re-reads the file if another process replaced it since, and saves
before it lets go; so every acknowledged write is in the file, and every process serves the
writes of the others.

A replaced file is recognised by its identity (inode, size, modification time): a state file is
only ever replaced whole, by `os.replace` of a new file, so its inode changes with every write.
Without `fcntl` (Windows), a process still works alone but is not protected from another.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from reconciler.emulator.request import Core
from reconciler.emulator.runs import RunEngine
from reconciler.emulator.store import State, StateFile

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

Signature = tuple[int, int, int]


class SharedState:
    """The state file of a tenant, shared with other processes through a lock."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.file = StateFile(path, fsync=fsync)
        self.lock_path = self.file.path.with_name(f".{self.file.path.name}.lock")
        self._fd: int | None = None
        self._depth = 0
        self._seen: Signature | None = None

    @contextlib.contextmanager
    def held(self, core: Core | None = None) -> Iterator[None]:
        """The lock, for as long as the block runs (re-entrant within this process); with `core`,
        what other processes saved since is read into it first."""
        if self._depth == 0:
            self._acquire()
        self._depth += 1
        try:
            if core is not None and self._depth == 1:
                self.refresh(core)
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._release()

    def load(self) -> State | None:
        """The state in the file (None: no file yet); call with the lock held."""
        state = self.file.load()
        self._seen = self._signature()
        return state

    def refresh(self, core: Core) -> None:
        """Take the state another process saved since this one last read or wrote the file."""
        if self._signature() == self._seen:
            return
        state = self.load()
        if state is None:
            return
        core.state = state
        core.engine = RunEngine(state, core.config, core.new_id)
        core.listing = None

    def save(self, state: State) -> None:
        self.file.save(state)
        self._seen = self._signature()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _signature(self) -> Signature | None:
        try:
            stat = self.file.path.stat()
        except FileNotFoundError:
            return None
        return (stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def _acquire(self) -> None:
        if fcntl is None:
            return
        if self._fd is None:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _release(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
