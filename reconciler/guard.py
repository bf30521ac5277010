"""The guards apply passes before it writes anything: a plan that would delete or create too much
at once is refused (exit 4) unless the user says it is meant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import GuardRefusedError
from reconciler.ownership import is_managed
from reconciler.plan import Kind, Plan


@dataclass(frozen=True, slots=True)
class Guard:
    """The mass-delete guard: more than one delete and more than 20% of the managed tasks
    refuses. The mass-create guard: more than `max_creates_on_empty` creates on a tenant that
    lists none of the managed tasks refuses (its listing may be empty by mistake)."""

    allow_mass_delete: bool = False
    max_deletes: int | None = None
    fraction: float = 0.2
    allow_mass_create: bool = False
    max_creates_on_empty: int = 10

    def check(
        self, plan: Plan, live: Sequence[Mapping[str, Any]] = (), *, marker: str = ""
    ) -> None:
        """Refuse a plan that deletes too many tasks. With the live listing, a delete that leaves
        another managed task of that name in the tenant does not count: it removes a duplicate
        (two applies raced, or a task was copied by hand), which no missing or wrong tasks
        directory can cause, and refusing it would keep the duplicates."""
        self._check_creates(plan)
        deleting = plan.of(Kind.DELETE)
        if not deleting:
            return  # nothing to count, and the listing need not be read
        gone = {a.task_id for a in deleting}
        kept_names = {
            str(t.get("name"))
            for t in live
            if is_managed(t, marker) and str(t.get("id")) not in gone
        }
        deletes = sum(1 for a in deleting if a.name not in kept_names)
        if self.allow_mass_delete or deletes == 0:
            return
        managed = max(plan.managed_count, 1)
        if self.max_deletes is not None:
            too_many = deletes > self.max_deletes
            limit = f"--max-deletes {self.max_deletes}"
        else:
            too_many = deletes > 1 and deletes > self.fraction * managed
            limit = f"{int(self.fraction * 100)}% of the {plan.managed_count} managed tasks"
        if too_many:
            raise GuardRefusedError(
                f"refusing to delete {deletes} tasks: more than {limit}. If git really dropped "
                "them, run again with --allow-mass-delete; if not, check --tasks and the branch"
            )

    def _check_creates(self, plan: Plan) -> None:
        # Migrations are not counted: each is backed by a legacy task the tenant did list.
        creates = sum(1 for a in plan.actions if a.kind is Kind.CREATE and a.creates)
        if self.allow_mass_create or plan.managed_count or creates <= self.max_creates_on_empty:
            return
        raise GuardRefusedError(
            f"refusing to create {creates} tasks on a tenant that lists none of the managed "
            "tasks. If this is the first apply to this tenant, run again with "
            "--allow-mass-create; if not, the tenant's listing is incomplete (check the tenant "
            "URL and the permissions of the credentials)"
        )
