"""The parts of a task document (states, onEvents, function references, events, the schedule,
the app it reloads), found tolerantly: a part of the wrong type is skipped, never an error. Also the pairing of a live
document's parts with the desired document's, for rules that ask "does git state this here?".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Doc = dict[str, Any]


# The walkers return lists: a plan normalises two documents per task, and list comprehensions
# cost a fraction of nested generators.


def states(doc: Mapping[str, Any]) -> list[Doc]:
    return [s for s in doc.get("states") or [] if isinstance(s, dict)]


def on_events(doc: Mapping[str, Any]) -> list[Doc]:
    return [o for state in states(doc) for o in state.get("onEvents") or [] if isinstance(o, dict)]


def events(doc: Doc) -> list[Doc]:
    return [e for e in doc.get("events") or [] if isinstance(e, dict)]


def correlations(event: Doc) -> list[Doc]:
    return [c for c in event.get("correlation") or [] if isinstance(c, dict)]


def schedule(doc: Doc) -> Doc | None:
    """The `start.schedule` object, or None (also for a bare ISO 8601 interval string)."""
    start = doc.get("start")
    found = start.get("schedule") if isinstance(start, dict) else None
    return found if isinstance(found, dict) else None


def function_refs(doc: Mapping[str, Any]) -> list[Doc]:
    actions = [a for o in on_events(doc) for a in o.get("actions") or [] if isinstance(a, dict)]
    return [a["functionRef"] for a in actions if isinstance(a.get("functionRef"), dict)]


def app_id(doc: Mapping[str, Any]) -> str | None:
    """The app the document's app.reload action names (the service derives `resourceId` from it)."""
    for ref in function_refs(doc):
        arguments = ref.get("arguments")
        if isinstance(arguments, dict) and isinstance(arguments.get("appId"), str):
            return str(arguments["appId"])
    return None


def app_of(doc: Mapping[str, Any]) -> str | None:
    """The app a task reloads: its action's appId, else the `resourceId` the service keeps."""
    found = app_id(doc)
    if found:
        return found
    resource = doc.get("resourceId")
    return resource if isinstance(resource, str) and resource else None


@dataclass(frozen=True, slots=True)
class Parts:
    """A document's parts, found once for work that reads them again and again (normalisation:
    none of its rules adds or removes a state, an onEvent, a function reference, an event or the
    schedule)."""

    states: list[Doc]
    on_events: list[Doc]
    function_refs: list[Doc]
    events: list[Doc]
    schedule: Doc | None

    @classmethod
    def of(cls, doc: Doc) -> Parts:
        """The parts of `doc`, each level found from the one above it (as the walkers do)."""
        found = states(doc)
        ons = [o for state in found for o in state.get("onEvents") or [] if isinstance(o, dict)]
        actions = [a for o in ons for a in o.get("actions") or [] if isinstance(a, dict)]
        refs = [a["functionRef"] for a in actions if isinstance(a.get("functionRef"), dict)]
        return cls(found, ons, refs, events(doc), schedule(doc))


def _match(have: list[Doc], want: list[Any]) -> list[tuple[Doc, Mapping[str, Any] | None]]:
    """Pair live items with desired ones: by name, else by position."""
    if len(have) == 1 and len(want) == 1 and _plain_name(have[0]) and _plain_name(want[0]):
        only = want[0]  # found by its name or at its position, the one is the one
        return [(have[0], only if isinstance(only, dict) else None)]
    return _match_each(have, want)


def _match_each(have: list[Doc], want: list[Any]) -> list[tuple[Doc, Mapping[str, Any] | None]]:
    """`_match` item by item, for any lists."""
    by_name = {w.get("name"): w for w in want if isinstance(w, dict) and w.get("name")}
    pairs: list[tuple[Doc, Mapping[str, Any] | None]] = []
    for i, item in enumerate(have):
        other = by_name.get(item.get("name")) if item.get("name") else None
        if other is None and i < len(want) and isinstance(want[i], dict):
            other = want[i]
        pairs.append((item, other))
    return pairs


def _plain_name(item: Any) -> bool:
    """No name, or a name that can be looked up (a list as a name is refused by the lookup)."""
    name = item.get("name") if isinstance(item, dict) else None
    return name is None or type(name) is str


def _list(item: Mapping[str, Any] | None, key: str) -> list[Any]:
    value = item.get(key) if item is not None else None
    return value if isinstance(value, list) else []


def located(
    doc: Doc, desired: Mapping[str, Any]
) -> list[tuple[str, Doc, Mapping[str, Any] | None]]:
    """Every object of a live document that may hold a service-filled field, with where it lives
    and its counterpart in the desired document (None when git has none)."""
    out: list[tuple[str, Doc, Mapping[str, Any] | None]] = [("task", doc, desired)]
    for state, want in _match(states(doc), _list(desired, "states")):
        out.append(("state", state, want))
        on_events = [o for o in state.get("onEvents") or [] if isinstance(o, dict)]
        for on_event, want_on in _match(on_events, _list(want, "onEvents")):
            out.append(("onEvent", on_event, want_on))
            actions = [a for a in on_event.get("actions") or [] if isinstance(a, dict)]
            for action, want_action in _match(actions, _list(want_on, "actions")):
                ref = action.get("functionRef")
                want_ref = want_action.get("functionRef") if want_action else None
                if isinstance(ref, dict):
                    out.append(
                        ("functionRef", ref, want_ref if isinstance(want_ref, dict) else None)
                    )
    out.extend(("event", e, w) for e, w in _match(events(doc), _list(desired, "events")))
    return out
