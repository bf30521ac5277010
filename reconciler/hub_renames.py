"""Tasks renamed in the hub: a managed task that someone renamed (same id, new name) looks to git
like one task missing and one no file declares. This module recognises the pair, so plan offers to
keep the task's id (`renamedFrom`) instead of deleting it and creating it again, and drift reports
a rename.

Pure. A pair is a create and a delete of the same plan whose documents are equal in everything
but the name (both sides normalised, as plan compares them), each used at most once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import normalize
from reconciler.plan import Action, Kind, Plan


@dataclass(frozen=True, slots=True)
class HubRename:
    """git's task `name` is the live task `task_id`, renamed in the hub to `hub_name`."""

    name: str
    hub_name: str
    task_id: str
    source: str | None


def _shape(doc: Mapping[str, Any] | None, desired: Mapping[str, Any] | None = None) -> str:
    rest = {k: v for k, v in normalize.normalize(doc or {}, desired=desired).items() if k != "name"}
    return json.dumps(rest, sort_keys=True, default=str)


def find(plan: Plan) -> list[HubRename]:
    """Each create of git that matches a delete of a managed task in all but its name."""
    deletes: dict[str, list[Action]] = {}
    creates = [a for a in plan.actions if a.kind is Kind.CREATE and a.after]
    for action in plan.of(Kind.DELETE):
        if action.before and action.task_id:
            deletes.setdefault(_shape(action.before), []).append(action)
    found: list[HubRename] = []
    for create in creates:
        candidates = deletes.get(_shape(create.after))
        if candidates:
            gone = candidates.pop(0)
            assert gone.task_id is not None
            found.append(HubRename(create.name, gone.name, gone.task_id, create.source))
    return found


def mark(plan: Plan) -> list[HubRename]:
    """Add to the plan's actions and warnings what each rename in the hub means and how to keep
    the task's id; returns the renames found."""
    renames = find(plan)
    by_name = {a.name: a for a in plan.actions if a.kind is Kind.CREATE}
    by_id = {a.task_id: a for a in plan.of(Kind.DELETE)}
    for rename in renames:
        where = rename.source or "its task file"
        advice = (
            f"the task {rename.hub_name!r} (id {rename.task_id}) was renamed in the hub from "
            f"{rename.name!r}; to keep its id, run history and chains, add "
            f"`renamedFrom: [{json.dumps(rename.hub_name, ensure_ascii=False)}]` to {where} "
            "(apply then renames it back), or rename the task in git to match"
        )
        by_name[rename.name].notes.append(advice)
        by_id[rename.task_id].notes.append(
            f"renamed in the hub from {rename.name!r}: see the create of {rename.name!r}"
        )
        plan.warnings.append(f"{rename.name!r} would be deleted and created again: {advice}")
    return renames
