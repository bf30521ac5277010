"""Qlik task schedules (RRULE, cron, ISO 8601 repeating interval): checks, next runs, plain words.

A schedule is the value of a task document's `start.schedule`: a bare ISO 8601 repeating interval
string (UTC), or an object with one of `recurrence` (one RRULE), `cron` (a string or
`{expression, validUntil}`) or `interval`, plus `timezone` (IANA, default UTC), `startDateTime` and
`endDateTime` (local wall-clock times in that timezone). Everything here is pure: the caller passes
the instants (`after`, `now`); nothing reads a clock, a file of its own or the network.

How run times are computed:

- Wall time first. RRULEs and cron expressions are expanded in the task's local wall-clock time
  (Qlik reads the BY* parts in the task timezone), then each wall time becomes an instant by the
  rules of RFC 5545 section 3.3.5: a wall time that does not exist (the spring-forward gap) is read
  with the offset in force before the gap, so 02:30 on 2026-03-29 in Europe/Zurich runs at 03:30
  CEST; a wall time that happens twice (the autumn fall-back) is the first of the two, so a job at
  02:30 runs once. Two wall times that land on the same instant run once. cron uses the same policy
  (croniter iterates wall time; its own aware mode would run a daily 02:30 job twice in October).
- The RRULE's DTSTART is `startDateTime`. Without one it is local midnight of the day of `after`
  (`start` for `runs_between`): unspecified BYHOUR/BYMINUTE/BYSECOND then mean 00:00:00, and no run
  before `after` is invented. `check()` warns when a rule's rhythm depends on that start (INTERVAL>1,
  COUNT, WEEKLY without BYDAY, a missing BYHOUR, ...), since the service picks its own.
- Intervals add their duration: years, months, weeks and days in wall-clock time (P1D stays at 06:00
  local across DST), hours, minutes and seconds as elapsed time (PT24H does not). `Rn` means n runs.
  An interval without a start of its own starts at `startDateTime`, else like an RRULE above.
- Bounds: `startDateTime` is the earliest run (inclusive); `endDateTime`, the RRULE's UNTIL and the
  cron `validUntil` are the latest (inclusive; an UNTIL date without a time means its last second).
  `next_runs` returns runs strictly after `after` and at or before `until`.
- Every expansion is bounded: hourly, minutely and secondly rules are expanded a day at a time
  with a bound on the steps (`subdaily`); other rules are fast-forwarded to `after` in whole
  periods; a rule that never produces a run within a century is found once (cached) and yields
  nothing, and no call looks at more than 100,000 candidate times.

The package, one concern a module: `forms` (the issue type, keys and parsed forms), `zones`
(timezones and local times), `rrule`, `cron` and `intervals` (reading each kind, and its raw run
times), `subdaily` (sub-daily rules a day at a time), `analysis` (a schedule read once, cached by value), `expand` (runs and the DST policy),
`phrases` and `words` (plain words).
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.schedule.analysis import analyse, value_key
from reconciler.schedule.expand import expand_runs
from reconciler.schedule.forms import EXAMPLE_CRON as EXAMPLE_CRON
from reconciler.schedule.forms import EXAMPLE_INTERVAL as EXAMPLE_INTERVAL
from reconciler.schedule.forms import EXAMPLE_LOCAL as EXAMPLE_LOCAL
from reconciler.schedule.forms import EXAMPLE_RRULE as EXAMPLE_RRULE
from reconciler.schedule.forms import KEYS as KEYS
from reconciler.schedule.forms import KINDS as KINDS
from reconciler.schedule.forms import Analysis, ScheduleIssue, ScheduleValue
from reconciler.schedule.forms import Severity as Severity
from reconciler.schedule.intervals import interval_at
from reconciler.schedule.phrases import datetime_text
from reconciler.schedule.words import describe_key, raw_text
from reconciler.schedule.zones import require_aware, timezone_of

__all__ = [
    "ScheduleIssue",
    "ScheduleValue",
    "analyse",
    "check",
    "check_end_in_past",
    "describe",
    "end_in_past",
    "next_runs",
    "runs_between",
    "timezone_of",
]


def check(schedule: ScheduleValue) -> list[ScheduleIssue]:
    """Every problem of a schedule, errors and warnings, each naming the key it concerns."""
    return list(analyse(schedule).issues)


def check_end_in_past(schedule: ScheduleValue, now: datetime) -> ScheduleIssue | None:
    """A warning when the schedule's end (endDateTime, UNTIL, validUntil, last of Rn) is past."""
    return end_in_past(analyse(schedule), now)


def end_in_past(analysis: Analysis, now: datetime) -> ScheduleIssue | None:
    """`check_end_in_past` of a schedule already analysed (`analyse`)."""
    spec = analysis.spec
    if spec is None:
        return None
    now_utc = require_aware(now, "now").astimezone(UTC)
    ends = list(spec.ends)
    iv = spec.interval
    if iv is not None and iv.repetitions and (iv.start is not None or spec.start is not None):
        base = iv.start if iv.start is not None else spec.start
        assert base is not None
        ends.append(("interval", interval_at(iv, base, spec.tz, iv.repetitions - 1)))
    names = {"recurrence": "the RRULE's UNTIL", "cron": "validUntil", "interval": "the last run"}
    for field, end in ends:
        if end < now_utc:
            what = names.get(field, field)
            return ScheduleIssue(
                field,
                f"{what} ({datetime_text(end.astimezone(spec.tz))} {spec.tz_name}) is in the past: the task "
                "will not run again, and the service refuses such a schedule when a task is "
                "created; move the end forward or remove it",
                "warning",
            )
    return None


def next_runs(
    schedule: ScheduleValue, after: datetime, count: int = 3, until: datetime | None = None
) -> list[datetime]:
    """The next `count` runs strictly after `after` (and at or before `until`), in the schedule's
    timezone. Raises ValueError when `check()` finds an error or `after`/`until` is naive."""
    after_utc = require_aware(after, "after").astimezone(UTC)
    until_utc = require_aware(until, "until").astimezone(UTC) if until is not None else None
    if count <= 0:
        return []
    analysis = analyse(schedule)
    if analysis.spec is None:
        errors = [i.message for i in analysis.issues if i.severity == "error"]
        raise ValueError("invalid schedule: " + "; ".join(errors))
    return expand_runs(analysis.spec, after_utc, until_utc, count)


def runs_between(
    schedule: ScheduleValue, start: datetime, end: datetime, limit: int = 1000
) -> list[datetime]:
    """Runs in the window (start, end]: after `start`, at or before `end`; at most `limit`."""
    return next_runs(schedule, start, count=limit, until=end)


def describe(schedule: ScheduleValue) -> str:
    """Plain words for a schedule ("every weekday at 06:00 Europe/Zurich"). Never raises: a
    schedule it cannot read, or a rule too unusual to put in words, comes back as written."""
    try:
        return describe_key(value_key(schedule))
    except Exception:  # describing must never break a report
        return raw_text(schedule)
