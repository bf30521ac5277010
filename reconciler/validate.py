"""Semantic checks of a loaded task tree: every problem at once, each located.

The models already rejected unknown keys and wrong types; this module checks what needs the whole
tree or the calendar: unique names, upstream references, cycles, schedules, app ids and limits.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Sequence, Set
from datetime import datetime
from typing import Any

from reconciler import apidoc, model, schedule
from reconciler.errors import Problem
from reconciler.load import LoadedTask
from reconciler.plan import desired_graph

MAX_TASKS_PER_APP = 10
"""The service refuses an eleventh task on one app (CHO-014)."""
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def validate(
    tasks: Sequence[LoadedTask],
    *,
    now: datetime | None = None,
    unreadable: Set[str] = frozenset(),
) -> list[Problem]:
    """Problems of the tree as a whole; `now` enables the end-in-the-past warning.

    `unreadable` names tasks whose files already had problems: references to them are not errors.
    """
    problems: list[Problem] = []
    names = _unique_names(tasks, problems) | set(unreadable)
    for task in tasks:
        _references(task, names, problems)
        _schedule(task, now, problems)
        _structure(task, problems)
    _cycles(tasks, problems)
    _per_app(tasks, problems)
    return problems


def _unique_names(tasks: Sequence[LoadedTask], problems: list[Problem]) -> set[str]:
    first: dict[str, LoadedTask] = {}
    for task in tasks:
        if task.name in first:
            other = first[task.name]
            problems.append(
                task.problem(
                    ("name",),
                    f"duplicate task name {task.name!r} (also in {other.path}:"
                    f"{other.source.where(('name',))[0]}); names are the tasks' identity: "
                    "make them unique",
                )
            )
        else:
            first[task.name] = task
    for task in tasks:
        for i, old in enumerate(task.spec.renamedFrom):
            if old in first and old != task.name:
                problems.append(
                    task.problem(
                        ("renamedFrom", i),
                        f"renamedFrom {old!r} names a task that still exists in this tree; "
                        "remove one of them",
                    )
                )
    return set(first)


def _references(task: LoadedTask, names: set[str], problems: list[Problem]) -> None:
    spec = task.spec
    refs: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(spec, model.ShortTask):
        refs = [(("after", i, "task"), u.task) for i, u in enumerate(spec.upstreams) if u.task]
    else:
        for i, event in enumerate(spec.events or []):
            for j, corr in enumerate(event.correlation):
                if corr.taskRef is not None:
                    refs.append((("events", i, "correlation", j, "taskRef"), corr.taskRef))
    for loc, name in refs:
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else "; name a task of this tree, or use `taskId:` for a task outside it"
            )
            problems.append(task.problem(loc, f"unknown upstream task {name!r}{hint}"))


def _schedule_value(task: LoadedTask) -> tuple[Any, tuple[str | int, ...]] | None:
    data = task.data
    if isinstance(task.spec, model.ShortTask):
        return (data["schedule"], ("schedule",)) if data.get("schedule") else None
    start = data.get("start")
    if isinstance(start, dict) and start.get("schedule") is not None:
        return start["schedule"], ("start", "schedule")
    return None


def _schedule(task: LoadedTask, now: datetime | None, problems: list[Problem]) -> None:
    found = _schedule_value(task)
    if found is None:
        return
    value, loc = found
    for issue in schedule.check(value):
        where = (*loc, issue.field) if issue.field and isinstance(value, dict) else loc
        problems.append(task.problem(where, issue.message, issue.severity))
    if now is not None and not task.spec.migrateFrom:
        late = schedule.check_end_in_past(value, now)
        if late is not None:
            problems.append(task.problem((*loc, late.field), late.message, "warning"))


def _structure(task: LoadedTask, problems: list[Problem]) -> None:
    spec = task.spec
    app = _app_of(task)
    app_loc: tuple[str | int, ...] = ("reload", "appId")
    if isinstance(spec, model.FullTask):
        app_loc = ("states",)
        if len(spec.states) != 1:
            problems.append(
                task.problem(
                    ("states",),
                    f"task has {len(spec.states)} states instead of 1: the service runs exactly one "
                    "event state with one action",
                )
            )
        for i, state in enumerate(spec.states):
            actions = [a for on in state.onEvents for a in on.actions]
            if len(actions) != 1:
                problems.append(
                    task.problem(
                        ("states", i),
                        f"task has {len(actions)} Actions instead of 1: give the state one "
                        "app.reload action",
                    )
                )
            declared = {e.name for e in spec.events or []}
            for j, on in enumerate(state.onEvents):
                for k, ref in enumerate(on.eventRefs):
                    if ref not in declared:
                        problems.append(
                            task.problem(
                                ("states", i, "onEvents", j, "eventRefs", k),
                                f"eventRefs names {ref!r}, which is not a declared event; "
                                f"declared: {', '.join(sorted(declared)) or 'none'}",
                            )
                        )
        named = spec.start.stateName if spec.start is not None else None
        if named is not None and named not in {s.name for s in spec.states}:
            problems.append(
                task.problem(
                    ("start", "stateName"),
                    f"start.stateName {named!r} names no state of this task",
                )
            )
    if app is None:
        problems.append(task.problem(app_loc, "no app.reload action with an appId"))
    elif not _UUID.fullmatch(app):
        problems.append(
            task.problem(
                app_loc,
                f"appId {app!r} is not an app id (a UUID such as "
                "116dbfae-7fb9-4983-8e23-5ccd8c508722); copy it from the app's URL",
            )
        )
    if isinstance(spec, model.ShortTask):
        for i, upstream in enumerate(spec.upstreams):
            if upstream.taskId is not None and not _UUID.fullmatch(upstream.taskId):
                problems.append(
                    task.problem(
                        ("after", i, "taskId"), f"taskId {upstream.taskId!r} is not a UUID"
                    )
                )


def _app_of(task: LoadedTask) -> str | None:
    if isinstance(task.spec, model.ShortTask):
        return task.spec.reload.appId
    return apidoc.app_id(task.data)


def _cycles(tasks: Sequence[LoadedTask], problems: list[Problem]) -> None:
    by_name = {t.name: t for t in tasks}
    for members in desired_graph(tasks).cycles():
        if all(by_name[m].spec.allowCycle for m in members if m in by_name):
            continue
        loop = " → ".join([*members, members[0]])
        for member in members:
            task = by_name.get(member)
            if task is not None and not task.spec.allowCycle:
                problems.append(
                    task.problem(
                        ("after",) if isinstance(task.spec, model.ShortTask) else ("events",),
                        f"chain cycle {loop}: the tasks would reload each other forever; "
                        "break the cycle, or set `allowCycle: true` on every member for a "
                        "continuous reload",
                    )
                )


def _per_app(tasks: Sequence[LoadedTask], problems: list[Problem]) -> None:
    per_app: dict[str, list[LoadedTask]] = defaultdict(list)
    data_update: dict[str, list[LoadedTask]] = defaultdict(list)
    for task in tasks:
        app = _app_of(task)
        if app:
            per_app[app.lower()].append(task)
            if isinstance(task.spec, model.ShortTask) and task.spec.onDataUpdate:
                data_update[app.lower()].append(task)
    for app, group in per_app.items():
        if len(group) > MAX_TASKS_PER_APP:
            for task in group[MAX_TASKS_PER_APP:]:
                problems.append(
                    task.problem(
                        ("reload", "appId")
                        if isinstance(task.spec, model.ShortTask)
                        else ("states",),
                        f"app {app} has {len(group)} tasks; the service allows at most "
                        f"{MAX_TASKS_PER_APP} per app (CHO-014): merge schedules or chains",
                    )
                )
    for app, group in data_update.items():
        for task in group[1:]:
            problems.append(
                task.problem(
                    ("onDataUpdate",),
                    f"app {app} already has a data-update task ({group[0].name!r} in "
                    f"{group[0].path}); the service allows one per app",
                )
            )
