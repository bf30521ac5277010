"""Preflight: what the tenant would refuse in a plan, found at plan time, before anything is written.

Pure: the plan, the task files, the live listing, the legacy listing and the facts of the apps the
plan names are passed in. Problems (the plan fails, exit 1), each at its task file's line:

- the app does not exist, or the caller may not reload it (its `privileges` lack `reload`);
- an app would hold more than 10 tasks, counting every task on it after the plan: managed,
  unmanaged, and legacy reload-tasks not migrated;
- two data-update tasks on one app (the service allows one, shared with legacy auto-reload);
- an `endDateTime` in the past on a task to create or to enable (the service refuses it).

Warnings (the plan still succeeds): a delete of a task that unmanaged tasks run after, and a plan
that apply's mass-delete guard will refuse.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler import model, schedule
from reconciler.apps import AppBook, app_label
from reconciler.chains import run_finished_upstreams
from reconciler.errors import GuardRefusedError, Problem
from reconciler.guard import Guard
from reconciler.load import LoadedTask
from reconciler.ownership import is_managed
from reconciler.plan import Action, Kind, Plan
from reconciler.taskdoc import app_of
from reconciler.triggers import schedule_of, trigger_of

MAX_TASKS_PER_APP = 10
WRITES = (Kind.CREATE, Kind.MIGRATE, Kind.UPDATE)


def _where(spec: model.TaskFile, what: str) -> model.Loc:
    """Where in the task's file a problem of kind `what` (app, trigger, end) is reported."""
    if what == "app":
        return spec.APP_AT
    if what == "trigger":
        return spec.TRIGGER_AT
    return (*spec.SCHEDULE_AT, "endDateTime")


Report = Callable[[Action, str, str], None]


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """Something the tenant would refuse: at `source:line` of the task file when there is one."""

    source: str | None
    line: int | None
    task: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}: " if self.source and self.line else ""
        return f"{where}{json.dumps(self.task, ensure_ascii=False)}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "line": self.line,
            "task": self.task,
            "message": self.message,
        }


@dataclass(slots=True)
class Preflight:
    problems: list[PlanProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Holder:
    """One task an app holds once the plan is applied."""

    name: str
    kind: str  # "managed", "unmanaged", "legacy"
    data_update: bool
    action: Action | None = None  # the action that puts it on this app, if any


def apps_to_read(
    plan: Plan, live: Sequence[Mapping[str, Any]], legacy: Sequence[Mapping[str, Any]] | None
) -> list[str]:
    """Every app the plan shows: of its actions, of unmanaged tasks, of legacy reload-tasks."""
    found: set[str] = set()
    for action in plan.actions:
        for doc in (action.after, action.before):
            app = app_of(doc) if doc else None
            if app:
                found.add(app)
    unmanaged = {u.id for u in plan.unmanaged}
    found.update(a for d in live if str(d.get("id")) in unmanaged if (a := app_of(d)))
    found.update(t.name for t in plan.legacy if t.name)
    found.update(str(d["appId"]) for d in legacy or [] if isinstance(d.get("appId"), str))
    return sorted(found)


def final_docs(
    plan: Plan, live: Sequence[Mapping[str, Any]]
) -> list[tuple[dict[str, Any], Action | None]]:
    """Every task document of the tenant once the plan is applied, with the action behind it."""
    by_id = {str(d.get("id")): dict(d) for d in live}
    acted: dict[str, Action] = {}
    out: list[tuple[dict[str, Any], Action | None]] = []
    for action in plan.actions:
        if action.kind is Kind.DELETE and action.task_id:
            by_id.pop(action.task_id, None)
        elif action.kind is Kind.UPDATE and action.task_id in by_id:
            by_id[action.task_id] = {**by_id[action.task_id], **(action.after or {})}
            acted[action.task_id] = action
        elif action.creates and action.after is not None:
            out.append((dict(action.after), action))
    return [(doc, acted.get(task_id)) for task_id, doc in by_id.items()] + out


def check(
    tasks: Sequence[LoadedTask],
    plan: Plan,
    live: Sequence[Mapping[str, Any]],
    legacy: Sequence[Mapping[str, Any]] | None,
    apps: AppBook,
    *,
    now: datetime,
    marker: str,
) -> Preflight:
    """The problems and warnings of `plan` against the tenant it was made from."""
    result = Preflight()
    by_name = {t.name: t for t in tasks}
    live_by_id = {str(d.get("id")): d for d in live}

    def problem(action: Action, what: str, message: str) -> None:
        task = by_name.get(action.name)
        if task is None:
            result.problems.append(PlanProblem(action.source, None, action.name, message))
            return
        located = task.problem(_where(task.spec, what), message)
        result.problems.append(PlanProblem(located.path, located.line, action.name, message))

    _app_access(plan, live_by_id, apps, problem)
    if _may_bring_tasks(plan):
        holders = _holders(plan, live, legacy, marker, live_by_id)
        _app_capacity(holders, apps, problem)
        _data_updates(holders, apps, problem)
    _past_ends(plan, live_by_id, now, problem)
    result.warnings.extend(_broken_chains(plan, live, marker))
    result.warnings.extend(_guard(plan, live, marker))
    return result


def _app_access(
    plan: Plan, live_by_id: Mapping[str, Mapping[str, Any]], apps: AppBook, problem: Report
) -> None:
    for action in plan.actions:
        if action.kind not in WRITES:
            continue
        doc = _merged(action, live_by_id)
        app = app_of(doc)
        facts = apps.get(app) if app else None
        if facts is None:
            continue
        if not facts.exists:
            problem(
                action,
                "app",
                f"app {app} does not exist in the tenant, or the caller cannot see it "
                "(GET /api/v1/apps answered 404): check the appId and the space's members",
            )
        elif facts.may_reload is False:
            problem(
                action,
                "app",
                f"the caller may not reload app {app_label(facts.id, apps)}: its privileges "
                "do not include reload; give the caller a role in the app's space that can reload",
            )


def _merged(action: Action, live_by_id: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    if action.kind is Kind.UPDATE and action.task_id in live_by_id:
        return {**live_by_id[str(action.task_id)], **(action.after or {})}
    return dict(action.after or {})


def _may_bring_tasks(plan: Plan) -> bool:
    """Whether an action may bring a task to an app: a create, or an update (which may move a
    task to another app or make it a data-update task). Only a task an action brings is reported
    for an app's capacity or its data-update task: without one, the apps' tasks need no count."""
    return any(action.creates or action.kind is Kind.UPDATE for action in plan.actions)


def _holders(
    plan: Plan,
    live: Sequence[Mapping[str, Any]],
    legacy: Sequence[Mapping[str, Any]] | None,
    marker: str,
    live_by_id: Mapping[str, Mapping[str, Any]],
) -> dict[str, list[_Holder]]:
    """App → the tasks it holds once the plan is applied. An action is kept only on the tasks it
    brings to the app (created there, or moved there from another app or trigger)."""
    held: dict[str, list[_Holder]] = defaultdict(list)
    for doc, acted in final_docs(plan, live):
        app = app_of(doc)
        if not app:
            continue
        kind = "managed" if is_managed(doc, marker) or acted is not None else "unmanaged"
        brings = acted
        if acted is not None and acted.kind is Kind.UPDATE:
            before = live_by_id.get(str(acted.task_id)) or {}
            moved = app_of(before) != app
            newly_data = trigger_of(doc).data_update and not trigger_of(before).data_update
            brings = acted if moved or newly_data else None
        held[app].append(_Holder(str(doc.get("name")), kind, trigger_of(doc).data_update, brings))
    migrating = {a.migrate_from for a in plan.actions if a.migrate_from}
    for old in legacy or []:
        app = old.get("appId")
        if not isinstance(app, str) or old.get("migrated") or old.get("id") in migrating:
            continue
        held[app].append(
            _Holder(f"legacy reload-task {old.get('id')}", "legacy", bool(old.get("autoReload")))
        )
    return held


def _app_capacity(held: Mapping[str, list[_Holder]], apps: AppBook, problem: Report) -> None:
    for app, holders in held.items():
        if len(holders) <= MAX_TASKS_PER_APP:
            continue
        counts: dict[str, int] = defaultdict(int)
        for h in holders:
            counts[h.kind] += 1
        parts = [f"{counts[k]} {k}" for k in ("managed", "unmanaged", "legacy") if counts[k]]
        for holder in holders:
            if holder.action is None:
                continue
            problem(
                holder.action,
                "app",
                f"app {app_label(app, apps)} would hold {len(holders)} tasks, more than the "
                f"service's {MAX_TASKS_PER_APP} (CHO-014): {', '.join(parts)}"
                + (" (legacy reload-tasks count until migrated)" if counts["legacy"] else ""),
            )


def _data_updates(held: Mapping[str, list[_Holder]], apps: AppBook, problem: Report) -> None:
    for app, holders in held.items():
        triggered = [h for h in holders if h.data_update]
        if len(triggered) < 2:
            continue
        for holder in triggered:
            if holder.action is None:
                continue
            others = ", ".join(
                json.dumps(h.name, ensure_ascii=False) for h in triggered if h is not holder
            )
            problem(
                holder.action,
                "trigger",
                f"app {app_label(app, apps)} would have two data-update tasks (also {others}); "
                "the service allows one per app, shared with the legacy auto-reload setting",
            )


def _past_ends(
    plan: Plan, live_by_id: Mapping[str, Mapping[str, Any]], now: datetime, problem: Report
) -> None:
    for action in plan.actions:
        creating = action.kind is Kind.CREATE
        enabling = (
            action.kind is Kind.UPDATE
            and "enabled" in action.fields
            and (action.after or {}).get("enabled") is True
        )
        if not (creating or enabling):
            continue
        doc = _merged(action, live_by_id)
        value = schedule_of(doc)
        if value is None:
            continue
        try:
            issue = schedule.check_end_in_past(value, now)
        except ValueError:
            continue
        if issue is None or issue.field != "endDateTime":
            continue
        problem(
            action,
            "end",
            f"{issue.message} (the service answers 400 CHO-017 when a task is "
            + ("created" if creating else "enabled")
            + " with it)",
        )


def _broken_chains(plan: Plan, live: Sequence[Mapping[str, Any]], marker: str) -> Iterable[str]:
    deleted = {a.task_id: a for a in plan.of(Kind.DELETE) if a.task_id}
    if not deleted:
        return
    for doc in live:
        if is_managed(doc, marker):
            continue
        for ref, _status in run_finished_upstreams(doc):
            action = deleted.get(ref)
            if action is None:
                continue
            yield (
                f"deleting {json.dumps(action.name, ensure_ascii=False)} (id {ref}) breaks the "
                f"chain of the unmanaged task {json.dumps(str(doc.get('name')), ensure_ascii=False)}"
                f" (id {doc.get('id')}), which runs after it: it will not run again until "
                "someone gives it another trigger"
            )


def _guard(plan: Plan, live: Sequence[Mapping[str, Any]], marker: str) -> Iterable[str]:
    try:
        Guard().check(plan, live, marker=marker)
    except GuardRefusedError as exc:
        yield f"apply will refuse this plan (exit 4) unless given --allow-mass-delete: {exc}"


def said_once(warnings: Iterable[Problem], problems: Sequence[PlanProblem]) -> list[Problem]:
    """The task files' warnings less those at the line of a preflight problem: an `endDateTime`
    in the past is a warning of the files and a problem of the plan, and is said once, as the
    problem."""
    located = {(p.source, p.line) for p in problems if p.line is not None}
    return [w for w in warnings if (w.path, w.line) not in located]
