"""The plan as a versioned JSON document: what `--format json` prints, what `--out`
saves, and what `apply plan.json` reads back.

A plan holds task documents and ids only; credentials never reach it, so none can leak here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.errors import ReconcilerError
from reconciler.insight import Insight
from reconciler.plan import Action, Kind, Plan, RemoteTask

FORMAT_VERSION = "1"
HEADER_KEYS = ("format_version", "tenant", "generated_at", "git_commit", "summary", "requests")
"""The keys of the document that describe the plan rather than hold it; `load` returns them."""


def utc_timestamp(when: datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a Z, to the second: the reports' `generated_at`."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("generated_at must be an aware datetime")
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def document(
    plan: Plan,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
    insight: Insight | None = None,
) -> dict[str, Any]:
    """The plan as a JSON-ready dict: changes in apply order, conflicts apart; with `insight`,
    the preflight problems, the apps the plan names and the chained tasks schedule changes move."""
    return {
        "format_version": FORMAT_VERSION,
        "tenant": tenant,
        "generated_at": utc_timestamp(generated_at),
        "git_commit": git_commit,
        "summary": plan.summary(),
        "managed_count": plan.managed_count,
        "changes": [a.to_json() for a in plan.changes],
        "conflicts": [a.to_json() for a in plan.conflicts],
        "unmanaged": [u.to_json() for u in plan.unmanaged],
        "legacy": [t.to_json() for t in plan.legacy],
        "warnings": list(plan.warnings),
        "requests": dict(requests) if requests is not None else None,
        "problems": [p.to_json() for p in insight.problems] if insight else [],
        "apps": {k: v.to_json() for k, v in sorted(insight.apps.items())} if insight else {},
        "impact": dict(insight.impact) if insight else {},
    }


def render(
    plan: Plan,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
    insight: Insight | None = None,
) -> str:
    """`document(...)` as indented JSON text, ending with a newline."""
    doc = document(
        plan,
        tenant=tenant,
        generated_at=generated_at,
        git_commit=git_commit,
        requests=requests,
        insight=insight,
    )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


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
