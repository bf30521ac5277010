"""Preflight, the pure core: the problems and warnings of a plan against the tenant it was made
from, one row a rule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler import apidoc, model, preflight
from reconciler.apidoc import reload_state
from reconciler.apps import AppFacts
from reconciler.plan import Options, build_plan
from tests.conftest import APP_A, APP_B, tasks_from

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MARKER = model.MARKER
OPEN = {
    APP_A: AppFacts(APP_A, exists=True, name="Sales", may_reload=True),
    APP_B: AppFacts(APP_B, exists=True, name="Finance", may_reload=True),
}
DATA = [
    {
        "name": "data",
        "type": model.DATA_UPDATED,
        "source": "dataset.updated",
        "correlation": [{"contextAttributeName": "appId", "contextAttributeValue": APP_A}],
    }
]


def task(name: str, app: str = APP_A, extra: str = "") -> str:
    return f"---\nname: {name}\nreload: {{appId: {app}}}\n{extra}"


def hand_made(i: int, app: str = APP_A, **extra: Any) -> dict[str, Any]:
    return {"id": f"hub-{i}", "name": f"Hub {i}", "states": [reload_state(app)], **extra}


def managed(text: str, task_id: str, **extra: Any) -> dict[str, Any]:
    doc = apidoc.build(tasks_from(text)[0], {}, MARKER)
    return {**doc, "id": task_id, "metadata": {"createdAt": "2026-01-01T00:00:00Z"}, **extra}


def check(
    text: str,
    live: list[dict[str, Any]] | None = None,
    legacy: list[dict[str, Any]] | None = None,
    apps: dict[str, AppFacts] | None = None,
) -> preflight.Preflight:
    tasks = tasks_from(text) if text else []
    plan = build_plan(tasks, live or [], Options(marker=MARKER))
    return preflight.check(
        tasks, plan, live or [], legacy, OPEN if apps is None else apps, now=NOW, marker=MARKER
    )


PAST = "schedule:\n  recurrence: RRULE:FREQ=DAILY;BYHOUR=6\n  startDateTime: 2024-01-01T06:00:00\n  endDateTime: 2024-02-01T00:00:00\n"
LEGACY = {"id": "L1", "appId": APP_A, "state": "Enabled", "autoReload": True}


PROBLEMS = [
    pytest.param(
        task("A"),
        [],
        None,
        {APP_A: AppFacts(APP_A, exists=False)},
        [("A", 3, "does not exist")],
        id="missing app",
    ),
    pytest.param(
        task("A"),
        [],
        None,
        {APP_A: AppFacts(APP_A, True, "Sales", False)},
        [("A", 3, "may not reload")],
        id="no reload privilege",
    ),
    pytest.param(
        task("A"),
        [],
        None,
        {APP_A: AppFacts(APP_A, True, "Sales", None)},
        [],
        id="privileges not listed: no verdict",
    ),
    pytest.param(
        task("A"),
        [hand_made(i) for i in range(9)],
        [LEGACY],
        None,
        [("A", 3, "11 tasks")],
        id="eleventh task, legacy counted",
    ),
    pytest.param(
        task("A"),
        [hand_made(i) for i in range(9)],
        [{**LEGACY, "migrated": True}],
        None,
        [],
        id="tenth task, migrated legacy not counted",
    ),
    pytest.param(
        task("A", extra="onDataUpdate: true\n"),
        [],
        [LEGACY],
        None,
        [("A", 4, "legacy reload-task L1")],
        id="data update beside legacy auto-reload",
    ),
    pytest.param(
        task("A", extra="onDataUpdate: true\n"),
        [hand_made(1, events=DATA)],
        None,
        None,
        [("A", 4, '"Hub 1"')],
        id="data update beside an unmanaged one",
    ),
    pytest.param(
        task("A", extra=PAST), [], None, None, [("A", 7, "CHO-017")], id="past end on create"
    ),
    pytest.param(
        task("A", extra=PAST + "enabled: false\n"),
        [],
        None,
        None,
        [("A", 7, "CHO-017")],
        id="past end on a disabled create",
    ),
    pytest.param(
        task("A", extra=PAST),
        [managed(task("A", extra=PAST + "enabled: false\n"), "a-1")],
        None,
        None,
        [("A", 7, "enabled with it")],
        id="past end on enable",
    ),
    pytest.param(
        task("A", extra=PAST + "description: new\n"),
        [managed(task("A", extra=PAST), "a-1")],
        None,
        None,
        [],
        id="past end on a task already enabled",
    ),
]


@pytest.mark.parametrize(("text", "live", "legacy", "apps", "expected"), PROBLEMS)
def test_problems(
    text: str,
    live: list[dict[str, Any]],
    legacy: list[dict[str, Any]] | None,
    apps: dict[str, AppFacts] | None,
    expected: list[tuple[str, int, str]],
) -> None:
    found = check(text, live, legacy, apps)
    got = [(p.task, p.line, p.message) for p in found.problems]
    assert [(t, line) for t, line, _ in got] == [(t, line) for t, line, _ in expected], got
    for (_, _, message), (_, _, words) in zip(got, expected, strict=True):
        assert words in message


def test_a_delete_that_unmanaged_tasks_run_after_is_one_warning_naming_both() -> None:
    upstream = managed(task("Old upstream"), "up-1")
    chained = hand_made(
        1,
        events=[
            {
                "type": model.RUN_FINISHED,
                "correlation": [{"contextAttributeName": "id", "contextAttributeValue": "up-1"}],
            }
        ],
    )
    found = check(task("Keep"), [upstream, chained, managed(task("Keep"), "k-1")])
    assert found.problems == []
    broken = [w for w in found.warnings if "breaks the chain" in w]
    assert len(broken) == 1 and '"Old upstream"' in broken[0] and '"Hub 1"' in broken[0]


def test_a_mass_delete_is_a_warning_naming_the_flag() -> None:
    live = [managed(task(f"T{i}"), f"t-{i}") for i in range(5)]
    found = check(task("T0"), live)
    assert any("--allow-mass-delete" in w for w in found.warnings)
    assert not any(
        "--allow-mass-delete" in w
        for w in check(task("T0") + task("T1") + task("T2") + task("T3"), live).warnings
    )


UNCHANGED = [managed(task(f"T{i}", extra="onDataUpdate: true\n"), f"t-{i}") for i in range(12)]


@pytest.mark.parametrize(
    ("text", "live", "legacy", "apps", "expected"),
    [
        *PROBLEMS,
        pytest.param(
            "".join(task(f"T{i}", extra="onDataUpdate: true\n") for i in range(12)),
            UNCHANGED,
            [LEGACY],
            None,
            [],
            id="no change to an app already over its limits",
        ),
        pytest.param(
            task("T0", extra="onDataUpdate: true\n"), UNCHANGED, None, None, [], id="deletes"
        ),
        pytest.param(
            task("T0"),
            [managed(task("T0"), f"t0-{i}") for i in range(3)],
            None,
            None,
            [],
            id="duplicates deleted",
        ),
        pytest.param(
            task("T0", extra="onDataUpdate: true\n") + task("T1", APP_B),
            UNCHANGED[:2],
            None,
            None,
            [],
            id="a task moved to another app",
        ),
    ],
)
def test_counting_only_what_a_plan_may_bring_finds_what_counting_all_finds(
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    live: list[dict[str, Any]],
    legacy: list[dict[str, Any]] | None,
    apps: dict[str, AppFacts] | None,
    expected: list[tuple[str, int, str]],
) -> None:
    """A plan that creates and updates nothing counts no app's tasks: the same problems and
    warnings as always."""
    quick = check(text, live, legacy, apps)
    monkeypatch.setattr(preflight, "_may_bring_tasks", lambda plan: True)
    assert check(text, live, legacy, apps) == quick
