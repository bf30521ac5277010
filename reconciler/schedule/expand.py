"""Runs from a read schedule: the bounds, where expansion starts, and the DST policy that turns
wall times into instants in order, each once."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from reconciler.schedule.cron import cron_walls
from reconciler.schedule.forms import ScheduleSpec
from reconciler.schedule.intervals import interval_instants
from reconciler.schedule.rrule import rule_walls
from reconciler.schedule.zones import localise

_MAX_SCAN = 100_000


def expand_runs(
    spec: ScheduleSpec, after_utc: datetime, until_utc: datetime | None, limit: int
) -> list[datetime]:
    tz = spec.tz
    ends = [e for _, e in spec.ends] + ([until_utc] if until_utc is not None else [])
    end_utc = min(ends) if ends else None
    start_utc = localise(spec.start, tz).astimezone(UTC) if spec.start is not None else None
    after_local = after_utc.astimezone(tz)
    # a wall time in a spring gap runs after the gap: look back by the gap that just happened
    offset_now = after_local.utcoffset() or timedelta(0)
    offset_before = (after_utc - timedelta(days=1)).astimezone(tz).utcoffset() or timedelta(0)
    from_wall = after_local.replace(tzinfo=None, fold=0) - max(
        timedelta(0), offset_now - offset_before
    )
    origin = spec.start if spec.start is not None else datetime.combine(from_wall.date(), time())
    instants: Iterator[datetime]
    if spec.interval is not None:
        base = spec.interval.start if spec.interval.start is not None else origin
        since = after_utc if start_utc is None else max(after_utc, start_utc - timedelta.resolution)
        instants = islice(interval_instants(spec.interval, base, tz, since), _MAX_SCAN)
    else:
        if spec.rule is not None:
            walls = rule_walls(spec.rule, origin, from_wall)
        else:
            if spec.start is not None and spec.start - timedelta(seconds=1) > from_wall:
                from_wall = spec.start - timedelta(seconds=1)
            walls = cron_walls(spec.cron, from_wall)
        # wall times two days before `after` are before it whatever the offsets: not localised
        floor = from_wall - timedelta(days=2)
        instants = _in_order((w for w in islice(walls, _MAX_SCAN) if w >= floor), tz)
    out: list[datetime] = []
    for instant in instants:
        if instant <= after_utc or (start_utc is not None and instant < start_utc):
            continue
        if end_utc is not None and instant > end_utc:
            break
        out.append(instant.astimezone(tz))
        if len(out) >= limit:
            break
    return out


def _in_order(walls: Iterator[datetime], tz: ZoneInfo) -> Iterator[datetime]:
    """Wall times (non-decreasing) to UTC instants, in order and without repeats. A wall time in
    a spring gap moves forward past later wall times, so runs wait in a heap until the wall times
    have passed their own."""
    pending: list[tuple[datetime, datetime]] = []  # (instant, effective wall time)
    last: datetime | None = None
    for wall in walls:
        local = localise(wall, tz)
        heapq.heappush(pending, (local.astimezone(UTC), local.replace(tzinfo=None)))
        while pending and pending[0][1] <= wall:
            instant, _ = heapq.heappop(pending)
            if instant != last:
                last = instant
                yield instant
    for instant, _ in sorted(pending):
        if instant != last:
            last = instant
            yield instant
