"""What a task file says about its app, trigger and upstreams, the same in both forms."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler import taskdoc
from tests.conftest import APP_A, APP_B, tasks_from

UP_ID = "0b7f3c2e-1d4a-4e5f-8a9b-0c1d2e3f4a5b"
RELOAD = f"{{functionRef: {{refName: app.reload, arguments: {{appId: {APP_A}}}}}}}"
FINISHED = "type: com.qlik.v1.task.run.finished, source: system-events.task"

CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "short, scheduled",
        f"""
        name: T
        reload: {{appId: {APP_A}}}
        schedule: {{recurrence: "RRULE:FREQ=DAILY"}}
        """,
        {"app_id": APP_A, "has_schedule": True, "on_data_update": False, "refs": [], "edges": []},
    ),
    (
        "short, an empty schedule mapping states none",
        f"""
        name: T
        reload: {{appId: {APP_A}}}
        schedule: {{}}
        """,
        {"app_id": APP_A, "has_schedule": False, "on_data_update": False, "refs": [], "edges": []},
    ),
    (
        "short, chained by name and by id",
        f"""
        name: T
        reload: {{appId: {APP_B}}}
        after: [Up, {{taskId: {UP_ID}}}, {{task: Other, status: failed}}]
        """,
        {
            "app_id": APP_B,
            "has_schedule": False,
            "on_data_update": False,
            "refs": [(("after", 0, "task"), "Up"), (("after", 2, "task"), "Other")],
            "edges": [("Up", "succeeded"), ("Other", "failed")],
        },
    ),
    (
        "short, on data update",
        f"""
        name: T
        reload: {{appId: {APP_A}}}
        onDataUpdate: true
        """,
        {"app_id": APP_A, "has_schedule": False, "on_data_update": True, "refs": [], "edges": []},
    ),
    (
        "full, scheduled",
        f"""
        name: T
        start: {{schedule: {{recurrence: "RRULE:FREQ=DAILY"}}}}
        states: [{{name: reload, type: event, onEvents: [{{actions: [{RELOAD}]}}]}}]
        """,
        {"app_id": APP_A, "has_schedule": True, "on_data_update": False, "refs": [], "edges": []},
    ),
    (
        "full, chained by taskRef (twice to the same upstream)",
        f"""
        name: T
        events:
          - {{name: a, {FINISHED}, correlation: [{{contextAttributeName: id, taskRef: Up}}]}}
          - {{name: b, {FINISHED}, correlation: [{{contextAttributeName: id, taskRef: Up}}]}}
        states: [{{name: reload, type: event, onEvents: [{{eventRefs: [a, b], actions: [{RELOAD}]}}]}}]
        """,
        {
            "app_id": APP_A,
            "has_schedule": False,
            "on_data_update": False,
            "refs": [
                (("events", 0, "correlation", 0, "taskRef"), "Up"),
                (("events", 1, "correlation", 0, "taskRef"), "Up"),
            ],
            "edges": [("Up", "")],
        },
    ),
    (
        "full, on data update, no app",
        """
        name: T
        events:
          - {name: d, type: com.qlik/active-analytics-orch, source: dataset.updated}
        states: [{name: reload, type: event, onEvents: [{eventRefs: [d], actions: []}]}]
        """,
        {"app_id": None, "has_schedule": False, "on_data_update": True, "refs": [], "edges": []},
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_task_tells_its_app_trigger_and_upstreams(text: str, expected: dict[str, Any]) -> None:
    spec = tasks_from(text)[0].spec
    assert spec.app_id == expected["app_id"]
    assert spec.has_schedule is expected["has_schedule"]
    assert spec.on_data_update is expected["on_data_update"]
    assert spec.upstream_refs == expected["refs"]
    assert spec.upstream_edges == expected["edges"]


@pytest.mark.parametrize(
    ("text", "places"),
    [
        (
            f"name: T\nreload: {{appId: {APP_A}}}\n",
            (("reload", "appId"), ("schedule",), ("after",), ("onDataUpdate",)),
        ),
        (
            f"name: T\nstates: [{{name: reload, type: event, onEvents: [{{actions: [{RELOAD}]}}]}}]\n",
            (("states",), ("start", "schedule"), ("events",), ("events",)),
        ),
    ],
    ids=["short", "full"],
)
def test_each_form_says_where_its_parts_are_written(
    text: str, places: tuple[tuple[str, ...], ...]
) -> None:
    spec = tasks_from(text)[0].spec
    assert places == (spec.APP_AT, spec.SCHEDULE_AT, spec.CHAIN_AT, spec.TRIGGER_AT)


def _reload(app: object) -> dict[str, Any]:
    ref = {"refName": "app.reload", "arguments": {"appId": app}}
    return {"states": [{"onEvents": [{"actions": [{"functionRef": ref}]}]}]}


@pytest.mark.parametrize(
    ("doc", "action_app", "app"),
    [
        (_reload(APP_A), APP_A, APP_A),
        ({**_reload(APP_A), "resourceId": APP_B}, APP_A, APP_A),
        ({"resourceId": APP_B}, None, APP_B),
        ({**_reload(7), "resourceId": ""}, None, None),
        ({"states": "not a list", "resourceId": 7}, None, None),
    ],
    ids=["action", "action before resourceId", "resourceId alone", "no app id", "malformed"],
)
def test_a_document_tells_its_app(
    doc: dict[str, Any], action_app: str | None, app: str | None
) -> None:
    assert taskdoc.app_id(doc) == action_app
    assert taskdoc.app_of(doc) == app


NAMED = st.one_of(
    st.fixed_dictionaries({}, optional={"name": st.sampled_from(["a", "b", "", None, 1, ("x",)])}),
    st.sampled_from(["scalar", None]),
)


@given(have=st.lists(NAMED, max_size=3), want=st.lists(NAMED, max_size=3))
def test_pairing_one_item_at_once_agrees_with_pairing_item_by_item(
    have: list[Any], want: list[Any]
) -> None:
    """`_match` answers a list of one at once; `_match_each` is the rule, for any lists."""
    live = [item for item in have if isinstance(item, dict)]

    def ids(pairs: list[tuple[Any, Any]]) -> list[tuple[int, int]]:
        return [(id(a), id(b)) for a, b in pairs]

    assert ids(taskdoc._match(live, want)) == ids(taskdoc._match_each(live, want))


@given(
    doc=st.recursive(
        st.none() | st.text(max_size=1),
        lambda inner: (
            st.lists(inner)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "states",
                        "onEvents",
                        "actions",
                        "functionRef",
                        "events",
                        "start",
                        "schedule",
                        "name",
                    ]
                ),
                inner,
            )
        ),
        max_leaves=12,
    )
)
def test_parts_are_what_the_walkers_find(doc: Any) -> None:
    if not isinstance(doc, dict):
        doc = {"states": doc}
    parts = taskdoc.Parts.of(doc)
    assert parts == taskdoc.Parts(
        taskdoc.states(doc),
        taskdoc.on_events(doc),
        taskdoc.function_refs(doc),
        taskdoc.events(doc),
        taskdoc.schedule(doc),
    )
