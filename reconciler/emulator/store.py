"""The tenant's state (tasks, legacy reload-tasks, runs, apps, reloads, users) and its atomic JSON
file.

A state file is only ever replaced whole: written to a temporary file in the same directory,
flushed, fsynced, then `os.replace`d, so a reader or a crash never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.bounded import DATA_FILE_BYTES, TooLarge, read_bounded

Doc = dict[str, Any]
STATE_VERSION = 1


@dataclass
class State:
    """Everything the tenant knows. Keys beginning with `_` in a run are internal, never served."""

    tasks: dict[str, Doc] = field(default_factory=dict)
    legacy: dict[str, Doc] = field(default_factory=dict)
    runs: list[Doc] = field(default_factory=list)
    apps: dict[str, Doc] = field(default_factory=dict)
    reloads: dict[str, Doc] = field(default_factory=dict)
    users: dict[str, Doc] = field(default_factory=dict)
    # Events consumed so far by `exclusive: false` (wait-for-all) tasks, per task id.
    chain_progress: dict[str, list[str]] = field(default_factory=dict)
    failure_streaks: dict[str, int] = field(default_factory=dict)
    failing_apps: set[str] = field(default_factory=set)
    # Write sequence per item id: breaks ties between equal timestamps, newest write last.
    order: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    dirty: bool = False

    def to_json(self) -> Doc:
        return {
            "version": STATE_VERSION,
            "tasks": list(self.tasks.values()),
            "legacyReloadTasks": list(self.legacy.values()),
            "runs": self.runs,
            "apps": list(self.apps.values()),
            "reloads": list(self.reloads.values()),
            "users": list(self.users.values()),
            "chainProgress": self.chain_progress,
            "failureStreaks": self.failure_streaks,
            "failingApps": sorted(self.failing_apps),
            "order": self.order,
            "seq": self.seq,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        return cls(
            tasks={doc["id"]: doc for doc in data.get("tasks", [])},
            legacy={doc["id"]: doc for doc in data.get("legacyReloadTasks", [])},
            runs=list(data.get("runs", [])),
            apps={doc["id"]: doc for doc in data.get("apps", [])},
            reloads={doc["id"]: doc for doc in data.get("reloads", [])},
            users={doc["id"]: doc for doc in data.get("users", [])},
            chain_progress=dict(data.get("chainProgress", {})),
            failure_streaks=dict(data.get("failureStreaks", {})),
            failing_apps=set(data.get("failingApps", [])),
            order=dict(data.get("order", {})),
            seq=int(data.get("seq", 0)),
        )


class StateFile:
    """Reads and atomically replaces one JSON state file."""

    def __init__(self, path: Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> State | None:
        """The state in the file, None when there is no file; CorruptState when it is not one."""
        self._remove_leftovers()
        if not self.path.exists():
            return None
        try:
            raw = read_bounded(self.path, DATA_FILE_BYTES)
            data = json.loads(raw.decode("utf-8"))
        except (OSError, TooLarge) as exc:
            raise CorruptState(f"cannot read {self.path}: {_why(exc)}") from None
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, a number too long
            raise CorruptState(
                f"{self.path} is not a tenant state file (not JSON: {_why(exc)})"
            ) from None
        problem = _shape_problem(data)
        if problem:
            raise CorruptState(f"{self.path} is not a tenant state file ({problem})")
        return State.from_json(data)

    def save(self, state: State) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        data = json.dumps(state.to_json(), separators=(",", ":"))
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        if self.fsync:
            _fsync_directory(directory)

    def _remove_leftovers(self) -> None:
        # Temporary files of a writer that was killed before its os.replace: never the state.
        if self.path.parent.is_dir():
            for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    leftover.unlink()


class CorruptState(ValueError):
    """The state file exists but cannot be used: unreadable, not JSON, or not shaped as a state.
    Nothing was changed; the message names the file and what is wrong."""


def _why(exc: BaseException) -> str:
    text = exc.strerror if isinstance(exc, OSError) else str(exc)
    return (text or type(exc).__name__).splitlines()[0][:200]


_ITEM_LISTS = ("tasks", "legacyReloadTasks", "apps", "reloads")
_MAPPINGS = ("chainProgress", "failureStreaks", "order")


def _shape_problem(data: Any) -> str | None:
    """What keeps `data` from being a state document, or None."""
    if not isinstance(data, dict):
        return "expected a JSON object"
    for key in _ITEM_LISTS:
        items = data.get(key, [])
        if not isinstance(items, list):
            return f"{key} must be a list"
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                return f"{key}[{i}] must be an object with a string id"
    runs = data.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        return "runs must be a list of objects"
    for key in _MAPPINGS:
        if not isinstance(data.get(key, {}), dict):
            return f"{key} must be an object"
    if not isinstance(data.get("failingApps", []), list):
        return "failingApps must be a list"
    seq = data.get("seq", 0)
    if not isinstance(seq, int) or isinstance(seq, bool):
        return "seq must be a number"
    return None


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_seed(seed: Mapping[str, Any] | Path | str | None) -> Doc:
    """A seed as a dict: `{"tasks": [...], "legacyReloadTasks": [...], "apps": [...], "users": [...]}`."""
    if seed is None:
        return {}
    if isinstance(seed, Mapping):
        copied: Doc = json.loads(json.dumps(seed))  # a private deep copy
        return copied
    try:
        data = json.loads(read_bounded(seed, DATA_FILE_BYTES).decode("utf-8"))
    except (OSError, TooLarge) as exc:
        raise ValueError(f"cannot read the seed file {seed}: {_why(exc)}") from None
    except RecursionError:
        raise ValueError(f"the seed file {seed} is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("a seed file holds a JSON object")
    return data
