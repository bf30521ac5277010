"""`verbatim.as_sent` answers only where `normalize` would answer the same: whenever it says True,
the live document and the desired one normalise equal. Properties over generated documents (with
the values that compare equal but read differently: True, 1, 1.0) and over the spellings of the
emulator's quirks; a table of the shapes it must refuse, each one a pair that the rules tell apart
although the documents are equal; and the shapes a plan meets most, which it must accept."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler import apidoc, normalize, verbatim
from reconciler.emulator import quirks as emulator_quirks
from reconciler.model import MARKER, RUN_FINISHED, WORKFLOW_VERSION
from tests.test_convergence import _load, desired_trees
from tests.test_normalize import BASE, SCHEDULED

Doc = dict[str, Any]

OWNED = {"id": "t-1", "resourceId": "app", "metadata": {"createdAt": "2026-01-01T00:00:00Z"}}

TEXTS = st.sampled_from(["", "a", "b", "id", "status", "appId", "spaceId", "SUCCEEDED", "x y"])
NUMBERS = st.one_of(st.booleans(), st.integers(-1, 2), st.sampled_from([0.0, 1.0, 1.5]))
HAZARDS = (
    *(f"null-{key}" for key in ("exclusive", "actionMode", "invoke", "dataOnly")),
    *(f"names-{part}" for part in ("state", "action", "event")),
    "numbers",
    "shape",
    "correlation",
)
"""What the rules read in their own way: a service-filled field stated as null; repeated or odd
names of a part; numbers where texts are compared; lists with a scalar among the objects, or no
list; correlations that are null or not objects."""


class _Draw:
    """Draws the parts of one document: plain, except for the hazards chosen for it."""

    def __init__(self, draw: st.DrawFn, hazards: set[str]) -> None:
        self.draw, self.hazards = draw, hazards

    def value(self) -> Any:
        kinds = [TEXTS, st.none()] + ([NUMBERS, NUMBERS] if "numbers" in self.hazards else [])
        return self.draw(st.one_of(*kinds))

    def often(self) -> bool:
        return self.draw(st.integers(0, 4)) > 0

    def maybe(self, doc: Doc, key: str, value: Any = None) -> None:
        if self.draw(st.booleans()):
            doc[key] = self.value() if value is None else value()

    def filled(self, doc: Doc, key: str) -> None:
        """A service-filled field: absent, a value, or (a hazard) null."""
        choice = self.draw(st.sampled_from(["absent", "value", "null"]))
        if choice == "value":
            doc[key] = self.draw(st.one_of(st.booleans(), TEXTS))
        elif choice == "null" and f"null-{key}" in self.hazards:
            doc[key] = None

    def name(self, doc: Doc, taken: set[Any], part: str) -> None:
        if f"names-{part}" in self.hazards:
            names = st.one_of(st.sampled_from(["a", "b", ""]), st.none(), st.just(1))
            self.maybe(doc, "name", lambda: self.draw(names))
            return
        fresh = self.draw(st.sampled_from(["a", "b", "c", "d"]).filter(lambda n: n not in taken))
        taken.add(fresh)
        doc["name"] = fresh

    def items(self, make: Any, most: int = 2) -> Any:
        taken: set[Any] = set()
        items: list[Any] = [make(taken) for _ in range(self.draw(st.integers(0, most)))]
        if "shape" in self.hazards:
            shape = self.draw(st.sampled_from(["list", "null", "scalar-inside", "not-a-list"]))
            if shape == "null":
                return None
            if shape == "not-a-list":
                return self.value()
            if shape == "scalar-inside":
                items.insert(self.draw(st.integers(0, len(items))), self.value())
        return items

    def texts(self) -> Any:
        return self.draw(
            st.lists(st.one_of(TEXTS, NUMBERS) if "numbers" in self.hazards else TEXTS, max_size=3)
        )

    def correlation(self) -> Any:
        if "correlation" in self.hazards and not self.draw(st.integers(0, 3)):
            return self.value()
        item: Doc = {}
        self.maybe(item, "contextAttributeName")
        self.maybe(item, "contextAttributeValue")
        return item

    def event(self, taken: set[Any]) -> Doc:
        event: Doc = {}
        self.name(event, taken, "event")
        self.maybe(event, "type", lambda: self.draw(st.sampled_from([RUN_FINISHED, "other"])))
        self.filled(event, "dataOnly")
        self.maybe(event, "x")
        self.maybe(event, "timeouts", lambda: self.draw(st.sampled_from([{}, {"a": "b"}])))
        if "correlation" in self.hazards and not self.draw(st.integers(0, 3)):
            event["correlation"] = None
        elif self.draw(st.booleans()):
            count = self.draw(st.integers(0, 3))
            event["correlation"] = [self.correlation() for _ in range(count)]
        return event

    def action(self, taken: set[Any]) -> Doc:
        action: Doc = {}
        self.name(action, taken, "action")
        if self.often():
            ref: Doc = {"refName": "app.reload", "arguments": {"appId": "a"}}
            self.filled(ref, "invoke")
            self.maybe(ref["arguments"], "partial", lambda: self.draw(st.booleans()))
            action["functionRef"] = ref
        return action

    def on_event(self, taken: set[Any]) -> Doc:
        on_event: Doc = {}
        self.filled(on_event, "actionMode")
        if self.often():
            on_event["eventRefs"] = self.texts()
        if self.often():
            on_event["actions"] = self.items(self.action)
        return on_event

    def state(self, taken: set[Any]) -> Doc:
        state: Doc = {}
        self.name(state, taken, "state")
        self.maybe(state, "type", lambda: self.draw(st.sampled_from(["event", "EVENT"])))
        self.maybe(state, "end", lambda: self.draw(st.booleans()))
        self.filled(state, "exclusive")
        if self.often():
            state["onEvents"] = self.items(self.on_event)
        return state


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    """JSON-shaped task documents, tolerated by the rules, each with one hazard or none."""
    parts = _Draw(draw, {draw(st.sampled_from((*HAZARDS, "none")))})
    doc: Doc = {"name": "T"}
    parts.maybe(doc, "enabled", lambda: draw(st.booleans()))
    parts.maybe(doc, "description")
    parts.maybe(doc, "annotations", parts.texts)
    parts.maybe(doc, "specVersion", lambda: draw(st.sampled_from(["0.8", "1.16.0"])))
    if draw(st.booleans()):
        doc["start"] = {"schedule": {"cron": "0 6 * * *", "timezone": parts.value()}}
    if parts.often():
        doc["states"] = parts.items(parts.state)
    if parts.often():
        doc["events"] = parts.items(parts.event, 3)
    return doc


_TWINS: list[list[Any]] = [[True, 1, 1.0], [False, 0, 0.0], [-1, -1.0], [2, 2.0]]


def _twin(value: Any, rng: random.Random) -> Any:
    """`value` with some scalars replaced by others equal to them (True by 1 or 1.0, ...)."""
    if isinstance(value, dict):
        return {k: _twin(v, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [_twin(v, rng) for v in value]
    for group in _TWINS:
        if any(value == g and type(value) is type(g) for g in group):
            return rng.choice(group)
    return value


def _general(desired: Doc, live: Doc) -> bool:
    return normalize.normalize(live, desired=desired) == normalize.normalize(desired)


FILLED_IN = st.dictionaries(
    st.sampled_from([*normalize.TOP_DEFAULTS, "start", "key"]),
    st.one_of(
        st.none(),
        NUMBERS,
        TEXTS,
        st.sampled_from([[], [MARKER], {}, WORKFLOW_VERSION]),
    ),
    max_size=3,
)
"""Top-level fields a service may state where git does not: their defaults, null, the values
equal to a default (0 for false), and values that are not a default."""


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    desired=documents(),
    seed=st.integers(0, 2**16),
    unread=st.sampled_from([{}, OWNED, {"specVersion": "1.16.0"}, {**OWNED, "specVersion": None}]),
    unread_desired=st.sampled_from([{}, {"id": "t-0"}]),
    filled_in=FILLED_IN,
)
def test_as_sent_only_where_the_rules_agree(
    desired: Doc, seed: int, unread: Doc, unread_desired: Doc, filled_in: Doc
) -> None:
    desired = {**desired, **unread_desired}
    live = {**_twin(copy.deepcopy(desired), random.Random(seed)), **unread}
    live.update({k: v for k, v in filled_in.items() if k not in desired})
    if verbatim.as_sent(desired, live):
        assert _general(desired, live)


@pytest.mark.parametrize(
    ("filled_in", "accepted"),
    [
        ({"keepActive": False, "description": ""}, True),  # as the local tenant answers
        ({"keepActive": None, "events": [], "enabled": False}, True),
        ({"keepActive": True}, False),
        ({"description": "set in the hub"}, False),
        ({"start": None}, False),  # not a default the rule gives: normalised, not answered
        ({"somethingNew": False}, False),
    ],
)
def test_fields_the_service_fills_with_their_defaults_are_no_change(
    filled_in: Doc, accepted: bool
) -> None:
    desired = {k: v for k, v in SCHEDULED.items() if k not in filled_in}
    live = {**copy.deepcopy(desired), **OWNED, **filled_in}
    assert verbatim.as_sent(desired, live) is accepted
    assert _general(desired, live) or not accepted


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=desired_trees(), quirks=st.lists(st.sampled_from(emulator_quirks.QUIRKS), max_size=3))
def test_as_sent_agrees_on_every_spelling_of_the_quirks(
    text: str, quirks: list[emulator_quirks.Quirk]
) -> None:
    tree = _load(text)
    assume(tree.tasks and not tree.problems)
    for task in tree.tasks:
        desired = apidoc.build(task, {}, MARKER)
        assert verbatim.as_sent(desired, {**copy.deepcopy(desired), **OWNED})
        live = copy.deepcopy(desired)
        for quirk in quirks:
            if quirk.rewrite is not None:
                quirk.rewrite(live)
        if verbatim.as_sent(desired, {**live, **OWNED}):
            assert _general(desired, live)


def _two_refs(state: Doc) -> Doc:
    return {**state, "onEvents": [{"eventRefs": ["a", "b"]}]}


EVENTS_AB = [{"name": "a", "type": "t"}, {"name": "b", "type": "t"}]

REFUSED: dict[str, tuple[Doc, Doc]] = {
    # the live side drops a service-filled field stated as null; the desired side keeps it
    "exclusive-null": (
        {"states": [_two_refs({"name": "s", "exclusive": None})], "events": EVENTS_AB},
        {},
    ),
    "dataOnly-null": ({"events": [{"name": "a", "dataOnly": None}]}, {}),
    "actionMode-null": ({"states": [{"onEvents": [{"actionMode": None}]}]}, {}),
    "invoke-null": (
        {"states": [{"onEvents": [{"actions": [{"functionRef": {"invoke": None}}]}]}]},
        {},
    ),
    # a state paired with another one: by a repeated name, or by a position a scalar shifts
    "repeated-name": (
        {
            "states": [_two_refs({"name": "s", "exclusive": True}), {"name": "s"}],
            "events": EVENTS_AB,
        },
        {},
    ),
    "shifted-position": (
        {"states": ["x", _two_refs({"exclusive": True})], "events": EVENTS_AB},
        {},
    ),
    # equal values, different texts
    "annotation-number": ({"annotations": [True]}, {"annotations": [1]}),
    "eventRef-number": (
        {"states": [{"onEvents": [{"eventRefs": [True]}]}]},
        {"states": [{"onEvents": [{"eventRefs": [1]}]}]},
    ),
    "correlation-number": (
        {
            "events": [
                {"name": "a", "correlation": [{"contextAttributeValue": v} for v in (1.0, "2")]}
            ]
        },
        {
            "events": [
                {"name": "a", "correlation": [{"contextAttributeValue": v} for v in (True, "2")]}
            ]
        },
    ),
    "event-number": (
        {"events": [{"name": "a", "x": 1.0}, {"name": "b", "x": 1.5}]},
        {"events": [{"name": "a", "x": 1}, {"name": "b", "x": 1.5}]},
    ),
    # the live side rewrites run-finished correlations before the events are labelled
    "correlation-null": (
        {
            "events": [
                {"name": "a", "type": RUN_FINISHED, "correlation": None},
                {
                    "name": "b",
                    "type": RUN_FINISHED,
                    "correlation": [{"contextAttributeName": "id"}],
                },
            ],
            "states": [{"onEvents": [{"eventRefs": ["a"]}]}],
        },
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refuses_equal_documents_that_the_rules_tell_apart(case: str) -> None:
    desired, respelled = REFUSED[case]
    live = {**copy.deepcopy(desired), **respelled}
    assert live == desired  # equal documents ...
    assert not _general(desired, live)  # ... that do not normalise equal
    assert not verbatim.as_sent(desired, {**live, **OWNED})


ACCEPTED: dict[str, Doc] = {
    "chained": BASE,
    "scheduled": SCHEDULED,
    "two-events": {**BASE, "events": [{**e, "dataOnly": "x"} for e in EVENTS_AB]},
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_accepts_what_a_plan_meets_most(case: str) -> None:
    desired = ACCEPTED[case]
    live = {**copy.deepcopy(desired), **OWNED}
    assert verbatim.as_sent(desired, live)
    assert _general(desired, live)


def test_refuses_documents_that_differ() -> None:
    live = {**copy.deepcopy(BASE), **OWNED, "description": "by hand"}
    assert not verbatim.as_sent(BASE, live)
    assert not verbatim.as_sent(BASE, {**copy.deepcopy(BASE), "extra": 1})
    assert not verbatim.as_sent({**BASE, "extra": 1}, copy.deepcopy(BASE))


def test_fields_no_rule_reads_are_not_compared() -> None:
    live = {**copy.deepcopy(BASE), **OWNED, "specVersion": "1.16.0"}
    assert verbatim.as_sent({**BASE, "id": "elsewhere"}, live)
    assert verbatim.as_sent({k: v for k, v in BASE.items() if k != "specVersion"}, live)
    assert _general(BASE, live)
