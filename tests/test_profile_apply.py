"""apply on a tenant that drops annotations: with the default profile it stops at the first
create, naming `reconciler doctor` and `markerIn`, and leaves no copy behind; with
`markerIn: description` it converges. A create whose answer is lost is found by name, time and
content, never by the marker, so no sequence of applies makes a second task of one name."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from reconciler import apidoc
from reconciler.apply import ApplyResult, Status, apply_plan
from reconciler.apply.port import TaskClient
from reconciler.apply.recovery import find_created_task
from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.emulator.faults import Fault
from reconciler.model import MARKER
from reconciler.plan import Options, build_plan
from reconciler.profile import DEFAULT, Profile
from reconciler.qlik.auth import Credentials, Secret
from reconciler.qlik.client import RateLimits, RetryPolicy
from reconciler.qlik.profiled import ProfiledClient
from tests.conftest import APP_A, tasks_from

TASKS = "/api/scheduling/tasks"
TREE = f"""
name: Sales ETL
description: Nightly sales extract
reload: {{appId: {APP_A}}}
schedule: {{recurrence: "RRULE:FREQ=DAILY;BYHOUR=6", timezone: Europe/Zurich}}
---
name: Finance dashboard
reload: {{appId: {APP_A}}}
after: [Sales ETL]
"""
DESCRIBED = Profile(markerIn="description")


def _client(emulator: Emulator, profile: Profile) -> ProfiledClient:
    return ProfiledClient(
        "http://127.0.0.1",
        Credentials(api_key=Secret("profile-key")),
        profile=profile,
        transport=emulator.transport(),
        limits=RateLimits(reads_per_minute=10**6, writes_per_minute=10**6),
        retry=RetryPolicy(max_attempts=4, base=0.0, cap=0.0),
    )


def _apply(
    emulator: Emulator, profile: Profile, *, adopt: bool = False, tree: str = TREE
) -> ApplyResult:
    async def run() -> ApplyResult:
        async with _client(emulator, profile) as client:
            live = await client.list_tasks()
            plan = build_plan(tasks_from(tree), live, Options(marker=MARKER, adopt=adopt))
            return await apply_plan(plan, client, marker=MARKER)

    return asyncio.run(run())


def _changes(emulator: Emulator, profile: Profile) -> int:
    async def run() -> int:
        async with _client(emulator, profile) as client:
            plan = build_plan(tasks_from(TREE), await client.list_tasks(), Options(marker=MARKER))
            return len(plan.changes) + len(plan.conflicts)

    return asyncio.run(run())


def _names(emulator: Emulator) -> Counter[str]:
    return Counter(str(t["name"]) for t in emulator.tasks())


def _dropping() -> Emulator:
    return Emulator(EmulatorConfig(quirks=("drop-annotations",)))


@pytest.mark.parametrize("adopt", [False, True])
def test_default_profile_on_a_dropping_tenant_stops_and_leaves_nothing(adopt: bool) -> None:
    emulator = _dropping()
    for _ in range(3):
        result = _apply(emulator, DEFAULT, adopt=adopt)
        assert result.stopped is not None
        assert "reconciler doctor" in result.stopped and "markerIn" in result.stopped
        assert "Apply stopped" in result.summary_line()
        failed = result.with_status(Status.FAILED)
        assert [o.action.name for o in failed] == ["Sales ETL"]
        # The downstream waits for an id it never gets; nothing else is attempted.
        assert {o.action.name for o in result.with_status(Status.SKIPPED)} == {"Finance dashboard"}
        assert _names(emulator) == Counter()


def test_marker_in_description_converges_on_a_dropping_tenant() -> None:
    emulator = _dropping()
    result = _apply(emulator, DESCRIBED)
    assert result.ok, result.summary_line()
    stored = {t["name"]: t for t in emulator.tasks()}
    assert stored["Sales ETL"]["description"] == f"Nightly sales extract\n[{MARKER}]"
    assert stored["Finance dashboard"]["description"] == f"[{MARKER}]"
    assert "annotations" not in stored["Sales ETL"]
    assert _changes(emulator, DESCRIBED) == 0
    # Read with the default profile the same tasks are unmanaged: the marker is where it says.
    assert _changes(emulator, DEFAULT) == 2


def _lose_first_post_answer(emulator: Emulator) -> None:
    emulator.add_fault_rule(
        lambda method, path, _: method == "POST" and path == TASKS,
        fault=Fault.DROP_AFTER,
        times=1,
    )


@pytest.mark.parametrize("profile", [DEFAULT, DESCRIBED], ids=["annotations", "description"])
def test_a_lost_create_answer_never_makes_a_second_task(profile: Profile) -> None:
    emulator = _dropping()
    _lose_first_post_answer(emulator)
    first = _apply(emulator, profile)
    assert _names(emulator)["Sales ETL"] == 1
    if profile is DESCRIBED:
        assert first.ok, first.summary_line()
        (done,) = [o for o in first.outcomes if o.action.name == "Sales ETL"]
        assert "answer was lost" in done.detail
    else:
        # The task found after the lost answer has no marker: it may not be ours, it is left alone.
        assert first.stopped is not None and "left alone" in first.stopped
    for _ in range(2):
        _apply(emulator, profile)
        _apply(emulator, profile, adopt=True)
        assert max(_names(emulator).values()) == 1


def test_a_lost_answer_on_a_tenant_that_keeps_annotations_is_found_once() -> None:
    emulator = Emulator(EmulatorConfig())
    _lose_first_post_answer(emulator)
    result = _apply(emulator, DEFAULT)
    assert result.ok, result.summary_line()
    assert _names(emulator) == Counter({"Sales ETL": 1, "Finance dashboard": 1})


class _Listing:
    """A client that only answers `find_tasks_by_name`, with fixed tasks."""

    def __init__(self, tasks: list[dict[str, Any]]) -> None:
        self.tasks = tasks

    async def find_tasks_by_name(self, name: str) -> list[dict[str, Any]]:
        return [t for t in self.tasks if t["name"] == name]


SINCE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _sent() -> dict[str, Any]:
    return apidoc.build(tasks_from(TREE)[0], {}, MARKER)


def _stored(created: str, **changes: Any) -> dict[str, Any]:
    doc = {**_sent(), "id": created, "enabled": False, "metadata": {"createdAt": created}}
    doc.pop("annotations")  # the tenant dropped them: the marker does not decide
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("stored", "found"),
    [
        ([_stored("2026-06-01T12:00:05Z")], "2026-06-01T12:00:05Z"),
        ([_stored("2026-06-01T11:00:00Z")], None),  # made before this attempt began
        ([_stored("2026-06-01T12:00:05Z", start=None)], None),  # other content
        (
            [_stored("2026-06-01T12:00:09Z"), _stored("2026-06-01T12:00:05Z")],
            "2026-06-01T12:00:05Z",  # the oldest match
        ),
    ],
)
def test_a_lost_create_is_found_by_name_time_and_content(
    stored: list[dict[str, Any]], found: str | None
) -> None:
    client = cast(TaskClient, _Listing(stored))
    task = asyncio.run(find_created_task(client, _sent(), SINCE))
    assert (task or {}).get("id") == found


def test_adoption_on_a_dropping_tenant_moves_the_marker_into_the_description_once() -> None:
    emulator = _dropping()
    made_by_hand = apidoc.build(tasks_from(TREE)[0], {}, MARKER)
    made_by_hand.pop("annotations")
    emulator.put_task_raw(made_by_hand)
    first = _apply(emulator, DESCRIBED, adopt=True)
    assert first.ok, first.summary_line()
    (adopted,) = [t for t in emulator.tasks() if t["name"] == "Sales ETL"]
    assert adopted["description"] == f"Nightly sales extract\n[{MARKER}]"
    assert _changes(emulator, DESCRIBED) == 0
    assert _names(emulator) == Counter({"Sales ETL": 1, "Finance dashboard": 1})


def test_an_adoption_the_tenant_does_not_keep_stops_apply() -> None:
    emulator = _dropping()
    made_by_hand = {**apidoc.build(tasks_from(TREE)[0], {}, MARKER), "description": "by hand"}
    made_by_hand.pop("annotations")
    emulator.put_task_raw(made_by_hand)
    for _ in range(2):
        result = _apply(emulator, DEFAULT, adopt=True, tree=TREE.split("---", maxsplit=1)[0])
        assert result.stopped is not None
        assert "adopted" in result.stopped and "markerIn" in result.stopped
        assert "reconciler doctor" in result.stopped
        assert _names(emulator)["Sales ETL"] == 1
