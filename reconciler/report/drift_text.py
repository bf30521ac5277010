"""The drift report as terminal text, and the words the other drift reports share.

Pure: a DriftReport in, text out. As in the plan, every line that names a task starts with its
category's symbol, so a terminal can colour lines by their first character; every other line starts
with a space or a word. Field changes read `path: tenant value → git value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.apps import AppBook, app_label, app_name
from reconciler.drift import CATEGORY_ORDER, LISTED, Category, DriftReport, Finding, TaskDrift
from reconciler.report.plan_text import Change, changes, field_label, quote, safe, value_text

SYMBOL: Mapping[Category, str] = {
    Category.DISABLED: "o",
    Category.DISABLED_BY_HAND: "o",
    Category.FAILING: "x",
    Category.MODIFIED: "~",
    Category.RENAMED: "~",
    Category.MISSING: "+",
    Category.REMOVED: "-",
    Category.CONFLICT: "!",
    Category.LEGACY: ">",
    Category.UNMANAGED: "?",
}
"""One character per category; where apply would act, the plan's symbol for that action."""

TITLE: Mapping[Category, str] = {
    Category.DISABLED: "Disabled by the service",
    Category.DISABLED_BY_HAND: "Disabled by hand",
    Category.FAILING: "Failing",
    Category.MODIFIED: "Modified in the tenant",
    Category.RENAMED: "Renamed in the hub",
    Category.MISSING: "Missing from the tenant",
    Category.REMOVED: "Managed, but no longer in git",
    Category.CONFLICT: "Conflicts",
    Category.LEGACY: "Legacy reload-tasks not migrated",
    Category.UNMANAGED: "Unmanaged",
}

INDENT = "    "
DIRECTION = "tenant → git"


def runs_source(report: DriftReport) -> str:
    """Where the report learnt of the last runs."""
    if report.runs_checked:
        return "asked of each managed task (--runs)"
    return "as the task listing reports them"


def title(category: Category, strict: bool = False) -> str:
    """The heading of a category, saying when its tasks are listed without being drift."""
    text = TITLE[category]
    return text + (" (listed, not drift)" if category in LISTED and not strict else "")


def field_changes(finding: Finding) -> list[Change]:
    """What differs, value by value (tenant → git), for a finding backed by an update."""
    action = finding.action
    if action is None or not action.fields:
        return []
    return changes(action)


APP_CHANGE = field_label("states") + ".app"
"""The path of a change of the app a task reloads."""


def app_changes(report: DriftReport) -> set[str]:
    """The app ids that the field changes of `report` name."""
    return {
        value
        for task in report.tasks
        for finding in task.findings
        for change in field_changes(finding)
        if change.path == APP_CHANGE
        for value in (change.old, change.new)
        if isinstance(value, str)
    }


def _app_value(value: Any, apps: AppBook) -> str:
    if isinstance(value, str) and app_name(value, apps):
        return app_label(value, apps)
    return value_text(value)


def change_line(change: Change, apps: AppBook) -> str:
    """`path: old → new`; a changed app by name beside its id (`"Sales" (116d...)`)."""
    if change.path != APP_CHANGE:
        return str(change)
    return f"{change.path}: {_app_value(change.old, apps)} → {_app_value(change.new, apps)}"


def run_words(run: Mapping[str, Any] | None) -> str:
    """`run 1a2b…, started …, ended …, triggered by …` from what is known of a run."""
    if not run:
        return ""
    parts = [f"run {run['id']}"] if run.get("id") else []
    for key, words in (("startedAt", "started"), ("endedAt", "ended")):
        if run.get(key):
            parts.append(f"{words} {run[key]}")
    if run.get("triggeredBy"):
        parts.append(f"triggered by {quote(str(run['triggeredBy']))}")
    return ", ".join(parts)


def where(task: TaskDrift) -> str:
    """`tasks/x.yaml, id 1234, owner Anna Berg` (what is known of it)."""
    parts = [task.source] if task.source else []
    if task.task_id:
        parts.append(f"id {task.task_id}")
    if task.owner:
        parts.append(f"owner {task.owner.get('name')}")
    return ", ".join(parts)


def header(task: TaskDrift, category: Category) -> str:
    place = where(task)
    line = f"{SYMBOL[category]} {quote(task.name)}"
    return f"{line}  ({quote(place)[1:-1]})" if place else line


def message(finding: Finding) -> str:
    """The finding in one line; a disabled task's code first, who changed it last after."""
    text = finding.message
    if finding.category in DISABLED and finding.code:
        text = f"{finding.code}: {text}"
    return text + changed_words(finding)


DISABLED = frozenset({Category.DISABLED, Category.DISABLED_BY_HAND})


def changed_words(finding: Finding) -> str:
    """`; last changed by Anna Berg at 2026-...` where the service says."""
    who = (finding.changed_by or {}).get("name")
    when = finding.changed_at
    if not who and not when:
        return ""
    return "; last changed" + (f" by {who}" if who else "") + (f" at {when}" if when else "")


def finding_lines(finding: Finding, advice: bool = True, apps: AppBook | None = None) -> list[str]:
    """Everything below a task's header line for one finding, unindented."""
    lines = [message(finding)]
    details = field_changes(finding)
    if details and finding.category not in DISABLED:
        lines.append(f"{DIRECTION}:")
        lines.extend(INDENT + change_line(c, apps or {}) for c in details)
    if advice:
        lines.append(f"what to do: {finding.advice}")
    return lines


def shared_advice(found: list[tuple[TaskDrift, Finding]]) -> str | None:
    """The advice every finding of a category shares (said once), or None."""
    advice = {f.advice for _, f in found}
    return advice.pop() if len(advice) == 1 else None


def render(report: DriftReport, *, tenant: str | None = None, requests: int | None = None) -> str:
    """The terminal report: each category with its tasks, then warnings and the summary."""
    lines: list[str] = [f"Tenant: {quote(tenant)[1:-1]}"] if tenant else []
    lines += [f"Last runs: {runs_source(report)}.", ""]
    for category in CATEGORY_ORDER:
        found = report.of(category)
        if not found:
            continue
        lines.append(f"{title(category, report.strict)} ({len(found)}):")
        advice = shared_advice(found)
        if advice:
            lines.append(f"  what to do: {advice}")
        for task, finding in found:
            lines.append(header(task, category))
            lines += [
                INDENT + line.replace("\n", "\n" + INDENT)
                for line in finding_lines(finding, advice is None, report.apps)
            ]
        lines.append("")
    if report.warnings:
        lines += ["Warnings:", *(INDENT + w for w in report.warnings), ""]
    counts = report.summary()
    in_git = sum(1 for t in report.tasks if t.origin == "git")
    lines.append(f"{counts['in_sync']} of {in_git} task(s) in git are in sync.")
    last = report.summary_line()
    if requests is not None:
        last += f" ({requests} API request{'' if requests == 1 else 's'})"
    lines.append(last)
    return safe("\n".join(lines)) + "\n"
