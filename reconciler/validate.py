"""Semantic checks of a loaded task tree: every problem at once, each located.

The models already rejected unknown keys and wrong types; this module checks what needs the whole
tree or the calendar: unique names, upstream references, cycles, schedules, app ids and limits.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence, Set
from datetime import datetime
from typing import Any

from reconciler import model, schedule
from reconciler.chains import desired_graph
from reconciler.errors import Problem
from reconciler.load import LoadedTask

MAX_TASKS_PER_APP = 10
"""The service refuses an eleventh task on one app (CHO-014)."""


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
    for loc, name in task.spec.upstream_refs:
        if name not in names:
            close = difflib.get_close_matches(name, sorted(names), n=1)
            hint = (
                f"; did you mean {close[0]!r}?"
                if close
                else "; name a task of this tree, or use `taskId:` for a task outside it"
            )
            problems.append(task.problem(loc, f"unknown upstream task {name!r}{hint}"))


def _schedule(task: LoadedTask, now: datetime | None, problems: list[Problem]) -> None:
    if not task.spec.has_schedule:
        return
    loc = task.spec.SCHEDULE_AT
    value: Any = task.data
    for key in loc:
        value = value[key]
    analysis = schedule.analyse(value)  # once for both: the checks and the end in the past
    for issue in analysis.issues:
        where = (*loc, issue.field) if issue.field and isinstance(value, dict) else loc
        problems.append(task.problem(where, issue.message, issue.severity))
    if now is not None and not task.spec.migrateFrom:
        late = schedule.end_in_past(analysis, now)
        if late is not None:
            problems.append(task.problem((*loc, late.field), late.message, "warning"))


def _structure(task: LoadedTask, problems: list[Problem]) -> None:
    spec = task.spec
    for loc, message in spec.shape_problems():
        problems.append(task.problem(loc, message))
    app = spec.app_id
    if app is None:
        problems.append(task.problem(spec.APP_AT, "no app.reload action with an appId"))
    elif not model.UUID.fullmatch(app):
        problems.append(
            task.problem(
                spec.APP_AT,
                f"appId {app!r} is not an app id (a UUID such as "
                "116dbfae-7fb9-4983-8e23-5ccd8c508722); copy it from the app's URL",
            )
        )


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
                        task.spec.CHAIN_AT,
                        f"chain cycle {loop}: the tasks would reload each other forever; "
                        "break the cycle, or set `allowCycle: true` on every member for a "
                        "continuous reload",
                    )
                )


def _per_app(tasks: Sequence[LoadedTask], problems: list[Problem]) -> None:
    per_app: dict[str, list[LoadedTask]] = defaultdict(list)
    data_update: dict[str, list[LoadedTask]] = defaultdict(list)
    for task in tasks:
        app = task.spec.app_id
        if app:
            per_app[app.lower()].append(task)
            if task.spec.on_data_update:
                data_update[app.lower()].append(task)
    for app, group in per_app.items():
        if len(group) > MAX_TASKS_PER_APP:
            for task in group[MAX_TASKS_PER_APP:]:
                problems.append(
                    task.problem(
                        task.spec.APP_AT,
                        f"app {app} has {len(group)} tasks; the service allows at most "
                        f"{MAX_TASKS_PER_APP} per app (CHO-014): merge schedules or chains",
                    )
                )
    for app, group in data_update.items():
        for task in group[1:]:
            problems.append(
                task.problem(
                    task.spec.TRIGGER_AT,
                    f"app {app} already has a data-update task ({group[0].name!r} in "
                    f"{group[0].path}); the service allows one per app",
                )
            )
