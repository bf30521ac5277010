"""What drift reports: the categories of finding, what to do about each, and the report's value
types (a finding, a task's findings, the whole report and its summary)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.apps import AppBook
from reconciler.plan import Action, Plan


class Category(StrEnum):
    DISABLED = "disabled"
    DISABLED_BY_HAND = "disabled_by_hand"
    FAILING = "failing"
    MODIFIED = "modified"
    RENAMED = "renamed"
    MISSING = "missing"
    REMOVED = "removed"
    CONFLICT = "conflict"
    LEGACY = "legacy"
    UNMANAGED = "unmanaged"


CATEGORY_ORDER: tuple[Category, ...] = tuple(Category)
"""The order reports show categories in: what needs a person first."""

LISTED = frozenset({Category.UNMANAGED, Category.LEGACY})
"""Categories that are listed without being drift (unless the report is strict)."""

ADVICE: Mapping[Category, str] = {
    Category.DISABLED: "fix the cause, then run `reconciler apply`: it turns the task back on",
    Category.DISABLED_BY_HAND: "if it should stay off, set `enabled: false` in its task file; "
    "otherwise run `reconciler apply` to turn it back on",
    Category.RENAMED: "add the hub's name to `renamedFrom:` in its task file to keep the task's id "
    "(apply renames it back), or rename the task in git to match",
    Category.FAILING: "read the reload log of the failed run (the app's reload history in the hub), "
    "fix the cause, then start the task again",
    Category.MODIFIED: "run `reconciler apply` to put git's version back, or change the task file "
    "if the tenant's version is the one to keep",
    Category.MISSING: "run `reconciler apply` to create it (was it deleted in the hub?)",
    Category.REMOVED: "run `reconciler apply` to delete it, or restore its task file if it should "
    "stay",
    Category.CONFLICT: "an unmanaged task holds the name: run `reconciler apply --adopt` to take it "
    "over, or rename the task in git",
    Category.LEGACY: "run `reconciler migrate --out tasks/migrated/`, review and commit the files; "
    "apply then migrates them (the legacy API is being removed from tenants)",
    Category.UNMANAGED: "nothing, if it belongs to someone else; to manage it, `reconciler import` "
    "writes its task file: commit it and run `reconciler apply --adopt`",
}
"""What to do, per category, in one sentence."""


@dataclass(slots=True)
class Finding:
    """One way one task differs from git. `action` is the part of the plan's action behind it."""

    category: Category
    message: str
    advice: str
    drift: bool = True
    code: str | None = None
    action: Action | None = None
    run: dict[str, Any] | None = None
    # Who changed the task last and when, where the service says ({"id", "name"}, ISO time).
    changed_by: dict[str, str] | None = None
    changed_at: str | None = None


@dataclass(slots=True)
class TaskDrift:
    """One task of git or of the tenant, and what differs (nothing, when it is in sync).

    `origin` is "git" (a task file declares it), "tenant" (a live task no file declares) or
    "legacy" (a legacy reload-task)."""

    name: str
    origin: str
    source: str | None = None
    task_id: str | None = None
    managed: bool = True
    findings: list[Finding] = field(default_factory=list)
    owner: dict[str, str] | None = None  # {"id", "name"}, when the users API was asked

    @property
    def drifted(self) -> bool:
        return any(f.drift for f in self.findings)

    @property
    def status(self) -> str:
        """ "drifted", "listed" (only findings that are not drift) or "in_sync"."""
        if self.drifted:
            return "drifted"
        return "listed" if self.findings else "in_sync"

    def finding(self, category: Category) -> Finding | None:
        return next((f for f in self.findings if f.category is category), None)


@dataclass(slots=True)
class DriftReport:
    tasks: list[TaskDrift] = field(default_factory=list)
    plan: Plan = field(default_factory=Plan)
    warnings: list[str] = field(default_factory=list)
    runs_checked: bool = False
    strict: bool = False
    apps: AppBook = field(default_factory=dict)  # app id → facts, to name apps beside their ids

    @property
    def drifted(self) -> bool:
        return any(t.drifted for t in self.tasks)

    def of(self, category: Category) -> list[tuple[TaskDrift, Finding]]:
        """The tasks with a finding of `category`, in report order."""
        out: list[tuple[TaskDrift, Finding]] = []
        for task in self.tasks:
            found = task.finding(category)
            if found is not None:
                out.append((task, found))
        return out

    def summary(self) -> dict[str, int]:
        counts = {c.value: len(self.of(c)) for c in CATEGORY_ORDER}
        counts["tasks"] = len(self.tasks)
        counts["in_sync"] = sum(1 for t in self.tasks if t.origin == "git" and not t.findings)
        return counts

    def summary_line(self) -> str:
        counts = self.summary()
        drift = [
            f"{counts[c.value]} {c.value}"
            for c in CATEGORY_ORDER
            if counts[c.value] and (c not in LISTED or self.strict)
        ]
        listed = [
            f"{counts[c.value]} {c.value}"
            for c in CATEGORY_ORDER
            if counts[c.value] and c in LISTED and not self.strict
        ]
        if drift:
            line = f"Drift: {', '.join(drift)}."
            if listed:
                line += f" Also listed, not drift: {', '.join(listed)}."
            return line
        line = "No drift. The tenant matches git."
        if listed:
            line += f" Listed, not drift: {', '.join(listed)}."
        return line
