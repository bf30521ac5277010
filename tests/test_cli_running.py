"""How the commands run their reads of the tenant: on an event loop whose main task hands its
result over without ever writing it out."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.cli.connect import run_async


class Counted:
    """A result that counts how often its text was made (a plan of 10,000 tasks is slow to write
    out, and whatever writes it may swallow an error of `__repr__`)."""

    def __init__(self) -> None:
        self.written = 0

    def __repr__(self) -> str:
        self.written += 1
        return "Counted()"


def test_run_async_hands_the_result_over_without_writing_it_out() -> None:
    async def main() -> Counted:
        await asyncio.sleep(0)
        return Counted()

    result = run_async(main())
    assert isinstance(result, Counted)
    assert result.written == 0


def test_run_async_raises_what_the_coroutine_raises() -> None:
    async def main() -> None:
        raise ValueError("no tenant")

    with pytest.raises(ValueError, match="no tenant"):
        run_async(main())
