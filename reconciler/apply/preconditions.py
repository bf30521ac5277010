"""What apply checks against the live listing before it writes anything: that a saved plan is
still fresh (every task it touches is as it was, with a fingerprint to compare), and that every
task it writes or deletes is this tool's to change (`reconciler.ownership`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import normalize
from reconciler.errors import GuardRefusedError, StalePlanError
from reconciler.ownership import refusals
from reconciler.plan import Kind, Plan


def check_fresh(plan: Plan, live: Sequence[Mapping[str, Any]]) -> None:
    """Refuse a saved plan whose tasks changed since it was made, as the live listing shows them
    (exit 3, nothing written)."""
    by_id = {str(t.get("id")): t for t in live}
    names = {str(t.get("name")) for t in live}
    stale: list[str] = []
    for action in plan.actions:
        if action.kind is Kind.CONFLICT:
            continue
        if action.creates:
            if action.name in names:
                stale.append(f"{action.name!r} would be created but now exists")
            continue
        current = by_id.get(action.task_id or "")
        if current is None:
            stale.append(f"{action.name!r} ({action.task_id}) no longer exists")
        elif not action.remote_fingerprint:
            stale.append(
                f"{action.name!r} ({action.task_id}) has no remote_fingerprint, so its freshness "
                "cannot be checked"
            )
        elif normalize.fingerprint(current) != action.remote_fingerprint:
            stale.append(f"{action.name!r} ({action.task_id}) changed since the plan was made")
    if stale:
        raise StalePlanError(
            "the saved plan is stale, nothing was written: "
            + "; ".join(stale)
            + ". Make a new plan and review it."
        )


def check_owned(plan: Plan, live: Sequence[Mapping[str, Any]], marker: str, *, adopt: bool) -> None:
    """Refuse (exit 4, nothing written) a plan that would write or delete a live task this tool
    does not own. Asked of the live listing, never of the plan's own `before`: a saved plan file
    is not trusted to say who owns a task."""
    writes = [
        (a.task_id or "", a.name, a.migrate_from or a.delete_legacy)
        for a in plan.changes
        if a.updates
    ]
    deletes = [a.task_id for a in plan.of(Kind.DELETE) if a.task_id is not None]
    problems = refusals(writes, deletes, live, marker, adopt=adopt)
    if problems:
        raise GuardRefusedError(
            "refusing to apply, nothing was written: " + "; ".join(problems) + ". Make a new plan."
        )
