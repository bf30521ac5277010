"""Reading a file with a bound on its size, checked before its bytes are read.

A file's size is checked with `fstat` on the open file before anything is read, and at most one
byte past the bound is ever read (a special file can claim any size): a 2 GB task file costs a
system call, not 2 GB of memory. Task files and reconciler.yaml are bounded by
`yamlsource.MAX_BYTES` (2 MiB); saved plans, legacy dumps and the local tenant's state by
`DATA_FILE_BYTES`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

DATA_FILE_BYTES = 256 * 1024 * 1024


class TooLarge(ValueError):
    """The file is larger than the bound; nothing of it was read."""


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit} bytes"


def read_bounded(path: Path | str, limit: int) -> bytes:
    """The bytes of `path`, or TooLarge when it holds more than `limit` bytes. OSError as open()
    raises it (a missing file, no permission), and for a directory or anything that is not a
    regular file (a FIFO would wait for a writer, a device may never end)."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer; a regular file ignores it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if info.st_size > limit:
            raise TooLarge(f"file is larger than {_size(limit)} ({info.st_size} bytes)")
        data = _read_up_to(fd, info.st_size, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise TooLarge(f"file is larger than {_size(limit)}")
    return data


def _read_up_to(fd: int, expected: int, most: int) -> bytes:
    """At most `most` bytes of `fd`, asking for the `expected` size first: a buffer of the bound
    allocated for every small file cost more than reading it. A file that grows while it is read
    is read on, up to `most`."""
    chunks: list[bytes] = []
    got = 0
    want = min(expected + 1, most)
    while got < most:
        chunk = os.read(fd, want)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
        want = min(max(want, 64 * 1024), most - got)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
