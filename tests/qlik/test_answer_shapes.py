"""The shapes `answers` checks tasks and legacy reload-tasks against, compared with the same shapes
written as strict pydantic models (how they were first written): every document one accepts the
other accepts, and every document one refuses the other refuses with the same message."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from reconciler.qlik import answers

Id = Annotated[str, StringConstraints(min_length=1)]
Text = str | None
Object = dict[str, Any] | None


class _Shape(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class _FunctionRef(_Shape):
    refName: Text = None
    arguments: Object = None


class _Action(_Shape):
    name: Text = None
    functionRef: _FunctionRef | None = None


class _OnEvent(_Shape):
    eventRefs: list[Any] | None = None
    actions: list[_Action] | None = None


class _State(_Shape):
    name: Text = None
    type: Text = None
    onEvents: list[_OnEvent] | None = None


class _Correlation(_Shape):
    contextAttributeName: Text = None


class _Event(_Shape):
    name: Text = None
    type: Text = None
    correlation: list[_Correlation] | None = None


class _Schedule(_Shape):
    recurrence: Text = None
    timezone: Text = None
    startDateTime: Text = None
    endDateTime: Text = None


class _Start(_Shape):
    stateName: Text = None
    schedule: _Schedule | None = None


class _Metadata(_Shape):
    createdAt: Text = None
    updatedAt: Text = None
    migratedFrom: Text = None
    ownerId: Text = None
    disabledCode: Text = None


class _Task(_Shape):
    id: Id
    name: str | None = None
    description: Text = None
    enabled: bool | None = None
    annotations: list[Any] | str | None = None
    metadata: _Metadata | None = None
    start: _Start | None = None
    states: list[_State] | None = None
    events: list[_Event] | None = None


class _Legacy(_Shape):
    id: Id
    appId: Text = None
    recurrence: list[str] | None = None
    timeZone: Text = None
    startDateTime: Text = None
    endDateTime: Text = None
    state: Text = None
    type: Text = None
    partial: bool | None = None
    autoReload: bool | None = None
    autoReloadPartial: bool | None = None
    spaceId: Text = None
    userId: Text = None
    migrated: bool | None = None


def _model_verdict(model: type[BaseModel], doc: Mapping[str, Any], what: str) -> str | None:
    """What `answers` said of `doc` when the shapes were these models: None, or the message."""
    try:
        model.model_validate(doc)
    except ValidationError as error:
        label = answers._label(doc, 3).replace("task", what, 1)
        return f"{label} is malformed: {answers._where(error)}"
    return None


def _verdict(check: Callable[..., None], doc: Mapping[str, Any]) -> str | None:
    try:
        check(doc, 3)
    except answers.Malformed as exc:
        return str(exc)
    return None


TASK: dict[str, Any] = {
    "id": "t-1",
    "name": "Nightly",
    "description": "",
    "enabled": True,
    "annotations": ["managed-by:qlik-task-reconciler"],
    "metadata": {"ownerId": "u-1", "createdAt": "2026-01-01T00:00:00Z", "usage": "ANALYTICS"},
    "start": {"stateName": "reload", "schedule": {"recurrence": "RRULE:FREQ=DAILY"}},
    "states": [
        {
            "name": "reload",
            "type": "event",
            "onEvents": [
                {
                    "eventRefs": [],
                    "actions": [
                        {"name": "a", "functionRef": {"refName": "app.reload", "arguments": {}}}
                    ],
                }
            ],
        }
    ],
    "events": [{"name": "e", "type": "t", "correlation": [{"contextAttributeName": "id"}]}],
}
LEGACY: dict[str, Any] = {
    "id": "L1",
    "appId": "app-1",
    "recurrence": ["RRULE:FREQ=DAILY"],
    "timeZone": "UTC",
    "state": "Enabled",
    "autoReload": True,
    "migrated": False,
}
VALUES: list[Any] = [
    None,
    "",
    "x",
    0,
    1,
    -1,
    1.5,
    True,
    False,
    [],
    ["x"],
    [1],
    [None],
    [{}],
    [[]],
    {},
    {"name": 1},
    {"name": "x"},
    {1: "x"},
    [{"name": 1}],
    [{"actions": ["x"]}],
    [{"onEvents": [{"actions": [{"functionRef": "x"}]}]}],
    [{"correlation": [{"contextAttributeName": 5}]}],
]
MISSING = object()


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside `doc`, and a new key beside each object's keys."""
    found: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        found.append((*prefix, "extra"))
        for key, value in doc.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _edited(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    edited = copy.deepcopy(doc)
    node: Any = edited
    for part in path[:-1]:
        node = node[part]
    if value is MISSING:
        if isinstance(node, dict):
            node.pop(path[-1], None)
        else:
            del node[path[-1]]
    else:
        node[path[-1]] = value
    return edited


SHAPES = {
    "task": (TASK, _Task, answers.check_task),
    "legacy reload-task": (LEGACY, _Legacy, answers.check_legacy),
}


@pytest.mark.parametrize("what", list(SHAPES))
def test_every_field_given_every_kind_of_value_is_judged_as_the_models_judged_it(
    what: str,
) -> None:
    sample, model, check = SHAPES[what]
    assert _verdict(check, sample) is None
    judged = 0
    for path in _paths(sample):
        for value in [*VALUES, MISSING]:
            doc = _edited(sample, path, value)
            expected, got = _model_verdict(model, doc, what), _verdict(check, doc)
            if expected is None and got is not None:
                # A legacy reload-task's times are checked after its shape, not by the models.
                assert "is not a readable date and time" in got, (path, value)
            else:
                assert got == expected, (path, value)
            judged += 1
    assert judged > 200


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_documents_are_judged_as_the_models_judged_them(data: st.DataObject) -> None:
    sample = TASK
    paths = _paths(sample)
    doc = sample
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            doc = _edited(doc, path, data.draw(JSON))
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced the path
    assert _verdict(answers.check_task, doc) == _model_verdict(_Task, doc, "task")
