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
from typing import Any

from pydantic_core import CoreSchema, SchemaValidator, ValidationError
from pydantic_core import core_schema as cs

JsonObject = dict[str, Any]


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


# -- the shapes of a scheduling task and of a legacy reload-task, as far as the tool reads them ----
#
# Each shape is a validator of pydantic-core built from its schema: it checks the JSON types of
# the fields it names, when present and not null, and ignores the rest. It builds nothing from
# the document (no model instance), so checking 10,000 tasks costs a third of what models did.


def _object(required: Mapping[str, CoreSchema] | None = None, **optional: CoreSchema) -> CoreSchema:
    """A JSON object whose `required` fields are present and of their type, and whose `optional`
    fields are absent, null or of their type; any other field may hold anything."""
    fields = {
        **{name: cs.typed_dict_field(schema) for name, schema in (required or {}).items()},
        **{
            name: cs.typed_dict_field(cs.nullable_schema(schema), required=False)
            for name, schema in optional.items()
        },
    }
    return cs.typed_dict_schema(fields, extra_behavior="ignore", strict=True)


_TEXT = cs.str_schema(strict=True)
_FLAG = cs.bool_schema(strict=True)
_ID = cs.str_schema(strict=True, min_length=1)
_ANY_OBJECT = cs.dict_schema(cs.str_schema(strict=True), cs.any_schema(), strict=True)


def _list(item: CoreSchema | None = None) -> CoreSchema:
    return cs.list_schema(item or cs.any_schema(), strict=True)


_ACTION = _object(name=_TEXT, functionRef=_object(refName=_TEXT, arguments=_ANY_OBJECT))
_STATE = _object(
    name=_TEXT,
    type=_TEXT,
    onEvents=_list(_object(eventRefs=_list(), actions=_list(_ACTION))),
)
_EVENT = _object(name=_TEXT, type=_TEXT, correlation=_list(_object(contextAttributeName=_TEXT)))
_SCHEDULE = _object(recurrence=_TEXT, timezone=_TEXT, startDateTime=_TEXT, endDateTime=_TEXT)
_METADATA = _object(
    createdAt=_TEXT, updatedAt=_TEXT, migratedFrom=_TEXT, ownerId=_TEXT, disabledCode=_TEXT
)
_TASK = SchemaValidator(
    _object(
        {"id": _ID},
        name=_TEXT,
        description=_TEXT,
        enabled=_FLAG,
        annotations=cs.union_schema([_list(), _TEXT]),
        metadata=_METADATA,
        start=_object(stateName=_TEXT, schedule=_SCHEDULE),
        states=_list(_STATE),
        events=_list(_EVENT),
    )
)
_LEGACY = SchemaValidator(
    _object(
        {"id": _ID},
        appId=_TEXT,
        recurrence=_list(_TEXT),
        timeZone=_TEXT,
        startDateTime=_TEXT,
        endDateTime=_TEXT,
        state=_TEXT,
        type=_TEXT,
        partial=_FLAG,
        autoReload=_FLAG,
        autoReloadPartial=_FLAG,
        spaceId=_TEXT,
        userId=_TEXT,
        migrated=_FLAG,
    )
)


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
        _TASK.validate_python(doc)
    except ValidationError as error:
        raise Malformed(f"{_label(doc, index)} is malformed: {_where(error)}") from None


def check_legacy(doc: Mapping[str, Any], index: int | None = None) -> None:
    """Malformed unless `doc` has the shape of a legacy reload-task, with readable times."""
    label = _label(doc, index).replace("task", "legacy reload-task", 1)
    try:
        _LEGACY.validate_python(doc)
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
