"""ISO 8601 repeating intervals: reading `R[n]/start/duration` (or a start and an end), and the
n-th run as an instant."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from reconciler.schedule.forms import EPOCH, EXAMPLE_INTERVAL, Interval, Unreadable
from reconciler.schedule.zones import localise

_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$"
)


def read_interval(value: object, bare: bool, start: datetime | None) -> tuple[Interval, list[str]]:
    what = f"the schedule {value!r}" if bare else f"interval {value!r}"
    fix = f"write it like {EXAMPLE_INTERVAL} (start, then duration) or R/PT1H"
    if not isinstance(value, str) or not value.strip():
        raise Unreadable(f"{what} is not an ISO 8601 repeating interval; {fix}")
    pieces = value.strip().upper().split("/")
    if not bare and len(pieces) == 1 and pieces[0].startswith("P"):
        pieces = ["R", *pieces]  # a bare duration repeats
    reps = re.fullmatch(r"R(\d*)", pieces[0])
    if reps is None:
        raise Unreadable(f"{what} does not repeat: {fix}")
    repetitions = int(reps.group(1)) if reps.group(1) else None
    if repetitions == 0:
        raise Unreadable(f"{what} repeats 0 times: it would never run")
    rest = pieces[1:]
    if len(rest) not in (1, 2):
        raise Unreadable(f"{what} has {len(rest)} parts after R; {fix}")
    if len(rest) == 2 and rest[0].startswith("P"):
        raise Unreadable(f"{what} ends with a date: {fix}")
    begin = _interval_time(rest[0], what, fix, bare) if len(rest) == 2 else None
    if begin is not None and begin.replace(tzinfo=None) < EPOCH:
        raise Unreadable(f"{what} starts before 1970; use a later start")
    if begin is not None and not rest[1].startswith("P"):
        finish = _interval_time(rest[1], what, fix, bare)
        if (finish.tzinfo is None) != (begin.tzinfo is None):
            raise Unreadable(f"{what}: give both ends with or without offset")
        if finish <= begin:
            raise Unreadable(f"{what}: the end must be after the start")
        iv = Interval(repetitions, begin, 0, 0, 0, finish - begin)
    else:
        duration = _DURATION.match(rest[-1])
        if duration is None:
            raise Unreadable(
                f"{what}: '{rest[-1]}' is not an ISO 8601 duration such as PT1H, P1D or P1DT12H; "
                + fix
            )
        y, mo, w, d, h, mi = (int(g) if g else 0 for g in duration.groups()[:6])
        secs = float(duration.group(7).replace(",", ".")) if duration.group(7) else 0.0
        exact = timedelta(hours=h, minutes=mi, seconds=secs)
        if not (y or mo or w or d or exact):
            raise Unreadable(f"{what} has a zero duration: it must be longer")
        iv = Interval(repetitions, begin, y, mo, w * 7 + d, exact)
    if iv.start is not None or start is not None:
        return iv, []
    return iv, [
        f"{what} has no start, so the runs depend on when the service starts counting: give "
        f"one, e.g. {EXAMPLE_INTERVAL}"
    ]


def _interval_time(text: str, what: str, fix: str, bare: bool) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Unreadable(f"{what}: '{text}' is not an ISO 8601 date-time; {fix}") from None
    return value.replace(tzinfo=UTC) if bare and value.tzinfo is None else value  # UTC assumed


def interval_at(iv: Interval, base: datetime, tz: ZoneInfo, n: int) -> datetime:
    """The n-th run (from 0) as a UTC instant; `base` is naive local wall time or an instant."""
    if not (iv.years or iv.months or iv.days):
        first = base if base.tzinfo else localise(base, tz)
        return first.astimezone(UTC) + n * iv.exact
    wall = base.astimezone(tz).replace(tzinfo=None) if base.tzinfo else base
    wall += relativedelta(years=n * iv.years, months=n * iv.months, days=n * iv.days)
    return localise(wall, tz).astimezone(UTC) + n * iv.exact


def interval_instants(
    iv: Interval, base: datetime, tz: ZoneInfo, after_utc: datetime
) -> Iterator[datetime]:
    step = (iv.years * 365.2425 + iv.months * 30.436875 + iv.days) * 86400
    step += iv.exact.total_seconds()
    first = interval_at(iv, base, tz, 0)
    n = max(0, int((after_utc - first).total_seconds() // step) - 1)
    while n > 0 and interval_at(iv, base, tz, n) > after_utc:
        n = max(0, n - 1 - n // 1000)
    while iv.repetitions is None or n < iv.repetitions:
        yield interval_at(iv, base, tz, n)
        n += 1
