"""What the tenant answers, checked once at the edge: strict JSON (a duplicated key is malformed,
not "the last one wins") and the shape of every task and legacy reload-task the rest of the tool
reads. Past this module a task's `metadata` is an object, its `states` a list of objects, its
`id` a non-empty string, and so on; the core never meets `metadata: "x"` or `id: ["a"]`.

Only the parts the tool reads are checked, and only their JSON type: a field the tool ignores may
hold anything, and a value of the right type is never judged here (the plan compares it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

JsonObject = dict[str, Any]
Id = Annotated[str, StringConstraints(min_length=1)]
Text = str | None
Object = dict[str, Any] | None


class Malformed(ValueError):
    """An answer the tool cannot read; the message says what is wrong, never what it held."""


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> JsonObject:
    doc: JsonObject = {}
    for key, value in pairs:
        if key in doc:
            raise Malformed(f"the answer has the key {json.dumps(key)[:60]} twice")
        doc[key] = value
    return doc


def _refuse_constant(name: str) -> Any:
    raise Malformed(f"the answer holds {name}, which is not JSON")


def json_object(content: bytes) -> JsonObject:
    """The answer's JSON object; Malformed for anything else, a duplicated key included (two
    readers of such a body may each see a different value, so neither is trusted)."""
    try:
        doc = json.loads(
            content, object_pairs_hook=_refuse_duplicates, parse_constant=_refuse_constant
        )
    except Malformed:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Malformed("the answer is not valid JSON") from None
    if not isinstance(doc, dict):
        raise Malformed("the answer is not a JSON object")
    return doc


# -- the scheduling task, as far as the tool reads it -------------------------------------------


class _Shape(BaseModel):
    """Types checked strictly; fields the tool does not read are ignored."""

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


def _where(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    path = ".".join(str(part) for part in first["loc"])
    if first["type"] == "missing":
        return f"`{path}` is missing"
    return f"`{path}` has the wrong type or value"


def _label(doc: Mapping[str, Any], index: int | None) -> str:
    raw = doc.get("id")
    if isinstance(raw, str) and raw and len(raw) <= 80 and raw.isprintable():
        return f"task {raw}"
    return "a task" if index is None else f"item {index + 1}"


def check_task(doc: Mapping[str, Any], index: int | None = None) -> None:
    """Malformed unless `doc` has the shape of a scheduling task where the tool reads one."""
    try:
        _Task.model_validate(doc)
    except ValidationError as error:
        raise Malformed(f"{_label(doc, index)} is malformed: {_where(error)}") from None


def check_legacy(doc: Mapping[str, Any], index: int | None = None) -> None:
    """Malformed unless `doc` has the shape of a legacy reload-task, with readable times."""
    label = _label(doc, index).replace("task", "legacy reload-task", 1)
    try:
        _Legacy.model_validate(doc)
    except ValidationError as error:
        raise Malformed(f"{label} is malformed: {_where(error)}") from None
    for key in ("startDateTime", "endDateTime"):
        value = doc.get(key)
        if value and not _readable_time(value):
            raise Malformed(f"{label} is malformed: `{key}` is not a readable date and time")


def _readable_time(value: str) -> bool:
    """An RFC 3339 time (offset optional) that can also be expressed in UTC: year 9999 with a
    negative offset is a valid string no calendar arithmetic can convert."""
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return False
    return 1 <= parsed.year <= 9998
