"""The live-state reader against a fake source: what each read returns, that each thing is read
once a run, and the one legacy policy (404: none; any other refusal fails the command)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from typing import Any

import pytest

from reconciler.apps import AppFacts
from reconciler.errors import ApiError
from reconciler.live import LiveReader
from reconciler.owners import Identities, Person
from tests.conftest import tasks_from

APP_A = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
APP_B = "3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718"


class FakeSource:
    """A tenant in memory that counts the reads asked of it."""

    def __init__(self, *, legacy: list[dict[str, Any]] | ApiError | None = None) -> None:
        self.asked: Counter[str] = Counter()
        self.tasks = [
            {"id": "t-1", "name": "One", "metadata": {"ownerId": "u-1", "updatedBy": "u-2"}},
            {"id": "t-2", "name": "Two"},
        ]
        self.identities_asked: list[tuple[list[str], list[str], bool]] = []
        self.legacy = legacy
        self.apps = {APP_A: {"attributes": {"name": "Sales"}, "privileges": ["reload"]}}

    async def list_tasks(self) -> list[dict[str, Any]]:
        self.asked["tasks"] += 1
        return self.tasks

    async def list_legacy_reload_tasks(self) -> list[dict[str, Any]] | None:
        self.asked["legacy"] += 1
        if isinstance(self.legacy, ApiError):
            raise self.legacy
        return self.legacy

    async def get_app(self, app_id: str) -> dict[str, Any] | None:
        self.asked[f"app {app_id}"] += 1
        return self.apps.get(app_id)

    async def last_run(self, task_id: str) -> dict[str, Any] | None:
        self.asked[f"last {task_id}"] += 1
        return {"status": "FAILED"} if task_id == "t-1" else None

    async def read_identities(
        self, owner_ids: Iterable[str], specs: Iterable[str] = (), *, check_acting: bool = True
    ) -> Identities:
        self.identities_asked.append((list(owner_ids), list(specs), check_acting))
        ben = Person("u-1", "Ben")
        return Identities(caller=ben, people={"u-1": ben}, resolved={"ben@example.com": ben})

    async def list_runs(self, task_id: str, *, max_runs: int | None = None) -> list[dict[str, Any]]:
        self.asked[f"runs {task_id} {max_runs}"] += 1
        return [{"id": f"{task_id}-run"}]


def _twice(source: FakeSource, read: str, *args: Any) -> tuple[Any, Any, LiveReader]:
    reader = LiveReader(source)

    async def run() -> tuple[Any, Any]:
        return await getattr(reader, read)(*args), await getattr(reader, read)(*args)

    first, second = asyncio.run(run())
    return first, second, reader


LEGACY = [{"id": "64e5f6a7b8c9d0e1f2a3b4c5", "appId": APP_A}]


@pytest.mark.parametrize(
    ("read", "args", "legacy", "expected", "asked", "kept"),
    [
        (
            "tasks",
            (),
            None,
            FakeSource().tasks,
            {"tasks": 1},
            "tasks",
        ),
        ("legacy", (), LEGACY, LEGACY, {"legacy": 1}, "legacy"),
        # 404: the tenant has no legacy endpoint; asked once all the same.
        ("legacy", (), None, None, {"legacy": 1}, "legacy"),
        (
            "apps",
            ([APP_A, APP_B, APP_A],),
            None,
            {
                APP_A: AppFacts(APP_A, exists=True, name="Sales", may_reload=True),
                APP_B: AppFacts(APP_B, exists=False),
            },
            {f"app {APP_A}": 1, f"app {APP_B}": 1},
            "apps",
        ),
    ],
    ids=["tasks", "legacy", "legacy-gone", "apps"],
)
def test_each_thing_is_read_once_a_run_into_the_live_value(
    read: str,
    args: tuple[Any, ...],
    legacy: Any,
    expected: Any,
    asked: dict[str, int],
    kept: str,
) -> None:
    source = FakeSource(legacy=legacy)
    first, second, reader = _twice(source, read, *args)
    assert first == second == expected
    assert dict(source.asked) == asked
    assert getattr(reader.live, kept) == expected


def test_runs_are_read_for_the_tasks_asked_for() -> None:
    source = FakeSource()
    reader = LiveReader(source)

    async def run() -> tuple[Any, Any]:
        return await reader.last_runs(["t-1", "t-2"]), await reader.runs(["t-2"], 20)

    last, runs = asyncio.run(run())
    assert last == {"t-1": {"status": "FAILED"}, "t-2": None}
    assert runs == {"t-2": [{"id": "t-2-run"}]}
    assert reader.live.last_runs == last and reader.live.runs == runs
    assert dict(source.asked) == {"last t-1": 1, "last t-2": 1, "runs t-2 20": 1}


@pytest.mark.parametrize("status", [401, 403, 500])
def test_a_legacy_listing_refused_fails_the_read(status: int) -> None:
    source = FakeSource(legacy=ApiError("GET", "/api/v1/reload-tasks", status))
    reader = LiveReader(source)
    with pytest.raises(ApiError) as raised:
        asyncio.run(reader.legacy())
    assert raised.value.status == status


@pytest.mark.parametrize("check_acting", [True, False])
def test_owners_are_read_once_for_the_live_tasks_and_the_declared_owners(
    check_acting: bool,
) -> None:
    source = FakeSource()
    reader = LiveReader(source)
    tasks = tasks_from(
        f"""
        name: Nightly
        owner: ben@example.com
        reload: {{appId: {APP_A}}}
        schedule: {{cron: "0 2 * * *", timezone: UTC}}
        """
    )
    owners, problems = asyncio.run(reader.owners(tasks, None, check_acting=check_acting))
    assert source.identities_asked == [(["u-1", "u-2"], ["ben@example.com"], check_acting)]
    assert problems == []
    assert owners.writer("Nightly").name == "Ben"
    assert reader.live.identities is not None and reader.live.identities.caller.id == "u-1"
