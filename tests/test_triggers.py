"""What starts a task, read from its document: one reading for the plan, graph and schedule."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.model import DATA_UPDATED, RUN_FINISHED
from reconciler.reloads import unscheduled
from reconciler.triggers import Trigger, trigger_of

DAILY = {"recurrence": "RRULE:FREQ=DAILY", "timezone": "UTC"}


def finished(task_id: str, status: str | None = None) -> dict[str, Any]:
    corr = [{"contextAttributeName": "id", "contextAttributeValue": task_id}]
    if status is not None:
        corr.append({"contextAttributeName": "status", "contextAttributeValue": status})
    return {"name": f"up-{task_id}", "type": RUN_FINISHED, "correlation": corr}


DATA = {"name": "data", "type": DATA_UPDATED, "correlation": []}

CASES: list[tuple[str, dict[str, Any] | None, Trigger, str]] = [
    ("nothing", {}, Trigger(), "on demand"),
    ("no document", None, Trigger(), "on demand"),
    ("schedule", {"start": {"schedule": DAILY}}, Trigger(schedule=DAILY), "schedule"),
    ("interval string", {"start": {"schedule": "R/PT1H"}}, Trigger(schedule="R/PT1H"), "schedule"),
    ("start not a mapping", {"start": "soon"}, Trigger(), "on demand"),
    (
        "one upstream, status unstated",
        {"events": [finished("a")]},
        Trigger(upstreams=(("a", "any"),)),
        "chain",
    ),
    (
        "all of two upstreams",
        {
            "events": [finished("a", "Succeeded"), finished("b", "failed")],
            "states": [{"exclusive": False}],
        },
        Trigger(upstreams=(("a", "succeeded"), ("b", "failed")), exclusive=False),
        "chain",
    ),
    (
        "exclusive not a boolean",
        {"events": [finished("a")], "states": [{"exclusive": "no"}]},
        Trigger(upstreams=(("a", "any"),)),
        "chain",
    ),
    ("data update", {"events": [DATA]}, Trigger(data_update=True), "data update"),
    ("events not a list", {"events": {"type": DATA_UPDATED}}, Trigger(), "on demand"),
    (
        "a schedule is shown before a data update",
        {"start": {"schedule": DAILY}, "events": [DATA, finished("a")]},
        Trigger(schedule=DAILY, upstreams=(("a", "any"),), data_update=True),
        "schedule",
    ),
    (
        "a data update is shown before a chain",
        {"events": [finished("a"), DATA]},
        Trigger(upstreams=(("a", "any"),), data_update=True),
        "data update",
    ),
]


@pytest.mark.parametrize(
    ("doc", "trigger", "kind"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_document_tells_what_starts_it(
    doc: dict[str, Any] | None, trigger: Trigger, kind: str
) -> None:
    assert trigger_of(doc) == trigger
    assert trigger_of(doc).kind == kind


def test_the_window_lists_apart_the_tasks_no_schedule_starts() -> None:
    docs = [
        ({"name": "Daily", "start": {"schedule": DAILY}}, "git"),
        ({"name": "OnData", "events": [DATA]}, "git"),
        ({"name": "Chained", "events": [finished("a")]}, "unmanaged"),
        ({"name": "ByHand"}, "unmanaged"),
        ({"name": "Off", "enabled": False, "start": {"schedule": DAILY}}, "git"),
    ]
    assert unscheduled(docs) == (["OnData"], ["ByHand [unmanaged]"], ["Off"])
