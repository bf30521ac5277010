"""Full-form documents out of the shape of Qlik's types are refused twice over: offline by the
task-file validation (with a location), and by the local tenant with 400 in the service's error
shape. The same table drives both."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_docs import TASKS, assert_error, chained_body, create, task_body

from reconciler.load import LoadResult, load_text

Doc = dict[str, Any]


def _state(doc: Doc) -> Doc:
    state: Doc = doc["states"][0]
    return state


def _function(doc: Doc) -> Doc:
    function: Doc = _state(doc)["onEvents"][0]["actions"][0]["functionRef"]
    return function


def _set(where: Callable[[Doc], Doc], key: str, value: Any) -> Callable[[Doc], None]:
    return lambda doc: where(doc).__setitem__(key, value)


def _event(doc: Doc) -> Doc:
    event: Doc = doc["events"][0]
    return event


BAD: list[tuple[str, Callable[[Doc], None], str]] = [
    ("actionMode banana", _set(lambda d: _state(d)["onEvents"][0], "actionMode", "banana"), "actionMode"),
    ("invoke sometimes", _set(_function, "invoke", "sometimes"), "invoke"),
    ("refName foo.bar", _set(_function, "refName", "foo.bar"), "refName"),
    ("exclusive yes", _set(_state, "exclusive", "yes"), "exclusive"),
    ("end text", _set(_state, "end", "true"), "end"),
    ("type operation", _set(_state, "type", "operation"), "type"),
    ("partial no", _set(lambda d: _function(d)["arguments"], "partial", "no"), "partial"),
    ("dataOnly false text", _set(_event, "dataOnly", "false"), "dataOnly"),
]  # fmt: skip

GOOD: list[tuple[str, Callable[[Doc], None]]] = [
    ("actionMode SEQUENTIAL", _set(lambda d: _state(d)["onEvents"][0], "actionMode", "SEQUENTIAL")),
    ("actionMode parallel", _set(lambda d: _state(d)["onEvents"][0], "actionMode", "parallel")),
    ("invoke SYNC", _set(_function, "invoke", "SYNC")),
    ("invoke async", _set(_function, "invoke", "async")),
    ("type EVENT", _set(_state, "type", "EVENT")),
    ("exclusive false", _set(_state, "exclusive", False)),
    ("dataOnly true", _set(_event, "dataOnly", True)),
]  # fmt: skip


def _body(change: Callable[[Doc], None]) -> Doc:
    body = chained_body("Shaped", ["11111111-1111-4111-8111-111111111111"])
    body["states"][0]["onEvents"][0]["actions"][0]["functionRef"]["arguments"]["appId"] = (
        "116dbfae-7fb9-4983-8e23-5ccd8c508722"
    )
    change(body)
    return body


def _load(doc: Doc) -> LoadResult:
    result = LoadResult()
    load_text("tasks/shaped.yaml", json.dumps(doc, indent=2).encode(), {}, result)
    return result


@pytest.mark.parametrize(("what", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_out_of_shape_is_refused_by_validation_and_by_the_tenant(
    client: httpx.Client, what: str, change: Callable[[Doc], None], field: str
) -> None:
    body = _body(change)
    loaded = _load(body)
    assert loaded.problems, what
    problem = loaded.problems[0]
    assert problem.line > 1 and field in problem.message
    error = assert_error(client.post(TASKS, json=body), 400)
    assert field in error["detail"]


@pytest.mark.parametrize(("what", "change", "field"), BAD, ids=[b[0] for b in BAD])
def test_a_patch_out_of_shape_is_refused(
    client: httpx.Client, what: str, change: Callable[[Doc], None], field: str
) -> None:
    good = create(client, _body(lambda _: None))
    bad = _body(change)
    ops = [
        {"op": "replace", "path": f"/{key}", "value": bad[key]}
        for key in ("states", "events")
        if bad[key] != good[key]
    ]
    assert_error(client.patch(f"{TASKS}/{good['id']}", json=ops), 400)
    assert client.get(f"{TASKS}/{good['id']}").json()["states"] == good["states"]


@pytest.mark.parametrize(("what", "change"), GOOD, ids=[g[0] for g in GOOD])
def test_either_case_of_an_enum_is_accepted(
    client: httpx.Client, what: str, change: Callable[[Doc], None]
) -> None:
    body = _body(change)
    assert not _load(body).problems, what
    create(client, body)


def test_a_plain_task_stays_accepted(client: httpx.Client) -> None:
    create(client, copy.deepcopy(task_body("Plain")))
