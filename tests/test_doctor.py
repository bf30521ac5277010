"""The doctor's verdicts from plain observations: each check's status and the profile it suggests."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.canary import CANARY_TEXT, Probed, is_canary, probe_checks, rewritten_fields
from reconciler.doctor import (
    Status,
    apps_check,
    legacy_check,
    limits_check,
    page_check,
    suggested,
)
from reconciler.profile import DEFAULT, Profile

APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
PLAIN = Probed(
    annotations_kept=True,
    description_kept=True,
    state_type="event",
    spec_version="0.8",
    status="succeeded",
    enabled_on_create=False,
    patch_answer=200,
    spelled=[],
    meant=[],
)


@pytest.mark.parametrize(
    ("largest", "short", "status"),
    [(None, None, Status.OK), (20, None, Status.FAIL), (None, 50, Status.WARN)],
)
def test_list(largest: int | None, short: int | None, status: Status) -> None:
    assert page_check(100, largest, short, 7).status is status


def test_legacy_gone_or_answering() -> None:
    assert legacy_check(None).observed == "gone (404)"
    answering = legacy_check([{"id": "1", "migrated": True}, {"id": "2"}])
    assert answering.status is Status.OK
    assert "1 not migrated" in answering.observed and "migrate" in answering.detail


@pytest.mark.parametrize(
    ("apps", "status"),
    [
        ({APP: {"id": APP}}, Status.OK),
        ({APP: {"id": APP, "privileges": ["read", "reload"]}}, Status.OK),
        ({APP: {"id": APP, "privileges": ["read"]}}, Status.FAIL),
        ({APP: None}, Status.FAIL),
    ],
)
def test_apps(apps: dict[str, Any], status: Status) -> None:
    assert apps_check([APP], apps).status is status


def test_apps_without_task_files() -> None:
    assert apps_check([], {}).status is Status.OK
    assert apps_check(None, {}).status is Status.WARN


@pytest.mark.parametrize(("tasks", "status"), [(7, Status.OK), (8, Status.WARN), (10, Status.WARN)])
def test_limits(tasks: int, status: Status) -> None:
    check = limits_check([{"resourceId": APP}] * tasks)
    assert check.status is status
    assert ("(full)" in check.detail) is (tasks == 10)


# what the probe saw, the profile in use -> the checks that are not ok, and the suggested changes
CASES: list[tuple[Probed, Profile, dict[str, Status], dict[str, Any]]] = [
    (PLAIN, DEFAULT, {}, {}),
    (
        replace(PLAIN, annotations_kept=False),
        DEFAULT,
        {"annotations": Status.FAIL},
        {"markerIn": "description"},
    ),
    (replace(PLAIN, annotations_kept=False), Profile(markerIn="description"), {}, {"markerIn": "description"}),
    (
        replace(PLAIN, annotations_kept=False, description_kept=False),
        DEFAULT,
        {"annotations": Status.FAIL},
        {},
    ),
    (PLAIN, Profile(markerIn="description"), {"annotations": Status.WARN}, {}),
    (replace(PLAIN, state_type="EVENT"), DEFAULT, {"stateType": Status.WARN}, {"stateType": "EVENT"}),
    (
        replace(PLAIN, spec_version="1.16.0"),
        DEFAULT,
        {"specVersion": Status.WARN},
        {"specVersion": "1.16.0"},
    ),
    (replace(PLAIN, status="SUCCEEDED"), DEFAULT, {"statusCase": Status.WARN}, {"statusCase": "upper"}),
    (replace(PLAIN, status=None), DEFAULT, {"statusCase": Status.WARN}, {}),
    (replace(PLAIN, enabled_on_create=True, patch_answer=204), DEFAULT, {}, {}),
    (replace(PLAIN, spelled=["start"]), DEFAULT, {}, {}),
    (replace(PLAIN, meant=["start"]), DEFAULT, {"roundTrip": Status.FAIL}, {}),
]  # fmt: skip


@pytest.mark.parametrize(("seen", "profile", "not_ok", "changes"), CASES)
def test_probe_verdicts_and_the_suggested_profile(
    seen: Probed, profile: Profile, not_ok: dict[str, Status], changes: dict[str, Any]
) -> None:
    checks = probe_checks(seen, profile)
    assert {c.name: c.status for c in checks if c.status is not Status.OK} == not_ok
    assert suggested(profile, seen=seen).changed() == changes


def test_the_page_limit_found_is_suggested() -> None:
    assert suggested(DEFAULT, page_limit=20).changed() == {"pageLimit": 20}


@pytest.mark.parametrize(
    ("task", "canary"),
    [
        ({"name": "reconciler-doctor-0badcafe", "description": CANARY_TEXT}, True),
        ({"name": "reconciler-doctor-0badcafe", "description": CANARY_TEXT + " (patched)"}, True),
        ({"name": "reconciler-doctor-0badcafe", "description": "mine"}, False),
        ({"name": "reconciler-doctor-0badcafe-2", "description": CANARY_TEXT}, False),
        ({"name": "Sales ETL", "description": CANARY_TEXT}, False),
    ],
)
def test_only_a_canary_is_recognised_as_one(task: dict[str, Any], canary: bool) -> None:
    assert is_canary(task) is canary


def test_round_trip_tells_spelling_from_meaning() -> None:
    sent = {"name": "x", "states": [{"name": "reload", "type": "event"}], "enabled": True}
    stored = {**sent, "states": [{"name": "reload", "type": "EVENT"}], "enabled": False}
    assert rewritten_fields(sent, stored) == (["states"], [])
    renamed = {**sent, "name": "y"}
    assert rewritten_fields(sent, renamed) == (["name"], ["name"])
