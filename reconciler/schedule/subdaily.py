"""Sub-daily RRULEs (FREQ=HOURLY, MINUTELY, SECONDLY) expanded a day at a time, with a bound on
the work.

dateutil walks a sub-daily rule one period at a time, also through the days its BY* parts
exclude: `FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0;BYSECOND=0` runs
once in 28 years, and finding that run took dateutil tens of seconds. Here the days come from a
DAILY rule with the same day parts (cheap: one step a day), and the times of a day from the
BYHOUR x BYMINUTE x BYSECOND grid, kept when they fall on the rule's INTERVAL from its start. The
runs are the same; the work is counted (a day and each time tried, since the last run found),
and a rule that needs more than `work_bound()` steps to find its next run raises
ScheduleTooCostly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from dateutil.rrule import HOURLY, MINUTELY, SECONDLY, rrulestr

from reconciler.schedule.forms import Rule

DEFAULT_WORK_BOUND = 2_000_000
"""Steps (a day, or a time of day tried) allowed to find the next run of a sub-daily rule: about
a second of work. `RECONCILER_SCHEDULE_WORK` sets it."""

_UNIT = {HOURLY: 3600, MINUTELY: 60, SECONDLY: 1}
_DAY_PARTS = ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY", "WKST")
_bound = [DEFAULT_WORK_BOUND]


class ScheduleTooCostly(ValueError):
    """Finding the runs of a rule needs more work than the bound allows."""


def set_work_bound(steps: int) -> None:
    """Set the bound on the steps of one expansion (at least 1,000)."""
    _bound[0] = max(1_000, int(steps))


def work_bound() -> int:
    return _bound[0]


def applies(rule: Rule) -> bool:
    """Whether `rule` is expanded here: a sub-daily rule without BYSETPOS (which selects within
    each period) and without numbered weekdays (which only MONTHLY and YEARLY rules take)."""
    if rule.freq not in _UNIT or rule.get("BYSETPOS") is not None:
        return False
    days = rule.get("BYDAY") or ""
    return not any(ch.isdigit() for ch in days)


def _values(text: str | None, size: int) -> list[int]:
    if text is None:
        return list(range(size))
    return sorted({int(v) for v in text.split(",") if v.strip()})


def walls(rule: Rule, explicit: str, origin: datetime, first_day: date) -> Iterator[datetime]:
    """The wall times of `rule` (its parts written out by `explicit_rule`, without COUNT), counted
    from `origin`, from the day `first_day` on, in order."""
    parts = dict(part.split("=", 1) for part in explicit.split(";"))
    unit = _UNIT[rule.freq]
    offsets = [
        h * 3600 + m * 60 + s
        for h in _values(parts.get("BYHOUR"), 24)
        for m in _values(parts.get("BYMINUTE"), 60)
        for s in _values(parts.get("BYSECOND"), 60)
    ]
    base = origin.toordinal() * 86400 + origin.hour * 3600 + origin.minute * 60 + origin.second
    base //= unit
    day_rule = ";".join(["FREQ=DAILY"] + [f"{k}={parts[k]}" for k in _DAY_PARTS if k in parts])
    start = datetime.combine(max(first_day, origin.date()), time())
    bound = _bound[0]
    work = 0
    days = iter(rrulestr(day_rule, dtstart=start, cache=False))
    while True:
        try:
            day = next(days)
        except (StopIteration, ValueError, OverflowError):  # past year 9999
            return
        seconds = day.toordinal() * 86400
        work += len(offsets) + 1
        for offset in offsets:
            if ((seconds + offset) // unit - base) % rule.interval == 0:
                wall = day + timedelta(seconds=offset)
                if wall >= origin:
                    work = 0
                    yield wall
        if work > bound:
            raise ScheduleTooCostly(
                f"finding the runs of this RRULE takes more than {bound:,} steps (its INTERVAL "
                "rarely meets its BY* parts); use a coarser FREQ with BYHOUR/BYMINUTE, or raise "
                "RECONCILER_SCHEDULE_WORK"
            )
