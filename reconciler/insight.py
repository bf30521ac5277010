"""What a plan knows of the tenant beyond the tasks it changes, for the people who read it: app
names, every live task's name, preflight problems, the chained tasks a schedule change moves, and
the reloads of the next day before and after the change.

Pure: the plan, the task files, the live state (`live.Live`: tasks, legacy reload-tasks, apps) and
`now` are passed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from reconciler import preflight
from reconciler.apidoc import placeholder_name
from reconciler.apps import AppFacts
from reconciler.chains import run_finished_upstreams
from reconciler.live import Live
from reconciler.load import LoadedTask
from reconciler.ownership import is_managed
from reconciler.plan import Kind, Plan
from reconciler.preflight import PlanProblem

if TYPE_CHECKING:
    from reconciler.reloads import Collision

CHART_HOURS = 24
ASSUMED_MINUTES = 10
"""How long each reload is taken to run when the plan weighs collisions (it reads no run history)."""
DEFAULT_MAX_CONCURRENT = 5


@dataclass(slots=True)
class DayChart:
    """Reloads starting per hour over the next day, before and after the plan, and the collisions
    after it (`new`: those the plan brings)."""

    zone: str
    tz: tzinfo = UTC
    before: list[tuple[datetime, int]] = field(default_factory=list)
    after: list[tuple[datetime, int]] = field(default_factory=list)
    collisions: list[tuple[Collision, bool]] = field(default_factory=list)
    max_concurrent: int = DEFAULT_MAX_CONCURRENT
    assumed_minutes: int = ASSUMED_MINUTES

    @property
    def changed(self) -> bool:
        return self.before != self.after


@dataclass(slots=True)
class Insight:
    apps: dict[str, AppFacts] = field(default_factory=dict)
    problems: list[PlanProblem] = field(default_factory=list)
    task_names: dict[str, str] = field(default_factory=dict)
    impact: dict[str, list[str]] = field(default_factory=dict)
    day: DayChart | None = None


def build(
    tasks: Sequence[LoadedTask],
    plan: Plan,
    state: Live,
    *,
    now: datetime,
    marker: str,
    tz: tzinfo,
    zone: str,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
) -> tuple[Insight, list[str]]:
    """The insight of `plan` against the live state it was made from (its tasks, legacy
    reload-tasks and the apps read for it), and the preflight warnings to add to the plan's own."""
    live, legacy, apps = state.tasks, state.legacy, state.apps
    checked = preflight.check(tasks, plan, live, legacy, apps, now=now, marker=marker)
    insight = Insight(
        apps=dict(apps),
        problems=checked.problems,
        task_names={str(d.get("id")): str(d.get("name")) for d in live},
        impact=impact(plan, live, marker),
        # The day's reloads only move with a change: a plan without one draws no chart.
        day=(
            day_chart(plan, live, legacy, marker, now, tz, zone, max_concurrent)
            if plan.changes
            else None
        ),
    )
    return insight, checked.warnings


def _keyed(
    docs: Sequence[tuple[Mapping[str, Any], str]],
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Downstreams by key (id, or name for a task to create), and each key's readable name."""
    keys = {str(d.get("name")): str(d.get("id") or d.get("name")) for d, _ in docs}
    down: dict[str, list[str]] = defaultdict(list)
    names: dict[str, str] = {}
    for doc, origin in docs:
        key = str(doc.get("id") or doc.get("name"))
        names[key] = str(doc.get("name")) + ("" if origin == "git" else f" [{origin}]")
        for ref, _ in run_finished_upstreams(doc):
            named = placeholder_name(ref)
            down[keys.get(named, named) if named is not None else ref].append(key)
    return down, names


def _origin_docs(
    plan: Plan, live: Sequence[Mapping[str, Any]], marker: str, after: bool
) -> list[tuple[Mapping[str, Any], str]]:
    if not after:
        return [(d, "git" if is_managed(d, marker) else "unmanaged") for d in live]
    return [
        (d, "git" if action is not None or is_managed(d, marker) else "unmanaged")
        for d, action in preflight.final_docs(plan, live)
    ]


def impact(plan: Plan, live: Sequence[Mapping[str, Any]], marker: str) -> dict[str, list[str]]:
    """Task name → the chained tasks (transitively, managed or not) whose runs move when the
    plan changes its schedule."""
    moved = [a for a in plan.actions if a.kind is Kind.UPDATE and "start" in a.fields]
    if not moved:
        return {}
    down, names = _keyed(_origin_docs(plan, live, marker, after=True))
    out: dict[str, list[str]] = {}
    for action in moved:
        seen: list[str] = []
        todo = list(down.get(str(action.task_id), []))
        while todo:
            key = todo.pop(0)
            if key in seen or key == action.task_id:
                continue
            seen.append(key)
            todo.extend(down.get(key, []))
        if seen:
            out[action.name] = [names.get(k, k) for k in seen]
    return out


def day_chart(
    plan: Plan,
    live: Sequence[Mapping[str, Any]],
    legacy: Sequence[Mapping[str, Any]] | None,
    marker: str,
    now: datetime,
    tz: tzinfo,
    zone: str,
    max_concurrent: int = DEFAULT_MAX_CONCURRENT,
) -> DayChart:
    """Reloads per hour over the next day before and after the plan, and the collisions after it."""
    # Loaded here: a plan without a change draws no chart, and does without it.
    from reconciler.reloads import Reloader, collisions, per_hour, reloaders_of, starts

    end = now + timedelta(hours=CHART_HOURS)
    migrating = {a.migrate_from for a in plan.actions if a.migrate_from}
    old_legacy = list(legacy or [])
    new_legacy = [t for t in old_legacy if t.get("id") not in migrating]
    result = DayChart(zone=zone, tz=tz, max_concurrent=max_concurrent)
    found: dict[bool, list[Collision]] = {}
    for after, legacy_docs in ((False, old_legacy), (True, new_legacy)):
        reloaders: list[Reloader] = reloaders_of(
            _origin_docs(plan, live, marker, after), legacy_docs
        )
        minutes = {r.key: ASSUMED_MINUTES * 60.0 for r in reloaders}
        runs = starts(reloaders, now, end, minutes)
        counts = per_hour(runs, now, CHART_HOURS, tz)
        if after:
            result.after = counts
        else:
            result.before = counts
        found[after] = collisions(runs, max_concurrent)
    known = {(c.kind, c.tasks) for c in found[False]}
    result.collisions = [(c, (c.kind, c.tasks) not in known) for c in found[True]]
    return result
