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
from typing import Annotated, Any, NotRequired, Required

from pydantic import StringConstraints, TypeAdapter, ValidationError
from typing_extensions import TypedDict  # pydantic reads TypedDicts from here before 3.12

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


class _FunctionRef(TypedDict, total=False):
    refName: Text
    arguments: Object


class _Action(TypedDict, total=False):
    name: Text
    functionRef: _FunctionRef | None


class _OnEvent(TypedDict, total=False):
    eventRefs: list[Any] | None
    actions: list[_Action] | None


class _State(TypedDict, total=False):
    name: Text
    type: Text
    onEvents: list[_OnEvent] | None


class _Correlation(TypedDict, total=False):
    contextAttributeName: Text


class _Event(TypedDict, total=False):
    name: Text
    type: Text
    correlation: list[_Correlation] | None


class _Schedule(TypedDict, total=False):
    recurrence: Text
    timezone: Text
    startDateTime: Text
    endDateTime: Text


class _Start(TypedDict, total=False):
    stateName: Text
    schedule: _Schedule | None


class _Metadata(TypedDict, total=False):
    createdAt: Text
    updatedAt: Text
    migratedFrom: Text
    ownerId: Text
    disabledCode: Text


class _Task(TypedDict, total=False):
    id: Required[Id]
    name: str
    description: Text
    enabled: bool | None
    annotations: list[Any] | str | None
    metadata: _Metadata | None
    start: _Start | None
    states: list[_State] | None
    events: list[_Event] | None


class _Legacy(TypedDict, total=False):
    id: Required[Id]
    appId: Text
    recurrence: list[str] | None
    timeZone: Text
    startDateTime: Text
    endDateTime: Text
    state: Text
    type: Text
    partial: bool | None
    autoReload: bool | None
    autoReloadPartial: bool | None
    spaceId: Text
    userId: Text
    migrated: NotRequired[bool | None]


_TASK = TypeAdapter(_Task)
_LEGACY = TypeAdapter(_Legacy)


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
        _TASK.validate_python(doc, strict=True)
    except ValidationError as error:
        raise Malformed(f"{_label(doc, index)} is malformed: {_where(error)}") from None


def check_legacy(doc: Mapping[str, Any], index: int | None = None) -> None:
    """Malformed unless `doc` has the shape of a legacy reload-task, with readable times."""
    label = _label(doc, index).replace("task", "legacy reload-task", 1)
    try:
        _LEGACY.validate_python(doc, strict=True)
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
