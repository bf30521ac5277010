"""The next runs of every task over a window, chains cascaded: what `reconciler schedule` shows.

Pure: the caller passes the window. A scheduled task's runs come from its schedule; a chained task
runs after its upstreams (for `when: all`, after the last of them); cascades follow the chain graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler import model, render, schedule
from reconciler.load import LoadedTask
from reconciler.plan import desired_graph

MAX_RUNS_PER_TASK = 500
MAX_CHAINED_RUNS = 100_000
"""Chained runs shown over one window: chains that fan out and join again multiply runs."""


@dataclass(slots=True)
class Run:
    """One expected run: when, which task, and why (its schedule, or the upstream it follows)."""

    at: datetime
    task: str
    because: str
    depth: int = 0
    follows: list[Run] = field(default_factory=list)


@dataclass(slots=True)
class Timeline:
    start: datetime
    end: datetime
    runs: list[Run] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)
    on_event: list[str] = field(default_factory=list)
    on_demand: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    cut: bool = False  # chained runs were cut at MAX_CHAINED_RUNS


def _schedule_of(task: LoadedTask) -> object | None:
    doc = render.render(task, {}, model.MARKER)
    return (doc.get("start") or {}).get("schedule")


def build_timeline(tasks: Sequence[LoadedTask], start: datetime, end: datetime) -> Timeline:
    """Runs in (start, end], in time order, each with the chained runs it sets off."""
    timeline = Timeline(start=start, end=end)
    graph = desired_graph(tasks)
    downstreams = graph.downstreams()
    by_name = {t.name: t for t in tasks}
    budget = [MAX_CHAINED_RUNS]
    for task in tasks:
        if not task.spec.enabled:
            timeline.disabled.append(task.name)
            continue
        value = _schedule_of(task)
        if value is not None:
            timeline.descriptions[task.name] = schedule.describe(value)  # type: ignore[arg-type]
            for at in schedule.runs_between(value, start, end, limit=MAX_RUNS_PER_TASK):  # type: ignore[arg-type]
                run = Run(at=at, task=task.name, because=timeline.descriptions[task.name])
                _cascade(run, downstreams, by_name, budget)
                timeline.runs.append(run)
        elif isinstance(task.spec, model.ShortTask) and task.spec.onDataUpdate:
            timeline.on_event.append(task.name)
        elif not graph.upstreams.get(task.name) and not _has_outside_upstream(task):
            timeline.on_demand.append(task.name)
    timeline.cut = budget[0] <= 0
    timeline.runs.sort(key=lambda r: (r.at, r.task))
    return timeline


def _has_outside_upstream(task: LoadedTask) -> bool:
    return isinstance(task.spec, model.ShortTask) and any(u.taskId for u in task.spec.upstreams)


def _cascade(
    run: Run,
    downstreams: dict[str, list[str]],
    by_name: dict[str, LoadedTask],
    budget: list[int],
) -> None:
    """Add the chained runs `run` sets off, depth first, without recursion (a chain may be
    thousands of tasks deep); a task is not followed again within its own path (a cycle). At most
    `budget[0]` runs are added over the whole timeline: chains that fan out and join again
    (diamonds) would otherwise multiply."""
    stack: list[tuple[Run, frozenset[str]]] = [(run, frozenset())]
    while stack:
        current, seen = stack.pop()
        path = seen | {current.task}
        follows: list[Run] = []
        for name in downstreams.get(current.task, []):
            task = by_name.get(name)
            if task is None or not task.spec.enabled or name in path:
                continue
            if budget[0] <= 0:
                return
            budget[0] -= 1
            follows.append(
                Run(
                    at=current.at,
                    task=name,
                    because=_because(task, current.task),
                    depth=current.depth + 1,
                )
            )
        current.follows.extend(follows)
        stack.extend((follow, path) for follow in reversed(follows))


def _because(task: LoadedTask, upstream: str) -> str:
    spec = task.spec
    status = "succeeded"
    waits = ""
    if isinstance(spec, model.ShortTask):
        status = next((u.status for u in spec.upstreams if u.task == upstream), "succeeded")
        if spec.when == "all" and len(spec.upstreams) > 1:
            others = [u.task or u.taskId or "" for u in spec.upstreams if u.task != upstream]
            waits = f"; also waits for {', '.join(others)}"
    return f"after {upstream} ({status}){waits}"
