"""Each normalisation rule, one table row at least: equal after normalising means nothing to change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler import normalize

BASE: dict[str, Any] = {
    "name": "T",
    "description": "",
    "enabled": True,
    "specVersion": "0.8",
    "version": "1.0.0",
    "annotations": ["managed-by:qlik-task-reconciler"],
    "events": [
        {
            "name": "upstream-1",
            "type": "com.qlik.v1.task.run.finished",
            "source": "system-events.task",
            "correlation": [
                {"contextAttributeName": "id", "contextAttributeValue": "up"},
                {"contextAttributeName": "status", "contextAttributeValue": "succeeded"},
            ],
        }
    ],
    "states": [
        {
            "name": "reload",
            "type": "event",
            "end": True,
            "exclusive": True,
            "onEvents": [
                {
                    "eventRefs": ["upstream-1"],
                    "actions": [
                        {
                            "name": "reload-action",
                            "functionRef": {
                                "refName": "app.reload",
                                "arguments": {"appId": "a", "partial": False},
                            },
                        }
                    ],
                }
            ],
        }
    ],
}


SCHEDULED: dict[str, Any] = {
    **{k: v for k, v in BASE.items() if k != "events"},
    "start": {
        "stateName": "reload",
        "schedule": {
            "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6",
            "timezone": "UTC",
            "startDateTime": "2026-01-01T06:00:00",
            "endDateTime": "2027-01-01T06:00:00",
        },
    },
    "states": [
        {
            **{k: v for k, v in BASE["states"][0].items() if k not in ("exclusive", "onEvents")},
            "onEvents": [{**BASE["states"][0]["onEvents"][0], "eventRefs": []}],
        }
    ],
}
CHAIN_OF_TWO: dict[str, Any] = {
    **BASE,
    "events": [BASE["events"][0], {**BASE["events"][0], "name": "upstream-2"}],
    "states": [
        {
            **BASE["states"][0],
            "exclusive": False,
            "onEvents": [
                {**BASE["states"][0]["onEvents"][0], "eventRefs": ["upstream-1", "upstream-2"]}
            ],
        }
    ],
}
ZURICH = {"start__schedule__timezone": "Europe/Zurich"}
SCHED = "start__schedule"
ACTION = "states__0__onEvents__0__actions__0"


def _edit(base: dict[str, Any] | None = None, /, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE if base is None else base)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is DROP:
            del node[int(last) if last.isdigit() else last]
        elif last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value
    return doc


DROP = object()
CORR = "events__0__correlation"

# (rule, live edit that must compare equal)
EQUAL = [
    (
        "server-owned",
        {
            "id": "x",
            "resourceId": "a",
            "links": {"self": {"href": "/t"}},
            "metadata": {"ownerId": "u"},
        },
    ),
    ("top-defaults", {"description": DROP}),
    ("top-defaults", {"keepActive": False}),
    ("top-defaults", {"specVersion": DROP, "version": DROP}),
    ("nested-defaults", {f"{SCHED}__timezone": DROP}, SCHEDULED),
    ("meaningless-exclusive", {"states__0__exclusive": DROP}),
    ("meaningless-exclusive", {"states__0__exclusive": False}),
    ("service-filled", {"states__0__onEvents__0__actionMode": "SEQUENTIAL"}),
    ("service-filled", {"states__0__onEvents__0__actionMode": "parallel"}),
    ("service-filled", {f"{ACTION}__functionRef__invoke": "SYNC"}),
    ("service-filled", {"events__0__dataOnly": False}),
    (
        "service-filled",
        {"states__0__exclusive": False},
        _edit(CHAIN_OF_TWO, states__0__exclusive=DROP),
    ),
    # Stated by git, left out by the service: the Serverless Workflow default.
    ("service-filled", {"events__0__dataOnly": DROP}, _edit(**{"events__0__dataOnly": True})),
    (
        "service-filled",
        {"states__0__onEvents__0__actionMode": DROP},
        _edit(**{"states__0__onEvents__0__actionMode": "SEQUENTIAL"}),
    ),
    (
        "service-filled",
        {f"{ACTION}__functionRef__invoke": DROP},
        _edit(**{f"{ACTION}__functionRef__invoke": "SYNC"}),
    ),
    ("empty-timeouts", {"timeouts": {}, "states__0__timeouts": {}}),
    ("empty-timeouts", {"timeouts": {}}, _edit(timeouts={})),
    ("spec-version", {"specVersion": "1.16.0"}),
    ("start-state-name", {"start__stateName": DROP}, SCHEDULED),
    ("date-times", {f"{SCHED}__startDateTime": "2026-01-01T06:00:00Z"}, SCHEDULED),
    ("date-times", {f"{SCHED}__startDateTime": "2026-01-01T06:00:00.000Z"}, SCHEDULED),
    ("date-times", {f"{SCHED}__startDateTime": "2026-01-01T06:00:00+00:00"}, SCHEDULED),
    ("date-times", {f"{SCHED}__startDateTime": "2026-01-01T07:00:00+01:00"}, SCHEDULED),
    ("date-times", {f"{SCHED}__endDateTime": "2027-01-01T06:00:00.000000Z"}, SCHEDULED),
    (
        "date-times",
        {f"{SCHED}__startDateTime": "2026-01-01T06:00:00Z"},
        _edit(SCHEDULED, **{f"{SCHED}__timezone": DROP}),
    ),
    ("date-times", {f"{SCHED}__startDateTime": "2026-01-01T06:00:00Z"}, _edit(SCHEDULED, **ZURICH)),
    (
        "date-times",
        {f"{SCHED}__startDateTime": "2026-01-01T06:00:00.000Z"},
        _edit(SCHEDULED, **ZURICH),
    ),
    (
        "date-times",
        {f"{SCHED}__startDateTime": "2026-01-01T06:00:00.000"},
        _edit(SCHEDULED, **ZURICH),
    ),
    ("rrule", {f"{SCHED}__recurrence": "FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6"}, SCHEDULED),
    ("rrule", {f"{SCHED}__recurrence": "RRULE:BYHOUR=6;BYDAY=MO,TU;FREQ=WEEKLY"}, SCHEDULED),
    ("rrule", {f"{SCHED}__recurrence": "rrule:freq=weekly;byday=mo,tu;byhour=6"}, SCHEDULED),
    (
        "rrule",
        {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6;INTERVAL=1;WKST=MO"},
        SCHEDULED,
    ),
    ("rrule", {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=TU,MO;BYHOUR=06"}, SCHEDULED),
    (
        "rrule",
        {f"{SCHED}__recurrence": "byday=TU,MO;wkst=mo;BYHOUR=6;interval=1;FREQ=WEEKLY"},
        SCHEDULED,
    ),
    (
        "cron",
        {f"{SCHED}__cron": {"expression": "0 6 * * 1-5"}},
        _edit(SCHEDULED, **{f"{SCHED}__cron": "0 6 * * 1-5"}),
    ),
    (
        "cron",
        {f"{SCHED}__cron": "0 6 * * 1-5"},
        _edit(SCHEDULED, **{f"{SCHED}__cron": {"expression": "0  6 * * 1-5", "validUntil": None}}),
    ),
    (
        "nested-defaults",
        {"states__0__onEvents__0__actions__0__functionRef__arguments__partial": DROP},
    ),
    ("enum-case", {"states__0__type": "EVENT"}),
    (
        "enum-case",
        {f"{CORR}__1": {"contextAttributeName": "status", "contextAttributeValue": "SUCCEEDED"}},
    ),
    ("order-insensitive", {CORR: list(reversed(BASE["events"][0]["correlation"]))}),
    (
        "order-insensitive",
        {"annotations": ["managed-by:qlik-task-reconciler", "managed-by:qlik-task-reconciler"]},
    ),
    (
        "event-labels",
        {
            "events__0__name": "made-in-the-hub",
            "states__0__onEvents__0__eventRefs": ["made-in-the-hub"],
        },
    ),
    (
        "service-added-correlations",
        {
            CORR: [
                *BASE["events"][0]["correlation"],
                {"contextAttributeName": "appId", "contextAttributeValue": "a"},
                {"contextAttributeName": "spaceId", "contextAttributeValue": "s"},
            ]
        },
    ),
]

# (what differs, live edit that must NOT compare equal)
DIFFERENT = [
    ("name", {"name": "U"}),
    ("enabled", {"enabled": False}),
    ("timeouts the service keeps", {"states__0__timeouts": {"stateExecTimeout": "PT1H"}}),
    ("timeouts of the task", {"timeouts": {"workflowExecTimeout": "PT1H"}}),
    ("exclusive of two eventRefs", {"states__0__exclusive": True}, CHAIN_OF_TWO),
    ("exclusive stated by git", {"states__0__exclusive": DROP}, CHAIN_OF_TWO),
    ("dataOnly stated by git", {"events__0__dataOnly": True}, _edit(**{"events__0__dataOnly": False})),
    ("invoke stated by git", {f"{ACTION}__functionRef__invoke": "ASYNC"}, _edit(**{f"{ACTION}__functionRef__invoke": "sync"})),
    ("actionMode stated by git", {"states__0__onEvents__0__actionMode": "parallel"}, _edit(**{"states__0__onEvents__0__actionMode": "SEQUENTIAL"})),
    ("start.stateName", {"start__stateName": "other"}, SCHEDULED),
    ("start hour", {f"{SCHED}__startDateTime": "2026-01-01T07:00:00"}, SCHEDULED),
    ("utc offset", {f"{SCHED}__startDateTime": "2026-01-01T06:00:00+01:00"}, _edit(SCHEDULED, **ZURICH)),
    ("date", {f"{SCHED}__endDateTime": "2027-01-02T06:00:00Z"}, SCHEDULED),
    ("rrule hour", {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=7"}, SCHEDULED),
    ("rrule day", {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=6"}, SCHEDULED),
    ("rrule interval", {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6;INTERVAL=2"}, SCHEDULED),
    ("rrule week start", {f"{SCHED}__recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6;WKST=SU"}, SCHEDULED),
    # The same runs at 06:00 every day of the week, spelled as another rule: still a change.
    ("rrule same runs", {f"{SCHED}__recurrence": "RRULE:FREQ=DAILY;BYDAY=MO,TU;BYHOUR=6"}, SCHEDULED),
    ("cron", {f"{SCHED}__cron": "0 7 * * *"}, _edit(SCHEDULED, **{f"{SCHED}__cron": "0 6 * * *"})),
    ("cron validUntil", {f"{SCHED}__cron": {"expression": "0 6 * * *", "validUntil": "2027-01-01T00:00:00Z"}}, _edit(SCHEDULED, **{f"{SCHED}__cron": "0 6 * * *"})),
    ("timeouts stated by git", {"timeouts": {"workflowExecTimeout": "PT2H"}}, _edit(**{"timeouts": {"workflowExecTimeout": "PT1H"}})),
    (
        "status value",
        {f"{CORR}__1": {"contextAttributeName": "status", "contextAttributeValue": "failed"}},
    ),
    (
        "upstream id",
        {f"{CORR}__0": {"contextAttributeName": "id", "contextAttributeValue": "other"}},
    ),
    ("partial", {"states__0__onEvents__0__actions__0__functionRef__arguments__partial": True}),
    ("annotations", {"annotations": ["team:x", "managed-by:qlik-task-reconciler"]}),
    ("keepActive", {"keepActive": True}),
    ("eventRefs", {"states__0__onEvents__0__eventRefs": ["another-event"]}),
    ("start added", {"start": {"stateName": "reload", "schedule": "R/2026-01-01T00:00:00Z/PT1H"}}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "edit", "desired"),
    [(*row, BASE)[:3] for row in EQUAL],
    ids=[f"{row[0]}-{i}" for i, row in enumerate(EQUAL)],
)
def test_rule_makes_service_spelling_equal(
    rule: str, edit: dict[str, Any], desired: dict[str, Any]
) -> None:
    assert rule in {r.name for r in normalize.RULES}
    live = _edit(desired, **edit)
    want = normalize.normalize(desired)
    assert normalize.normalize(live, desired=desired) == want
    assert normalize.changed_fields(want, normalize.normalize(live, desired=desired)) == []


@pytest.mark.parametrize(
    ("what", "edit", "desired"),
    [(*row, BASE)[:3] for row in DIFFERENT],
    ids=[row[0] for row in DIFFERENT],
)
def test_real_differences_remain(what: str, edit: dict[str, Any], desired: dict[str, Any]) -> None:
    live = _edit(desired, **edit)
    assert normalize.normalize(live, desired=desired) != normalize.normalize(desired), what


def test_declared_appid_correlation_is_compared() -> None:
    desired = _edit(
        **{
            CORR: [
                *BASE["events"][0]["correlation"],
                {"contextAttributeName": "appId", "contextAttributeValue": "a"},
            ]
        }
    )
    live = _edit(
        **{
            CORR: [
                *BASE["events"][0]["correlation"],
                {"contextAttributeName": "appId", "contextAttributeValue": "b"},
            ]
        }
    )
    assert normalize.normalize(live, desired=desired) != normalize.normalize(desired)


def test_every_rule_is_exercised_by_the_table() -> None:
    assert {r.name for r in normalize.RULES} == {row[0] for row in EQUAL}


@pytest.mark.parametrize(
    ("fields", "desired", "live", "ops"),
    [
        (
            ["name"],
            {"name": "B"},
            {"name": "A"},
            [{"op": "replace", "path": "/name", "value": "B"}],
        ),
        (
            ["keepActive"],
            {"keepActive": True},
            {},
            [{"op": "add", "path": "/keepActive", "value": True}],
        ),
        (["start"], {}, {"start": {}}, [{"op": "remove", "path": "/start"}]),
        (["a/b"], {"a/b": 1}, {"a/b": 0}, [{"op": "replace", "path": "/a~1b", "value": 1}]),
    ],
)
def test_patch_ops_are_top_level(
    fields: list[str], desired: dict[str, Any], live: dict[str, Any], ops: list[dict[str, Any]]
) -> None:
    assert normalize.patch_ops(fields, desired, live) == ops


def test_fingerprint_ignores_runtime_metadata_but_not_fields() -> None:
    live = {**BASE, "id": "t1", "metadata": {"orchestration": {"lastRun": {"status": "FAILED"}}}}
    ran = {**live, "metadata": {"orchestration": {"lastRun": {"status": "SUCCEEDED"}}}}
    edited = {**live, "enabled": False}
    assert normalize.fingerprint(live) == normalize.fingerprint(ran)
    assert normalize.fingerprint(live) != normalize.fingerprint(edited)


@pytest.mark.parametrize(
    "actions",
    [["not an action"], [{"functionRef": "app.reload"}], {"name": "a mapping, not a list"}, [None]],
    ids=["text", "text-function-ref", "mapping", "null"],
)
def test_a_malformed_action_is_compared_as_it_is(actions: Any) -> None:
    """Actions of the wrong shape are a difference to show, never a crash of the comparison."""
    live = {
        "name": "t",
        "states": [{"name": "s", "type": "event", "onEvents": [{"actions": actions}]}],
    }
    desired = {"name": "t", "states": [{"name": "s", "type": "event", "onEvents": [{}]}]}
    have = normalize.normalize(live, desired=desired)
    assert have["states"][0]["onEvents"][0]["actions"] == actions
    assert normalize.changed_fields(normalize.normalize(desired), have) == ["states"]
