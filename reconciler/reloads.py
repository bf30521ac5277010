"""The reloads of a whole tenant over a window: when each task starts, how long it runs, and where
reloads pile up.

Pure: task documents in (git's rendered ones, unmanaged and legacy ones), the window and durations
passed in. A scheduled task starts at its schedule's runs; a chained task starts when its upstream
finishes (`start + duration` of the upstream run: immediately when no duration is known); with
`when: all` it starts once every upstream has finished since its last start. A failure branch
(`status: failed`) is not expected to run and is left out.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from reconciler import schedule
from reconciler.apidoc import placeholder_name
from reconciler.apps import AppBook, app_label
from reconciler.chains import ChainGraph
from reconciler.taskdoc import app_of
from reconciler.triggers import trigger_of

MAX_STARTS_PER_TASK = 500
MIN_GAP = timedelta(minutes=15)
"""Schedules that fire more often than this are listed as collisions."""


@dataclass(frozen=True, slots=True)
class Reloader:
    """One task that reloads an app: `key` is its id (or its name while it is to be created)."""

    key: str
    name: str
    app: str
    origin: str  # "git", "unmanaged", "legacy"
    schedule: Any = None
    upstreams: tuple[str, ...] = ()
    wait_all: bool = False

    @property
    def label(self) -> str:
        return self.name if self.origin == "git" else f"{self.name} [{self.origin}]"


@dataclass(frozen=True, slots=True)
class Start:
    at: datetime
    until: datetime
    task: Reloader
    after: str | None = None  # the upstream whose finish started it


def reloaders_of(
    docs: Iterable[tuple[Mapping[str, Any], str]], legacy: Iterable[Mapping[str, Any]] = ()
) -> list[Reloader]:
    """The enabled tasks of `docs` (document, origin), and the enabled legacy reload-tasks not yet
    migrated (one per recurrence rule)."""
    docs = [(d, o) for d, o in docs if d.get("enabled") is not False]
    keys = {str(d.get("name")): str(d.get("id") or d.get("name")) for d, _ in docs}
    out: list[Reloader] = []
    for doc, origin in docs:
        trigger = trigger_of(doc)
        ups: list[str] = []
        for ref, status in trigger.upstreams:
            if status == "failed":
                continue
            named = placeholder_name(ref)
            ups.append(keys.get(named, named) if named is not None else ref)
        out.append(
            Reloader(
                key=str(doc.get("id") or doc.get("name")),
                name=str(doc.get("name")),
                app=app_of(doc) or "",
                origin=origin,
                schedule=trigger.schedule,
                upstreams=tuple(ups),
                wait_all=trigger.exclusive is False and len(ups) > 1,
            )
        )
    for old in legacy:
        if old.get("migrated") or str(old.get("state", "")).lower() != "enabled":
            continue
        for i, rule in enumerate(old.get("recurrence") or []):
            value = {"recurrence": rule, "timezone": old.get("timeZone") or "UTC"}
            for key in ("startDateTime", "endDateTime"):
                if old.get(key):
                    value[key] = old[key]
            out.append(
                Reloader(
                    key=f"legacy:{old.get('id')}:{i}",
                    name=f"legacy reload-task {old.get('id')}",
                    app=str(old.get("appId") or ""),
                    origin="legacy",
                    schedule=value,
                )
            )
    return out


def starts(
    reloaders: Sequence[Reloader],
    begin: datetime,
    end: datetime,
    durations: Mapping[str, float] | None = None,
) -> list[Start]:
    """Every start in (begin, end], in time order; `durations` (seconds, by key) say how long each
    task's reloads run."""
    durations = durations or {}
    graph = ChainGraph()
    for r in reloaders:
        graph.add(r.key, r.upstreams)
    by_key = {r.key: r for r in reloaders}
    finished: dict[str, list[datetime]] = defaultdict(list)
    out: list[Start] = []
    order = graph.order()
    rank = {key: i for i, key in enumerate(order)}
    for key in order:
        task = by_key.get(key)
        if task is None:
            continue
        length = timedelta(seconds=durations.get(key, 0.0))
        mine: list[Start] = []
        if task.schedule is not None:
            try:
                runs = schedule.runs_between(task.schedule, begin, end, limit=MAX_STARTS_PER_TASK)
            except ValueError:
                runs = []
            mine.extend(Start(at, at + length, task) for at in runs)
        for at, upstream in _chained(task, finished):
            if at <= end and len(mine) < MAX_STARTS_PER_TASK:
                mine.append(Start(at, at + length, task, by_key[upstream].name))
        finished[key] = sorted(s.until for s in mine)
        out.extend(mine)
    out.sort(key=lambda s: (s.at, rank[s.task.key]))  # at one instant, upstreams first
    return out


def _chained(task: Reloader, finished: Mapping[str, list[datetime]]) -> list[tuple[datetime, str]]:
    events = sorted((at, up) for up in task.upstreams for at in finished.get(up, []))
    if not task.wait_all:
        return events
    fired: list[tuple[datetime, str]] = []
    waiting = set(task.upstreams)
    for at, up in events:
        waiting.discard(up)
        if not waiting:
            fired.append((at, up))
            waiting = set(task.upstreams)
    return fired


def per_hour(
    found: Sequence[Start], begin: datetime, hours: int, tz: tzinfo
) -> list[tuple[datetime, int]]:
    """Reloads starting in each hour from the hour of `begin` (in `tz`), `hours` slots."""
    first = begin.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    slots = [first + timedelta(hours=i) for i in range(hours)]
    counts = [0] * hours
    for s in found:
        index = int((s.at - first).total_seconds() // 3600)
        if 0 <= index < hours:
            counts[index] += 1
    return list(zip(slots, counts, strict=True))


@dataclass(frozen=True, slots=True)
class Collision:
    """`kind`: "concurrent" (`count` reloads at once), "same-app" (reloads of `app` overlap),
    "frequent" (a schedule `count` minutes apart)."""

    kind: str
    at: datetime
    tasks: tuple[str, ...]
    count: float = 0
    app: str = ""

    def words(self, apps: AppBook, limit: int) -> str:
        names = ", ".join(self.tasks)
        if self.kind == "concurrent":
            return f"{self.count:g} reloads at once, more than {limit}: {names}"
        if self.kind == "same-app":
            return f"two reloads of app {app_label(self.app, apps)} overlap: {names}"
        return f"{names} runs every {self.count:g} minutes, more often than every 15"


def collisions(found: Sequence[Start], max_concurrent: int) -> list[Collision]:
    """Where reloads get in each other's way: more than `max_concurrent` running at once, two
    reloads of one app overlapping, a schedule firing more often than every 15 minutes."""
    return [*_crowds(found, max_concurrent), *_same_app(found), *_frequent(found)]


def _crowds(found: Sequence[Start], limit: int) -> list[Collision]:
    out: list[Collision] = []
    running: list[tuple[datetime, int, Start]] = []
    crowd_until: datetime | None = None
    for i, s in enumerate(found):
        while running and running[0][0] <= s.at:
            heapq.heappop(running)
        heapq.heappush(running, (max(s.until, s.at + timedelta(seconds=1)), i, s))
        if len(running) > limit and (crowd_until is None or s.at >= crowd_until):
            names = tuple(sorted(r[2].task.label for r in running))
            crowd_until = min(r[0] for r in running)
            out.append(Collision("concurrent", s.at, names, len(running)))
    return out


def _same_app(found: Sequence[Start]) -> list[Collision]:
    out: list[Collision] = []
    seen: set[tuple[str, ...]] = set()
    by_app: dict[str, list[Start]] = defaultdict(list)
    for s in found:
        if s.task.app:
            by_app[s.task.app].append(s)
    for app, group in by_app.items():
        for a, b in itertools.pairwise(group):
            if b.at < a.until or (b.at == a.at):
                pair = tuple(sorted({a.task.label, b.task.label}))
                if (app, *pair) in seen:
                    continue
                seen.add((app, *pair))
                out.append(Collision("same-app", b.at, pair, app=app))
    return out


def _frequent(found: Sequence[Start]) -> list[Collision]:
    out: list[Collision] = []
    by_task: dict[str, list[Start]] = defaultdict(list)
    for s in found:
        if s.after is None:
            by_task[s.task.key].append(s)
    for group in by_task.values():
        gaps = [(b.at - a.at, b) for a, b in itertools.pairwise(group)]
        short = [g for g in gaps if g[0] < MIN_GAP]
        if short:
            gap, at = min(short, key=lambda g: g[0])
            minutes = gap.total_seconds() / 60
            out.append(Collision("frequent", at.at, (at.task.label,), round(minutes, 1)))
    return out


@dataclass(frozen=True, slots=True)
class Durations:
    """How long a task's recent runs took: the median, the 90th percentile, how many runs."""

    p50: float
    p90: float
    runs: int


def durations_of(runs: Iterable[Mapping[str, Any]]) -> Durations | None:
    """p50 and p90 (nearest rank) of the finished runs' `endedAt - startedAt`, or None."""
    seconds = sorted(
        d for run in runs if (d := _seconds(run.get("startedAt"), run.get("endedAt"))) is not None
    )
    if not seconds:
        return None

    def rank(p: float) -> float:
        return seconds[max(0, math.ceil(p * len(seconds)) - 1)]

    return Durations(rank(0.5), rank(0.9), len(seconds))


def _seconds(started: Any, ended: Any) -> float | None:
    if not isinstance(started, str) or not isinstance(ended, str):
        return None
    try:
        begin = datetime.fromisoformat(started.replace("Z", "+00:00"))
        end = datetime.fromisoformat(ended.replace("Z", "+00:00"))
    except ValueError:
        return None
    if begin.tzinfo is None or end.tzinfo is None or end < begin:
        return None
    return (end - begin).total_seconds()


def peak_running(found: Sequence[Start], begin: datetime, hours: int, tz: tzinfo) -> list[int]:
    """The most reloads running at once within each hour slot (as `per_hour` lays them out)."""
    first = begin.astimezone(tz).replace(minute=0, second=0, microsecond=0)
    edges = sorted(
        [(s.at, 1) for s in found]
        + [(max(s.until, s.at + timedelta(seconds=1)), -1) for s in found],
        key=lambda e: (e[0], e[1]),
    )
    peaks = [0] * hours
    running = 0
    for at, step in edges:
        index = int((at - first).total_seconds() // 3600)
        running += step
        if step > 0 and 0 <= index < hours:
            peaks[index] = max(peaks[index], running)
    for i in range(1, hours):  # a reload running across the hour boundary counts there too
        slot = first + timedelta(hours=i)
        carried = sum(1 for s in found if s.at < slot < s.until)
        peaks[i] = max(peaks[i], carried)
    return peaks


def unscheduled(
    docs: Iterable[tuple[Mapping[str, Any], str]],
) -> tuple[list[str], list[str], list[str]]:
    """Tasks no window shows: on data update, on demand only, disabled (labels, in order)."""
    on_event: list[str] = []
    on_demand: list[str] = []
    disabled: list[str] = []
    for doc, origin in docs:
        name = str(doc.get("name"))
        label = name if origin == "git" else f"{name} [{origin}]"
        kind = trigger_of(doc).kind
        if doc.get("enabled") is False:
            disabled.append(label)
        elif kind == "data update":
            on_event.append(label)
        elif kind == "on demand":
            on_demand.append(label)
    return on_event, on_demand, disabled
