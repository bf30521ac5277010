"""The comparison rules: one table, one function for both sides.

`normalize(doc, declared=...)` turns a desired document or a live one into the form in which equal
means "nothing to change". Each rule is a row of `RULES` with the reason it exists; every rule has a
test. A document read back from the service normalises equal to the one that was sent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import marshal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import json_pointer, model, spellings, taskdoc

Doc = dict[str, Any]

SERVER_OWNED = ("id", "resourceId", "links", "metadata")
"""Fields the service owns; never compared."""

TOP_DEFAULTS: Mapping[str, Any] = {
    "description": "",
    "enabled": False,  # the service's default: a task without `enabled` is not running
    "keepActive": False,
    "version": model.WORKFLOW_VERSION,
    "annotations": [],
    "events": [],
}


SERVICE_FILLED: Mapping[str, Mapping[str, Any]] = {
    "task": {},
    "state": {"exclusive": True},
    "onEvent": {"actionMode": "sequential"},
    "functionRef": {"invoke": "sync"},
    "event": {"dataOnly": True},
}
"""Fields a service fills in with a value of its own choosing, by where they live, with the
Serverless Workflow default they have when git states them but the service leaves them out."""


@dataclass(frozen=True, slots=True)
class Context:
    """What a rule may know beyond the document: its parts, and when it normalises a live one, the
    desired document (None when normalising the desired side itself) and the attribute names it
    declares in its run-finished correlations."""

    parts: taskdoc.Parts
    desired: Mapping[str, Any] | None = None
    declared_run_attributes: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    why: str
    apply: Callable[[Doc, Context], None]


def _drop_server_owned(doc: Doc, _: Context) -> None:
    for key in SERVER_OWNED:
        doc.pop(key, None)


def _top_defaults(doc: Doc, _: Context) -> None:
    for key, value in TOP_DEFAULTS.items():
        if doc.get(key) is None:
            doc[key] = _fresh(value)
    if doc.get("start") is None:
        doc.pop("start", None)


def _fresh(value: Any) -> Any:
    """A default to put in a document: a container copied (an empty list simply made anew)."""
    return [] if value == [] else _copy(value) if isinstance(value, list | dict) else value


def _nested_defaults(doc: Doc, ctx: Context) -> None:
    for state in ctx.parts.states:
        if state.get("end") is None:
            state["end"] = True
    for on_event in ctx.parts.on_events:
        on_event.setdefault("eventRefs", [])
    for ref in ctx.parts.function_refs:
        args = ref.get("arguments")
        if isinstance(args, dict):
            args.setdefault("partial", False)
    for event in ctx.parts.events:
        event.setdefault("correlation", [])
    schedule = ctx.parts.schedule
    if schedule is not None and not schedule.get("timezone"):
        schedule["timezone"] = "UTC"


def _drop_spec_version(doc: Doc, _: Context) -> None:
    doc.pop("specVersion", None)


def _start_state_name(doc: Doc, ctx: Context) -> None:
    start, states = doc.get("start"), ctx.parts.states
    if isinstance(start, dict) and start.get("stateName") is None and states:
        start["stateName"] = states[0].get("name")


def _drop_empty_timeouts(doc: Doc, ctx: Context) -> None:
    for item in [doc, *ctx.parts.states, *ctx.parts.on_events, *ctx.parts.events]:
        if "timeouts" in item and not item["timeouts"]:
            del item["timeouts"]


def _service_filled(doc: Doc, ctx: Context) -> None:
    if ctx.desired is None:
        return  # the desired side: what git states stays, what it does not state is not there
    for where, item, want in taskdoc.located(doc, ctx.desired):
        for key, default in SERVICE_FILLED[where].items():
            if want is None or want.get(key) is None:
                item.pop(key, None)
            elif item.get(key) is None:
                item[key] = _copy(default)


def _meaningless_exclusive(doc: Doc, ctx: Context) -> None:
    for state in ctx.parts.states:
        refs = [
            r
            for o in state.get("onEvents") or []
            if isinstance(o, dict)
            for r in o.get("eventRefs") or []
        ]
        if len(refs) < 2:
            state.pop("exclusive", None)


def _date_times(doc: Doc, ctx: Context) -> None:
    schedule = ctx.parts.schedule
    for key in ("startDateTime", "endDateTime"):
        if schedule is not None and key in schedule:
            schedule[key] = spellings.date_time(schedule[key], schedule.get("timezone"))


def _rrule(doc: Doc, ctx: Context) -> None:
    schedule = ctx.parts.schedule
    if schedule is not None and "recurrence" in schedule:
        schedule["recurrence"] = spellings.rrule(schedule["recurrence"])


def _cron(doc: Doc, ctx: Context) -> None:
    schedule = ctx.parts.schedule
    if schedule is not None and "cron" in schedule:
        schedule["cron"] = spellings.cron(schedule["cron"])


def _lower_enums(doc: Doc, ctx: Context) -> None:
    for state in ctx.parts.states:
        if isinstance(state.get("type"), str):
            state["type"] = state["type"].lower()
    for on_event in ctx.parts.on_events:
        if isinstance(on_event.get("actionMode"), str):
            on_event["actionMode"] = on_event["actionMode"].lower()
    for ref in ctx.parts.function_refs:
        if isinstance(ref.get("invoke"), str):
            ref["invoke"] = ref["invoke"].lower()
    for event in ctx.parts.events:
        for corr in taskdoc.correlations(event):
            value = corr.get("contextAttributeValue")
            if corr.get("contextAttributeName") == "status" and isinstance(value, str):
                corr["contextAttributeValue"] = value.lower()


def _ignore_added_run_attributes(doc: Doc, ctx: Context) -> None:
    declared = ctx.declared_run_attributes
    if declared is None:
        return
    for event in ctx.parts.events:
        if event.get("type") != model.RUN_FINISHED:
            continue
        event["correlation"] = [
            c
            for c in taskdoc.correlations(event)
            if c.get("contextAttributeName") not in {"appId", "spaceId"}
            or c.get("contextAttributeName") in declared
        ]


def _label_events(doc: Doc, ctx: Context) -> None:
    """Name events by what they say (`event-1`, ... in the order of their content) and point
    eventRefs at the new names: an event's name is a label the task uses only to refer to it.
    Left alone when names repeat or an event is not an object (nothing can be renamed safely)."""
    events = doc.get("events")
    if not isinstance(events, list) or not events:
        return
    if not all(isinstance(e, dict) and isinstance(e.get("name"), str) for e in events):
        return
    if len({e["name"] for e in events}) != len(events):
        return
    ordered = events
    if len(events) > 1:  # one event is first in any order: its key is not needed
        keyed = sorted(
            (
                (
                    json.dumps(
                        {k: v for k, v in e.items() if k != "name"}, sort_keys=True, default=str
                    ),
                    e,
                )
                for e in events
            ),
            key=lambda pair: pair[0],
        )
        ordered = [event for _key, event in keyed]
    renames: dict[str, str] = {}
    for i, event in enumerate(ordered, start=1):
        renames[event["name"]] = event["name"] = f"event-{i}"
    doc["events"] = list(ordered)
    for on_event in ctx.parts.on_events:
        refs = on_event.get("eventRefs")
        if isinstance(refs, list):
            on_event["eventRefs"] = [renames.get(r, r) if isinstance(r, str) else r for r in refs]


def _sort_sets(doc: Doc, ctx: Context) -> None:
    if isinstance(doc.get("annotations"), list):
        doc["annotations"] = sorted(set(map(str, doc["annotations"])))
    for event in ctx.parts.events:
        event["correlation"] = sorted(
            taskdoc.correlations(event),
            key=lambda c: (str(c.get("contextAttributeName")), str(c.get("contextAttributeValue"))),
        )
    for on_event in ctx.parts.on_events:
        if isinstance(on_event.get("eventRefs"), list):
            on_event["eventRefs"] = sorted(map(str, on_event["eventRefs"]))


RULES: tuple[Rule, ...] = (
    Rule(
        "server-owned",
        "id, resourceId, links and metadata belong to the service",
        _drop_server_owned,
    ),
    Rule("top-defaults", "an omitted field equals its default on both sides", _top_defaults),
    Rule("nested-defaults", "end, eventRefs, partial, correlation, timezone", _nested_defaults),
    Rule(
        "spec-version",
        "the service stores the spec version of its choosing (0.8, 1.16.0): not the task's meaning",
        _drop_spec_version,
    ),
    Rule(
        "start-state-name",
        "a start without stateName starts at the first state, so it names that state",
        _start_state_name,
    ),
    Rule(
        "service-filled",
        "exclusive, dataOnly, actionMode, invoke are compared only where git states them",
        _service_filled,
    ),
    Rule("empty-timeouts", "timeouts: {} says nothing", _drop_empty_timeouts),
    Rule(
        "meaningless-exclusive",
        "exclusive means something only for a state with two or more eventRefs",
        _meaningless_exclusive,
    ),
    Rule(
        "date-times",
        "06:00:00 = 06:00:00Z = 06:00:00.000Z = 06:00:00+00:00 in UTC; a Z on a local time",
        _date_times,
    ),
    Rule(
        "rrule",
        "RRULE: prefix, part order and case, INTERVAL=1 and WKST=MO, list order do not matter",
        _rrule,
    ),
    Rule("cron", "a cron string equals {expression} without validUntil", _cron),
    Rule(
        "enum-case",
        "EVENT equals event; SUCCEEDED equals succeeded; SYNC equals sync",
        _lower_enums,
    ),
    Rule(
        "service-added-correlations",
        "the service may add the upstream's appId/spaceId to run-finished correlations",
        _ignore_added_run_attributes,
    ),
    Rule(
        "event-labels",
        "an event's name only labels it for eventRefs: events made in the hub are named otherwise",
        _label_events,
    ),
    Rule("order-insensitive", "annotations, correlations and eventRefs are sets", _sort_sets),
)


def declared_run_attributes(doc: Mapping[str, Any]) -> frozenset[str]:
    """Attribute names a (desired) document correlates on in its run-finished events."""
    names: set[str] = set()
    for event in doc.get("events") or []:
        if isinstance(event, dict) and event.get("type") == model.RUN_FINISHED:
            names.update(str(c.get("contextAttributeName")) for c in taskdoc.correlations(event))
    return frozenset(names)


_ATOMS = (str, int, float, bool, type(None))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data, a few times faster than `copy.deepcopy`: `marshal` copies
    plain dicts, lists and scalars in C (and refuses anything else, such as an enum, which then
    takes the slow way)."""
    try:
        return marshal.loads(marshal.dumps(value))  # noqa: S302 - bytes it just made itself
    except ValueError:
        return _copy_slowly(value)


def copy_doc(doc: Doc) -> Doc:
    """A deep copy of a JSON-shaped document (see `_copy`)."""
    copied: Doc = _copy(doc)
    return copied


def _copy_slowly(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {k: _copy_slowly(v) for k, v in value.items()}
    if kind is list:
        return [_copy_slowly(v) for v in value]
    if isinstance(value, _ATOMS):
        return value
    return copy.deepcopy(value)


def normalize(doc: Mapping[str, Any], *, desired: Mapping[str, Any] | None = None) -> Doc:
    """`doc` in comparable form (a new document: `doc` is left as it is). Pass the desired document
    as `desired` when normalising a live one."""
    # Server-owned fields are dropped by the first rule anyway: not copying them saves the most.
    out: Doc = _copy({k: v for k, v in doc.items() if k not in SERVER_OWNED})
    declared = declared_run_attributes(desired) if desired is not None else None
    ctx = Context(taskdoc.Parts.of(out), desired, declared)
    for rule in RULES:
        rule.apply(out, ctx)
    return out


FIELD_ORDER = (
    "name",
    "description",
    "enabled",
    "annotations",
    "start",
    "events",
    "states",
    "keepActive",
    "key",
    "specVersion",
    "version",
)
"""The order in which changed fields are shown and patched: what people read first, first."""


_RANK = {k: i for i, k in enumerate(FIELD_ORDER)}


def changed_fields(desired: Mapping[str, Any], live: Mapping[str, Any]) -> list[str]:
    """Top-level fields whose normalised values differ, in FIELD_ORDER (then alphabetically)."""
    if desired == live:
        return []  # the common case, answered by one comparison
    keys = set(desired) | set(live)
    ordered = sorted(keys, key=lambda k: (_RANK.get(k, len(_RANK)), k))
    return [k for k in ordered if desired.get(k) != live.get(k)]


def patch_ops(
    fields: list[str], desired_raw: Mapping[str, Any], live_raw: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """One JSON Patch operation per changed top-level field (no index paths into lists).

    `add` where the live document lacks the field (RFC 6902 `replace` fails on a missing member),
    `remove` where git does not state it (the service then applies its default), `replace` otherwise.
    """
    ops: list[dict[str, Any]] = []
    for key in fields:
        pointer = json_pointer.join([key])
        if key in desired_raw:
            op = "replace" if key in live_raw else "add"
            ops.append({"op": op, "path": pointer, "value": _copy(desired_raw[key])})
        elif key in live_raw:
            ops.append({"op": "remove", "path": pointer})
    return ops


def fingerprint(live: Mapping[str, Any]) -> str:
    """A digest of what the plan compared of a live task: a saved plan is stale when it changes."""
    body = {"id": live.get("id"), "doc": normalize(live)}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:32]
