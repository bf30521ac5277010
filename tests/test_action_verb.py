"""What apply sends for each shape of plan action: the verb, read from the action's kind and task id."""

from __future__ import annotations

import pytest

from reconciler.plan_values import Action, Kind, Verb

CASES = [
    # kind, task_id, verb
    (Kind.CREATE, None, Verb.CREATE),
    (Kind.MIGRATE, None, Verb.CREATE),  # the migration makes its task
    (Kind.UPDATE, "t1", Verb.UPDATE),
    (Kind.MIGRATE, "t1", Verb.UPDATE),  # finished on the task it made
    (Kind.DELETE, "t1", Verb.DELETE),
    (Kind.CONFLICT, "t1", Verb.NONE),
    # Shapes a plan never has (a hand-edited saved plan may): apply sends nothing for them.
    (Kind.CREATE, "t1", Verb.NONE),
    (Kind.UPDATE, None, Verb.NONE),
]


@pytest.mark.parametrize(("kind", "task_id", "verb"), CASES)
def test_verb(kind: Kind, task_id: str | None, verb: Verb) -> None:
    action = Action(kind, "Nightly", "reason", task_id=task_id)
    assert action.verb is verb
    assert action.creates is (verb is Verb.CREATE)
    assert action.updates is (verb is Verb.UPDATE)


def test_verb_survives_a_saved_plan() -> None:
    action = Action(Kind.MIGRATE, "Nightly", "reason", task_id="t1")
    assert Action.from_json(action.to_json()).verb is Verb.UPDATE
