"""A live document that is the desired one verbatim: nothing to normalise, nothing to change.

After an apply, a tenant that stores what it is sent answers with the document it was sent plus
the fields it owns (`id`, `metadata`, ...), perhaps with a spec version of its own and with
the top-level fields git left out stated at their defaults (`keepActive: false`). Normalising
both sides of such a pair only to find them equal is most of what a plan of an unchanged tree
costs. `as_sent(desired, live)` answers the same question, "do `normalize(live, desired=desired)` and `normalize(desired)` agree?", with
one comparison, but only where the answer is certain; everywhere else it says False and the plan
normalises as before (`tests/test_verbatim.py` holds it to the rules of `normalize.RULES`).

Equal documents normalise equal on both sides, except where a rule reads more than a value's
meaning, or where the two sides run different rules. The rules of the live side alone are
"service-filled" (it pairs live objects with desired ones, by name, else by position) and
"service-added-correlations" (it rewrites the run-finished correlations before "event-labels"
reads them); the rules that read more than `==` sees are those that turn values into text
(`str`, `json.dumps`: `True`, `1` and `1.0` are equal, their texts are not). So the desired
document must be *plain*:

- states, onEvents, actions and events are lists of objects whose non-empty names are distinct
  strings (every object is then paired with its own counterpart);
- no service-filled field (`exclusive`, `actionMode`, `invoke`, `dataOnly`) is stated as null
  (the live side drops it, the desired side keeps it);
- an event's `correlation`, when stated, is a list of objects whose attribute names and values
  are strings or null (their sort order and the names declared are then the same texts);
- annotations and eventRefs are strings (they are compared as sets of texts);
- with two events or more, the events hold no number and no boolean (their labels follow the
  order of their JSON text).

The live document is then equal to the desired one only if it is plain in the same way: a
string equals only a string, null only null, a list only a list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.normalize import SERVER_OWNED, TOP_DEFAULTS

_NAME, _VALUE = "contextAttributeName", "contextAttributeValue"


UNREAD = frozenset({*SERVER_OWNED, "specVersion"})
"""Top-level fields that the first rules drop from both documents before any rule reads them:
the fields the service owns, and the spec version (a service stores the one of its choosing)."""


def as_sent(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """True when `live` equals `desired` but for the fields no rule reads (`UNREAD`) and for
    top-level fields git leaves out that the service states with their default (`keepActive:
    false`, `description: ""`, ...: the rule "top-defaults" gives the desired side the same), and
    `desired` is plain (see the module): then the two normalise equal, and the plan has nothing
    to change. False says nothing: the documents are to be normalised and compared."""
    stated = 0
    for key, value in desired.items():
        if key in UNREAD:
            continue
        if key not in live or live[key] != value:
            return False
        stated += 1
    unread = sum(1 for key in UNREAD if key in live)
    if len(live) != stated + unread and not _only_defaults_beside(desired, live):
        return False
    return _plain(desired)


_ABSENT = object()


def _only_defaults_beside(desired: Mapping[str, Any], live: Mapping[str, Any]) -> bool:
    """Whether every field of `live` that `desired` does not state (and a rule reads) holds
    what the rule "top-defaults" gives a document without it: the default, or null."""
    for key, value in live.items():
        if key in UNREAD or key in desired:
            continue
        default = TOP_DEFAULTS.get(key, _ABSENT)
        if default is _ABSENT or not (value is None or value == default):
            return False
    return True


def _plain(doc: Mapping[str, Any]) -> bool:
    if not _texts(doc.get("annotations")):
        return False
    states = doc.get("states")
    if states is not None:
        if not _objects(states, "exclusive"):
            return False
        for state in states:
            if not _on_events_plain(state.get("onEvents")):
                return False
    events = doc.get("events")
    if events is not None:
        if not _objects(events, "dataOnly"):
            return False
        for event in events:
            if "correlation" in event and not _correlations_plain(event["correlation"]):
                return False
        if len(events) > 1 and not all(_without_numbers(e) for e in events):
            return False
    return True


def _on_events_plain(on_events: Any) -> bool:
    if on_events is None:
        return True
    if not _objects(on_events, "actionMode"):
        return False
    for on_event in on_events:
        if not _texts(on_event.get("eventRefs")):
            return False
        actions = on_event.get("actions")
        if actions is None:
            continue
        if not _objects(actions, None):
            return False
        for action in actions:
            ref = action.get("functionRef")
            if isinstance(ref, dict) and "invoke" in ref and ref["invoke"] is None:
                return False
    return True


def _objects(items: Any, filled: str | None) -> bool:
    """A list of objects with distinct non-empty string names (or none), none of them stating
    the service-filled field `filled` as null."""
    if type(items) is not list:
        return False
    names: set[str] = set()
    for item in items:
        if type(item) is not dict:
            return False
        if filled is not None and filled in item and item[filled] is None:
            return False
        name = item.get("name")
        if name:
            if type(name) is not str or name in names:
                return False
            names.add(name)
    return True


def _texts(items: Any) -> bool:
    """Absent, or a list of strings."""
    return items is None or (type(items) is list and all(type(i) is str for i in items))


def _correlations_plain(items: Any) -> bool:
    if type(items) is not list:
        return False
    for item in items:
        if type(item) is not dict:
            return False
        name, value = item.get(_NAME), item.get(_VALUE)
        if not (name is None or type(name) is str) or not (value is None or type(value) is str):
            return False
    return True


def _without_numbers(value: Any) -> bool:
    """Only objects (with string keys), lists, strings and nulls: a JSON text that no other
    document equal to this one spells differently."""
    kind = type(value)
    if kind is str or value is None:
        return True
    if kind is dict:
        return all(type(k) is str and _without_numbers(v) for k, v in value.items())
    if kind is list:
        return all(_without_numbers(v) for v in value)
    return False
