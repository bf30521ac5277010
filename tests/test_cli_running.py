"""How the commands run their reads of the tenant: on an event loop whose main task hands its
result over without ever writing it out; and how a plan reads the task files while it lists the
tenant's tasks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli.connect import Tenant, open_tenant, run_async
from reconciler.cli.planning import FILES_BETWEEN_PAGES, compute_plan, read_between_pages
from reconciler.desired import Desired
from reconciler.errors import ApiError, Problem, ProblemsFound
from reconciler.load import Steps
from reconciler.model import MARKER
from reconciler.plan import Options, Plan
from reconciler.qlik import Credentials, RetryPolicy, Secret
from reconciler.qlik.profiled import ProfiledClient


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


# -- a plan reads the task files while the listing's pages arrive ---------------------------------


def _local(tmp_path: Path) -> Tenant:
    return open_tenant(None, {}, root=tmp_path)


def _unreachable() -> Tenant:
    client = ProfiledClient(
        "http://127.0.0.1:9", Credentials(api_key=Secret("k")), retry=RetryPolicy(max_attempts=1)
    )
    return Tenant(client=client, label=client.tenant_url, url=client.tenant_url)


def _plan(read: Callable[[], Steps[Desired]], tenant: Tenant) -> Plan:
    async def run() -> Plan:
        async with tenant.client:
            plan, _, _ = await compute_plan(read, tenant, Options(marker=MARKER))
            return plan

    return run_async(run())


def test_the_listing_goes_on_between_the_files_until_it_is_done() -> None:
    """While the listing goes on, the event loop runs between files (no thread reads beside it);
    once the listing is done, the rest is read without turning the loop."""
    turns = 0

    async def listing() -> None:
        nonlocal turns
        for _ in range(3):
            await asyncio.sleep(0)
            turns += 1

    seen: list[int] = []
    threads: set[int] = set()

    def read() -> Steps[Desired]:
        for _ in range(6 * FILES_BETWEEN_PAGES):
            seen.append(turns)
            threads.add(threading.get_ident())
            yield
        return Desired(tasks=[])

    async def run() -> Desired:
        pages = asyncio.create_task(listing())
        desired = await read_between_pages(read(), pages)
        await pages
        return desired

    assert run_async(run()).tasks == []
    assert threads == {threading.get_ident()}
    between = seen[::FILES_BETWEEN_PAGES]
    assert between == [0, 0, 1, 2, 3, 3]  # the loop turned between files, until the listing ended


def test_problems_in_the_task_files_come_before_an_error_of_the_tenant() -> None:
    problem = Problem("tasks/a.yaml", 1, 1, "name: required")

    def broken() -> Steps[Desired]:
        yield
        raise ProblemsFound([problem])

    def empty() -> Steps[Desired]:
        return Desired(tasks=[])
        yield  # a generator that reads nothing

    with pytest.raises(ProblemsFound) as found:
        _plan(broken, _unreachable())
    assert found.value.problems == [problem]
    with pytest.raises(ApiError, match="could not connect"):
        _plan(empty, _unreachable())
