"""Every file the tool writes (saved plans, drift reports, migrated and imported task files) goes
through here: atomically, through a temporary file that cannot be redirected, and only inside the
directory the user named.

The temporary file is created exclusively (`O_CREAT | O_EXCL`, a random name) in the target's own
directory, so no symlink planted at a predictable name can send the bytes elsewhere, and the final
rename never crosses a file system. A reader sees the old file or the new one, never half of one.
A failure removes the temporary file and is one line: `cannot write PATH: why`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError


def _mode() -> int:
    """The permissions an ordinary `open(..., "w")` would give a new file (0666 less the umask)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_target(path: Path) -> None:
    """Refuse, before any work is done, a file that cannot be written: a directory, or a file in
    a directory that does not exist."""
    if path.is_dir():
        raise ReconcilerError(f"cannot write {path}: it is a directory; name a file")
    if not path.parent.is_dir():
        raise ReconcilerError(
            f"cannot write {path}: the directory {path.parent} does not exist; create it first"
        )


def write_file(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically. Its directory must exist."""
    directory = path.parent
    check_target(path)
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ReconcilerError(f"cannot write {path}: {_why(exc)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), _mode())
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise ReconcilerError(f"cannot write {path}: {_why(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def write_into(folder: Path, files: Sequence[tuple[str, str]]) -> list[Path]:
    """Write each (file name, text) into `folder` (created if needed), atomically, one by one.

    A name is a plain file name: a separator, `..` or a name that resolves outside `folder` is
    refused before anything is written."""
    root = folder.resolve()
    targets: list[Path] = []
    for name, _ in files:
        target = folder / name
        if (
            not name
            or name in (".", "..")
            or "/" in name
            or os.sep in name
            or "\0" in name
            or target.parent.resolve() != root
        ):
            raise ReconcilerError(
                f"refusing to write {name!r}: not a plain file name inside {folder}; "
                "nothing was written"
            )
        targets.append(target)
    if not files:
        return targets
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReconcilerError(f"cannot create {folder}: {_why(exc)}") from None
    for target, (_, text) in zip(targets, files, strict=True):
        write_file(target, text)
    return targets
