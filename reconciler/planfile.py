"""A saved plan read back: the JSON document `plan --out` wrote, checked and turned into a Plan.

The document is written by `reconciler.report.plan_json`; its `format_version` is owned here, so a
reader and a writer of different versions cannot pass for one another. Every shape problem ends in
one `ReconcilerError` naming the path of the bad value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.plan import Action, Kind, Plan, RemoteTask

FORMAT_VERSION = "1"
HEADER_KEYS = ("format_version", "tenant", "generated_at", "git_commit", "summary", "requests")
"""The keys of the document that describe the plan rather than hold it; `load` returns them."""


class _Malformed(Exception):
    """A shape problem at a path of the document; `load` turns it into one clear line."""


def _expect(value: Any, kind: type | tuple[type, ...], where: str, what: str) -> Any:
    if not isinstance(value, kind):
        raise _Malformed(f"{where} must be {what}")
    return value


def _optional_str(data: Mapping[str, Any], key: str, where: str) -> None:
    if data.get(key) is not None:
        _expect(data[key], str, f"{where}.{key}", "a string")


def _action(data: Any, where: str, kinds: set[Kind]) -> Action:
    _expect(data, dict, where, "an object")
    _expect(data.get("name"), str, f"{where}.name", "a string")
    _expect(data.get("action"), str, f"{where}.action", "a string")
    try:
        kind = Kind(data["action"])
    except ValueError:
        raise _Malformed(f"{where}.action: unknown action {data['action']!r}") from None
    if kind not in kinds:
        raise _Malformed(f"{where}.action: {kind.value!r} does not belong in this list")
    if "reason" in data:
        _expect(data["reason"], str, f"{where}.reason", "a string")
    for key in (
        "source", "task_id", "remote_fingerprint", "migrate_from", "delete_legacy", "act_as"
    ):  # fmt: skip
        _optional_str(data, key, where)
    for key in ("owner_before", "owner_after"):
        if data.get(key) is not None:
            _expect(data[key], dict, f"{where}.{key}", "an object")
            for part in ("id", "name"):
                _expect(data[key].get(part), str, f"{where}.{key}.{part}", "a string")
    for i, note in enumerate(_expect(data.get("notes") or [], list, f"{where}.notes", "a list")):
        _expect(note, str, f"{where}.notes[{i}]", "a string")
    for key in ("before", "after"):
        if data.get(key) is not None:
            _expect(data[key], dict, f"{where}.{key}", "an object")
    for key in ("patch", "fields", "upstreams"):
        if data.get(key) is not None:
            _expect(data[key], list, f"{where}.{key}", "a list")
    for i, op in enumerate(data.get("patch") or []):
        _expect(op, dict, f"{where}.patch[{i}]", "an object")
        _expect(op.get("op"), str, f"{where}.patch[{i}].op", "a string")
        _expect(op.get("path"), str, f"{where}.patch[{i}].path", "a string")
    for key in ("fields", "upstreams"):
        for i, item in enumerate(data.get(key) or []):
            _expect(item, str, f"{where}.{key}[{i}]", "a string")
    if data.get("enable") is not None:
        _expect(data["enable"], bool, f"{where}.enable", "true or false")
    return Action.from_json(data)


def _remote(data: Any, where: str) -> RemoteTask:
    _expect(data, dict, where, "an object")
    for key in ("id", "name"):
        _expect(data.get(key), str, f"{where}.{key}", "a string")
    _optional_str(data, "detail", where)
    return RemoteTask(data["id"], data["name"], data.get("detail") or "")


def _items(doc: Mapping[str, Any], key: str) -> list[Any]:
    return list(_expect(doc.get(key, []), list, key, "a list"))


def _plan(doc: Mapping[str, Any]) -> Plan:
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ReconcilerError(
            f"this saved plan has format_version {json.dumps(version)}; this version of "
            f"reconciler reads format_version {json.dumps(FORMAT_VERSION)}: make the plan again "
            "with this version"
        )
    for key in ("tenant", "generated_at", "git_commit"):
        _optional_str(doc, key, "plan")
    if doc.get("requests") is not None:
        requests = _expect(doc["requests"], dict, "requests", "an object")
        for name, count in requests.items():
            if not isinstance(count, int) or isinstance(count, bool):
                raise _Malformed(f"requests.{name} must be a number")
    changes = [
        _action(item, f"changes[{i}]", set(Kind) - {Kind.CONFLICT})
        for i, item in enumerate(_items(doc, "changes"))
    ]
    conflicts = [
        _action(item, f"conflicts[{i}]", {Kind.CONFLICT})
        for i, item in enumerate(_items(doc, "conflicts"))
    ]
    warnings = _items(doc, "warnings")
    for i, warning in enumerate(warnings):
        _expect(warning, str, f"warnings[{i}]", "a string")
    managed = doc.get("managed_count", 0)
    if not isinstance(managed, int) or isinstance(managed, bool) or managed < 0:
        raise _Malformed("managed_count must be a number of tasks")
    plan = Plan(
        actions=changes + conflicts,
        unmanaged=[_remote(u, f"unmanaged[{i}]") for i, u in enumerate(_items(doc, "unmanaged"))],
        legacy=[_remote(t, f"legacy[{i}]") for i, t in enumerate(_items(doc, "legacy"))],
        warnings=warnings,
        managed_count=managed,
    )
    summary = doc.get("summary")
    if isinstance(summary, dict):
        ignored = summary.get("ignored", 0)
        if not isinstance(ignored, int) or isinstance(ignored, bool) or ignored < 0:
            raise _Malformed("summary.ignored must be a number of differences")
        plan.ignored = ignored
        expected = plan.summary()
        if "ignored" not in summary:  # a plan saved before differences could be ignored
            expected.pop("ignored")
        if summary != expected:
            raise _Malformed("summary does not match the changes the file lists (was it edited?)")
    elif summary is not None:
        raise _Malformed("summary must be an object")
    return plan


def load(text: str | bytes) -> tuple[Plan, dict[str, Any]]:
    """A saved plan and its header (format_version, tenant, generated_at, git_commit, summary,
    requests). Raises ReconcilerError for an unknown format_version or a malformed file."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise ReconcilerError(f"the saved plan is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise ReconcilerError(
            "the saved plan is not a plan made by `reconciler plan --out` (no format_version)"
        )
    try:
        plan = _plan(doc)
    except _Malformed as exc:
        raise ReconcilerError(f"the saved plan is malformed: {exc}") from None
    return plan, {key: doc.get(key) for key in HEADER_KEYS}
