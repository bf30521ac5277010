"""Reading a file with a bound on its size: every byte up to the bound, nothing past it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.bounded import TooLarge, read_bounded

LIMIT = 200_000


@pytest.mark.parametrize(
    ("size", "fits"),
    [
        (0, True),
        (1, True),
        (4_096, True),
        (70_000, True),  # more than one chunk of the fallback read
        (LIMIT, True),
        (LIMIT + 1, False),
    ],
)
def test_reads_every_byte_up_to_the_bound(tmp_path: Path, size: int, fits: bool) -> None:
    path = tmp_path / "f.yaml"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    if fits:
        assert read_bounded(path, LIMIT) == data
    else:
        with pytest.raises(TooLarge):
            read_bounded(path, LIMIT)


@pytest.mark.parametrize(
    ("claimed", "actual", "fits"),
    [
        (10, 100_000, True),  # the file grew after its size was asked: read on
        (10, LIMIT + 5, False),  # and grew past the bound: refused, not truncated
        (0, 1, True),
    ],
)
def test_a_file_larger_than_its_size_said_is_read_to_the_end_or_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claimed: int, actual: int, fits: bool
) -> None:
    path = tmp_path / "f.yaml"
    data = b"x" * actual
    path.write_bytes(data)
    real_fstat = os.fstat

    class Shrunk:
        def __init__(self, fd: int) -> None:
            info = real_fstat(fd)
            self.st_mode = info.st_mode
            self.st_size = claimed

    monkeypatch.setattr(os, "fstat", Shrunk)
    if fits:
        assert read_bounded(path, LIMIT) == data
    else:
        with pytest.raises(TooLarge):
            read_bounded(path, LIMIT)


def test_a_folder_is_not_read(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_bounded(tmp_path, LIMIT)
