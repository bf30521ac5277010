"""How the commands run their reads of the tenant: on an event loop whose main task hands its
result over without ever writing it out; and how a plan reads the task files while it lists the
tenant's tasks."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.cli.connect import Tenant, open_tenant, run_async
from reconciler.cli.planning import READING_SWITCH_SECONDS, compute_plan
from reconciler.desired import Desired
from reconciler.errors import ApiError, Problem, ProblemsFound
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


def _plan(read: Callable[[], Desired], tenant: Tenant) -> Plan:
    async def run() -> Plan:
        async with tenant.client:
            plan, _, _ = await compute_plan(read, tenant, Options(marker=MARKER))
            return plan

    return run_async(run())


def test_the_files_are_read_switching_threads_often_and_the_interval_is_restored(
    tmp_path: Path,
) -> None:
    seen: list[float] = []

    def read() -> Desired:
        seen.append(sys.getswitchinterval())
        return Desired(tasks=[])

    before = sys.getswitchinterval()
    plan = _plan(read, _local(tmp_path))
    assert seen == [READING_SWITCH_SECONDS]
    assert sys.getswitchinterval() == before
    assert not plan.has_changes


def test_problems_in_the_task_files_come_before_an_error_of_the_tenant() -> None:
    problem = Problem("tasks/a.yaml", 1, 1, "name: required")

    def broken() -> Desired:
        raise ProblemsFound([problem])

    before = sys.getswitchinterval()
    with pytest.raises(ProblemsFound) as found:
        _plan(broken, _unreachable())
    assert found.value.problems == [problem]
    assert sys.getswitchinterval() == before
    with pytest.raises(ApiError, match="could not connect"):
        _plan(lambda: Desired(tasks=[]), _unreachable())
