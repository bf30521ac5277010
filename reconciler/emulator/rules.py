"""The scheduling service's rules for task documents: validation (one state, one action, schedule
checks with CHO-017), server-owned fields, the derived `resourceId`, ownership and metadata.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from dateutil.rrule import rrulestr

from reconciler import json_pointer
from reconciler.emulator import shapes
from reconciler.emulator.replies import ServiceError, bad_request
from reconciler.emulator.store import Doc

RUN_FINISHED = "com.qlik.v1.task.run.finished"
DATA_UPDATED = "com.qlik/active-analytics-orch"
EVENT_TYPES = (RUN_FINISHED, DATA_UPDATED)
EVENT_SOURCES = ("system-events.task", "dataset.updated")
CORRELATION_NAMES = ("id", "status", "appId", "spaceId", "datasetId")

# Field order of a served task, as in the reference page's example documents.
FIELD_ORDER = (
    "id", "name", "key", "description", "start", "events", "states", "enabled", "version",
    "metadata", "keepActive", "resourceId", "annotations", "specVersion",
)  # fmt: skip
CLIENT_FIELDS = frozenset(FIELD_ORDER) - {"id", "metadata", "resourceId"}
SERVER_OWNED = frozenset({"id", "metadata", "resourceId", "links"})
PUT_DEFAULTS: Mapping[str, Any] = {"enabled": False, "keepActive": False}
DEFAULT_SPEC_VERSION = "0.8"  # what Qlik's migration guide sends
PATCH_OPS = frozenset({"add", "remove", "replace", "move", "copy"})

# metadata.trigger.type: the reference lists 0-4 without names; its data-update example uses 4.
TRIGGER_NONE, TRIGGER_SCHEDULE, TRIGGER_TASK_EVENT, TRIGGER_DATA_UPDATE = 0, 1, 3, 4
TRIGGER_NAMES = {"none": 0, "manual": 0, "schedule": 1, "task": 3, "event": 3, "data": 4}

_DURATION = re.compile(
    r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$",
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def user_id(subject: str) -> str:
    """A stable, opaque user id for a caller (a one-way hash: never the secret itself)."""
    digest = hashlib.sha256(f"qlik-tenant-user:{subject}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def iso(timestamp: float, *, millis: bool = True) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_error(detail: str) -> ServiceError:
    return ServiceError(400, detail, code="CHO-017", title="Invalid schedule")


# -- document structure --------------------------------------------------------------------------


def the_action(doc: Mapping[str, Any]) -> Doc | None:
    """The single action of a valid task (None when the structure is not the expected one)."""
    states = doc.get("states")
    if not isinstance(states, list) or len(states) != 1 or not isinstance(states[0], dict):
        return None
    actions = _actions(states[0])
    return actions[0] if len(actions) == 1 and isinstance(actions[0], dict) else None


def _actions(state: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for entry in state.get("onEvents") or []:
        if isinstance(entry, dict):
            found.extend(entry.get("actions") or [])
    found.extend(state.get("actions") or [])
    return found


def derive_resource_id(doc: Mapping[str, Any]) -> str | None:
    """The appId of the app.reload action: the service derives `resourceId` from the states."""
    action = the_action(doc)
    if action is None:
        return None
    function = action.get("functionRef")
    arguments = function.get("arguments") if isinstance(function, dict) else None
    app_id = arguments.get("appId") if isinstance(arguments, dict) else None
    return app_id if isinstance(app_id, str) and app_id else None


def trigger_type(doc: Mapping[str, Any]) -> int:
    start = doc.get("start")
    if isinstance(start, dict) and start.get("schedule"):
        return TRIGGER_SCHEDULE
    types = {event.get("type") for event in doc.get("events") or [] if isinstance(event, dict)}
    if RUN_FINISHED in types:
        return TRIGGER_TASK_EVENT
    if DATA_UPDATED in types:
        return TRIGGER_DATA_UPDATE
    return TRIGGER_NONE


def validate_task(body: Mapping[str, Any], *, now: float, check_past_end: bool) -> str:
    """Check a task body as the service does; returns the derived resourceId."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required and must be a non-empty string")
    if not isinstance(body.get("specVersion"), str) or not body["specVersion"]:
        raise bad_request("specVersion is required")
    for key, kind in (("description", str), ("key", str), ("version", str)):
        if key in body and not isinstance(body[key], kind):
            raise bad_request(f"{key} must be a string")
    for key in ("enabled", "keepActive"):
        if key in body and not isinstance(body[key], bool):
            raise bad_request(f"{key} must be a boolean")
    annotations = body.get("annotations", [])
    if not isinstance(annotations, list) or not all(isinstance(a, str) for a in annotations):
        raise bad_request("annotations must be an array of strings")
    _check_states(body)
    _check_events(body.get("events", []))
    _check_start(body, now=now, check_past_end=check_past_end)
    resource_id = derive_resource_id(body)
    if resource_id is None:
        raise bad_request("the action must be an app.reload function with an appId argument")
    return resource_id


def _check_states(body: Mapping[str, Any]) -> None:
    states = body.get("states")
    states = states if isinstance(states, list) else []
    if len(states) != 1:
        raise bad_request(f"task has {len(states)} states instead of 1")
    state = states[0]
    if not isinstance(state, dict):
        raise bad_request("a state must be an object")
    if str(state.get("type", "")).casefold() != "event":
        raise bad_request(f"unsupported state type '{state.get('type')}': only event states")
    actions = _actions(state)
    if len(actions) != 1:
        raise bad_request(f"task has {len(actions)} Actions instead of 1")
    shapes.check_state(state, actions)


def _check_events(events: Any) -> None:
    if not isinstance(events, list):
        raise bad_request("events must be an array")
    for event in events:
        if not isinstance(event, dict):
            raise bad_request("an event must be an object")
        if event.get("type") not in EVENT_TYPES:
            raise bad_request(f"unsupported event type '{event.get('type')}'")
        if "source" in event and event["source"] not in EVENT_SOURCES:
            raise bad_request(f"unsupported event source '{event.get('source')}'")
        shapes.check_flag(event, "dataOnly", "event")
        for item in event.get("correlation") or []:
            if not isinstance(item, dict) or item.get("contextAttributeName") not in (
                CORRELATION_NAMES
            ):
                raise bad_request(f"unsupported correlation {item!r}")


def _check_start(body: Mapping[str, Any], *, now: float, check_past_end: bool) -> None:
    start = body.get("start")
    if start is None:
        return
    if not isinstance(start, dict):
        raise bad_request("start must be an object")
    state_name = start.get("stateName")
    names = {s.get("name") for s in body.get("states") or [] if isinstance(s, dict)}
    if state_name is not None and state_name not in names:
        raise bad_request(f"start.stateName '{state_name}' does not name a state")
    schedule = start.get("schedule")
    if schedule is None:
        return
    if isinstance(schedule, str):
        _check_interval(schedule)
    elif isinstance(schedule, dict):
        check_schedule(schedule, now=now, check_past_end=check_past_end)
    else:
        raise schedule_error("schedule must be an ISO 8601 repeating interval or an object")


def check_schedule(schedule: Mapping[str, Any], *, now: float, check_past_end: bool) -> None:
    """CHO-017 checks: recurrence, timezone, cron, interval, start and end."""
    zone = _zone(schedule.get("timezone"))
    start = _moment(schedule, "startDateTime", zone)
    end = _moment(schedule, "endDateTime", zone)
    recurrence = schedule.get("recurrence")
    if recurrence not in (None, ""):
        if not isinstance(recurrence, str):
            raise schedule_error("recurrence must be one RRULE string")
        check_rrule(recurrence)
    cron = schedule.get("cron")
    if cron not in (None, ""):
        expression = cron.get("expression") if isinstance(cron, dict) else cron
        if not isinstance(expression, str) or not croniter.is_valid(expression):
            raise schedule_error(f"invalid cron expression {expression!r}")
    interval = schedule.get("interval")
    if interval not in (None, ""):
        if not isinstance(interval, str):
            raise schedule_error("interval must be an ISO 8601 string")
        _check_interval(interval)
    if start is not None and start < _EPOCH:
        raise schedule_error("startDateTime must not be before 1970-01-01T00:00:00Z")
    if start is not None and end is not None and end <= start:
        raise schedule_error("endDateTime must be after startDateTime")
    if check_past_end and end is not None and end.timestamp() <= now:
        raise schedule_error("endDateTime is in the past")


def check_rrule(text: str) -> None:
    if "\n" in text or "\r" in text or re.search(r"DTSTART|DTEND", text, re.IGNORECASE):
        raise schedule_error("recurrence must be a single RRULE without DTSTART or DTEND")
    body = text[6:] if text.upper().startswith("RRULE:") else text
    # Parts may come in any order (FREQ need not be first), as the service may store them.
    if not any(part.strip().upper().startswith("FREQ=") for part in body.split(";")):
        raise schedule_error(f"invalid recurrence {text!r}")
    anchors = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 1))
    for anchor in anchors:
        try:
            rrulestr(text, dtstart=anchor)
            return
        except Exception:  # noqa: S112 - dateutil raises assorted errors for malformed rules
            continue
    raise schedule_error(f"invalid recurrence {text!r}")


def _zone(name: Any) -> ZoneInfo:
    if name in (None, ""):
        return ZoneInfo("UTC")
    if not isinstance(name, str):
        raise schedule_error("timezone must be an IANA time zone name")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise schedule_error(f"unknown timezone '{name}'") from None


def _moment(schedule: Mapping[str, Any], key: str, zone: ZoneInfo) -> datetime | None:
    raw = schedule.get(key)
    if raw in (None, ""):
        return None
    parsed = _parse_datetime(raw)
    if parsed is None:
        raise schedule_error(f"{key} is not an ISO 8601 date-time: {raw!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def _parse_datetime(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _check_interval(text: str) -> None:
    parts = text.split("/")
    if not re.fullmatch(r"R\d*", parts[0]) or not 2 <= len(parts) <= 3:
        raise schedule_error(f"invalid ISO 8601 repeating interval {text!r}")
    durations = [part for part in parts[1:] if _DURATION.match(part)]
    moments = [part for part in parts[1:] if _parse_datetime(part) is not None]
    if len(durations) + len(moments) != len(parts) - 1 or len(durations) > 1:
        raise schedule_error(f"invalid ISO 8601 repeating interval {text!r}")


# -- building served documents -------------------------------------------------------------------


def ordered(doc: Mapping[str, Any]) -> Doc:
    """The document with its fields in the reference's order (unknown fields last)."""
    result = {key: doc[key] for key in FIELD_ORDER if key in doc}
    result.update({key: value for key, value in doc.items() if key not in result})
    return result


def client_fields(body: Mapping[str, Any]) -> Doc:
    """What a client may set: everything except the server-owned fields."""
    return {key: value for key, value in body.items() if key not in SERVER_OWNED}


def patch_refusal(ops: Any) -> str | None:
    """Why a JSON Patch document is refused, or None (RFC 6902, minus `test`)."""
    if not isinstance(ops, list):
        return "a JSON Patch document is an array of operations"
    for op in ops:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            return "each operation needs 'op' and 'path'"
        if op.get("op") not in PATCH_OPS:
            return f"operation '{op.get('op')}' is not supported (use add, remove, replace, move, copy)"
        pointers = [op["path"]] + ([op.get("from")] if op.get("op") == "move" else [])
        for pointer in pointers:
            if not isinstance(pointer, str):
                return "'from' must be a JSON pointer"
            head = pointer.split("/")[1] if pointer.startswith("/") else ""
            head = json_pointer.unescape(head)
            if pointer == "" or head in SERVER_OWNED:
                return f"path '{pointer}' is owned by the service and cannot be changed"
    return None


def task_metadata(
    previous: Mapping[str, Any] | None,
    doc: Mapping[str, Any],
    *,
    user: str,
    now: str,
    tenant_id: str,
    app: Mapping[str, Any] | None,
    new_id: Callable[[], str],
) -> Doc:
    """Server-side metadata after a create (previous None) or an update by `user`.

    The caller becomes owner, and the reload runs in its script context (`scriptOwnerId`);
    creation facts, the trigger and orchestration ids, the last run, `migratedFrom` and
    `disabledCode` survive updates.
    """
    before = dict(previous or {})
    space_id = (app or {}).get("spaceId") or before.get("spaceId") or ""
    trigger: Doc = before["trigger"] if isinstance(before.get("trigger"), dict) else {}
    orchestration = before.get("orchestration")
    if not isinstance(orchestration, dict):
        orchestration = {"id": new_id(), "type": 3, "attrs": {}}
    metadata: Doc = {
        "usage": before.get("usage", "ANALYTICS"),
        "ownerId": user,
        "scriptOwnerId": user,
        "spaceId": space_id,
        "spaceType": "shared" if space_id else "personal",
        "trigger": {"id": trigger.get("id") or new_id(), "type": trigger_type(doc)},
        "tenantId": tenant_id,
        "topology": before.get("topology", {"isChild": False, "isParent": False}),
        "createdAt": before.get("createdAt", now),
        "createdBy": before.get("createdBy", user),
        "updatedAt": now,
        "updatedBy": user,
        "resourceName": (app or {}).get("name") or before.get("resourceName", ""),
        "resourceType": "app",
        "orchestration": orchestration,
    }
    for key in ("migratedFrom", "disabledCode"):
        if key in before:
            metadata[key] = before[key]
    return metadata


def fill_task(
    doc: Mapping[str, Any],
    *,
    user: str,
    now: str,
    tenant_id: str,
    apps: Mapping[str, Doc],
    new_id: Callable[[], str],
) -> Doc:
    """A raw document (seed, out-of-band edit) completed with whatever server fields it lacks."""
    result = dict(doc)
    result["id"] = doc.get("id") or new_id()
    resource_id = doc.get("resourceId") or derive_resource_id(doc) or ""
    result["resourceId"] = resource_id
    # Every stored task has what create requires or defaults (a task made in the UI too).
    result.setdefault("enabled", False)
    result.setdefault("keepActive", False)
    result.setdefault("specVersion", DEFAULT_SPEC_VERSION)
    given: Doc = doc["metadata"] if isinstance(doc.get("metadata"), dict) else {}
    owner = given.get("ownerId") or user
    base = task_metadata(
        given,
        result,
        user=owner,
        now=now,
        tenant_id=tenant_id,
        app=apps.get(resource_id),
        new_id=new_id,
    )
    base.update(given)
    if "updatedAt" not in given:
        base["updatedAt"] = base["createdAt"]
    result["metadata"] = base
    return ordered(result)
