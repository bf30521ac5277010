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


def _edit(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
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
    ("nested-defaults", {"states__0__exclusive": DROP}),
    ("nested-defaults", {"states__0__onEvents__0__actionMode": "sequential"}),
    (
        "nested-defaults",
        {"states__0__onEvents__0__actions__0__functionRef__arguments__partial": DROP},
    ),
    ("nested-defaults", {"events__0__dataOnly": True}),
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
    ("exclusive", {"states__0__exclusive": False}),
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
    ("start added", {"start": {"stateName": "reload", "schedule": "R/2026-01-01T00:00:00Z/PT1H"}}),
]


@pytest.mark.parametrize(
    ("rule", "edit"), EQUAL, ids=[f"{r}-{i}" for i, (r, _) in enumerate(EQUAL)]
)
def test_rule_makes_service_spelling_equal(rule: str, edit: dict[str, Any]) -> None:
    assert rule in {r.name for r in normalize.RULES}
    live = _edit(**edit)
    assert normalize.normalize(live, desired=BASE) == normalize.normalize(BASE)
    assert (
        normalize.changed_fields(normalize.normalize(BASE), normalize.normalize(live, desired=BASE))
        == []
    )


@pytest.mark.parametrize(("what", "edit"), DIFFERENT, ids=[w for w, _ in DIFFERENT])
def test_real_differences_remain(what: str, edit: dict[str, Any]) -> None:
    live = _edit(**edit)
    assert normalize.normalize(live, desired=BASE) != normalize.normalize(BASE), what


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
    assert {r.name for r in normalize.RULES} == {rule for rule, _ in EQUAL}


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
