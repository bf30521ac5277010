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
- Every expansion is bounded: rules are fast-forwarded to `after` in whole periods, a rule that never
  produces a run within a century is found once (cached) and yields nothing, and no call looks at
  more than 100,000 candidate times.
"""

from __future__ import annotations

import difflib
import heapq
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from itertools import islice, product
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter
from dateutil.relativedelta import relativedelta
from dateutil.rrule import (
    DAILY,
    HOURLY,
    MINUTELY,
    MONTHLY,
    SECONDLY,
    WEEKLY,
    YEARLY,
    rrule,
    rrulestr,
)

__all__ = [
    "ScheduleIssue",
    "ScheduleValue",
    "check",
    "check_end_in_past",
    "describe",
    "next_runs",
    "runs_between",
    "timezone_of",
]

ScheduleValue: TypeAlias = str | Mapping[str, Any]
Severity: TypeAlias = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class ScheduleIssue:
    """A problem with a schedule. `field` is the schedule key it concerns, "" for the whole value."""

    field: str
    message: str
    severity: Severity = "error"


KINDS = ("recurrence", "cron", "interval")
KEYS = (*KINDS, "timezone", "startDateTime", "endDateTime")
EXAMPLE_RRULE = "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
EXAMPLE_CRON = "0 6 * * 1-5"
EXAMPLE_INTERVAL = "R/2026-01-01T06:00:00Z/PT1H"
EXAMPLE_LOCAL = "2026-01-01T06:00:00"

# in the order of dateutil's constants: YEARLY is 0, SECONDLY 6
_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY")
_RULE_PARTS = frozenset(
    {"FREQ", "UNTIL", "COUNT", "INTERVAL", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY"}
    | {"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}
)
# part: (lowest, highest, negatives allowed) -- RFC 5545 section 3.3.10
_RANGES = {
    "BYSECOND": (0, 59, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_ORDINALS |= {-1: "last", -2: "second-to-last", -3: "third-to-last"}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z)?)?$")
_LOCAL = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
_DURATION = re.compile(
    r"^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$"
)
_CRON_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *"}
_CRON_MACROS |= {"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *"}
_CRON_MACROS |= {"@hourly": "0 * * * *"}
_UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
    | {"GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0"}
    | {"Greenwich", "Etc/Greenwich"}
)
_EPOCH = datetime(1970, 1, 1)
# the start check() assumes when none is given: a Monday, at midnight
_REFERENCE = datetime(2000, 1, 3)
# rules are probed from here to year 9999, where datetime (and so dateutil's search) ends
_PROBE_TARGET = datetime(9880, 1, 1)
_MAX_SCAN = 100_000


# -- parsed forms -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rule:
    parts: tuple[tuple[str, str], ...]  # upper-case NAME, VALUE in the order written, without UNTIL
    freq: int
    interval: int
    count: int | None
    wkst: int
    until: datetime | None  # naive: local wall time; aware: an instant (UNTIL ended in Z)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.parts if k == name), None)


@dataclass(frozen=True, slots=True)
class _Interval:
    repetitions: int | None
    start: datetime | None  # naive: local wall time; aware: an instant
    years: int
    months: int
    days: int
    exact: timedelta  # the hours, minutes and seconds: elapsed time


@dataclass(frozen=True, slots=True)
class _Spec:
    kind: str
    tz_name: str
    tz: ZoneInfo
    start: datetime | None  # naive local wall time
    ends: tuple[tuple[str, datetime], ...]  # (field, aware instant): endDateTime, UNTIL, validUntil
    rule: _Rule | None = None
    cron: str = ""
    interval: _Interval | None = None


class _Invalid(ValueError):
    """A value that cannot be read: the message says what is wrong and how to fix it."""


@dataclass(frozen=True, slots=True)
class _Analysis:
    spec: _Spec | None  # None when there is an error
    issues: tuple[ScheduleIssue, ...]


# -- public API ---------------------------------------------------------------------------------


def check(schedule: ScheduleValue) -> list[ScheduleIssue]:
    """Every problem of a schedule, errors and warnings, each naming the key it concerns."""
    return list(_analyse(schedule).issues)


def check_end_in_past(schedule: ScheduleValue, now: datetime) -> ScheduleIssue | None:
    """A warning when the schedule's end (endDateTime, UNTIL, validUntil, last of Rn) is past."""
    spec = _analyse(schedule).spec
    if spec is None:
        return None
    now_utc = _aware(now, "now").astimezone(UTC)
    ends = list(spec.ends)
    iv = spec.interval
    if iv is not None and iv.repetitions and (iv.start is not None or spec.start is not None):
        base = iv.start if iv.start is not None else spec.start
        assert base is not None
        ends.append(("interval", _interval_at(iv, base, spec.tz, iv.repetitions - 1)))
    names = {"recurrence": "the RRULE's UNTIL", "cron": "validUntil", "interval": "the last run"}
    for field, end in ends:
        if end < now_utc:
            what = names.get(field, field)
            return ScheduleIssue(
                field,
                f"{what} ({_fmt(end.astimezone(spec.tz))} {spec.tz_name}) is in the past: the task "
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
    after_utc = _aware(after, "after").astimezone(UTC)
    until_utc = _aware(until, "until").astimezone(UTC) if until is not None else None
    if count <= 0:
        return []
    analysis = _analyse(schedule)
    if analysis.spec is None:
        errors = [i.message for i in analysis.issues if i.severity == "error"]
        raise ValueError("invalid schedule: " + "; ".join(errors))
    return _runs(analysis.spec, after_utc, until_utc, count)


def runs_between(
    schedule: ScheduleValue, start: datetime, end: datetime, limit: int = 1000
) -> list[datetime]:
    """Runs in the window (start, end]: after `start`, at or before `end`; at most `limit`."""
    return next_runs(schedule, start, count=limit, until=end)


def timezone_of(schedule: ScheduleValue) -> str:
    """The schedule's timezone name as written (UTC for a bare interval string or none given)."""
    if isinstance(schedule, Mapping):
        tz = schedule.get("timezone")
        if isinstance(tz, str) and tz.strip():
            return tz.strip()
    return "UTC"


def describe(schedule: ScheduleValue) -> str:
    """Plain words for a schedule ("every weekday at 06:00 Europe/Zurich"). Never raises: a
    schedule it cannot read, or a rule too unusual to put in words, comes back as written."""
    try:
        return _describe(_key(schedule))
    except Exception:  # describing must never break a report
        return _raw_text(schedule)


# -- analysis (cached by value) -----------------------------------------------------------------


def _analyse(schedule: object) -> _Analysis:
    return _analyse_key(_key(schedule))


def _key(value: object) -> Any:
    """A hashable stand-in for a schedule value (dicts become sorted tuples), for the caches."""
    if isinstance(value, Mapping):
        return ("<map>", tuple(sorted((str(k), _key(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("<seq>", tuple(_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("<repr>", repr(value))
    return value


def _thaw(key: Any) -> Any:
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "<map>":
        return {k: _thaw(v) for k, v in key[1]}
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "<seq>":
        return [_thaw(v) for v in key[1]]
    return key


@lru_cache(maxsize=8192)
def _analyse_key(key: Any) -> _Analysis:
    value = _thaw(key)
    if isinstance(value, str):
        try:
            iv, warnings = _read_interval(value, True, None)
        except _Invalid as exc:
            return _Analysis(None, (ScheduleIssue("", str(exc)),))
        spec = _Spec("interval", "UTC", ZoneInfo("UTC"), None, (), interval=iv)
        return _Analysis(spec, tuple(ScheduleIssue("", w, "warning") for w in warnings))
    if not isinstance(value, dict):
        message = f"a schedule is an ISO 8601 repeating interval string such as {EXAMPLE_INTERVAL}"
        message += ", or an object with recurrence, cron or interval"
        return _Analysis(None, (ScheduleIssue("", message),))
    return _analyse_object(value)


def _analyse_object(value: dict[str, Any]) -> _Analysis:
    issues = [_unknown_key(name) for name in value if name not in KEYS]

    def read(field: str, reader: Callable[..., tuple[Any, list[str]]], *args: Any) -> Any:
        if value.get(field) is None:
            return None
        try:
            result, warnings = reader(value[field], *args)
        except _Invalid as exc:
            issues.append(ScheduleIssue(field, str(exc)))
            return None
        issues.extend(ScheduleIssue(field, w, "warning") for w in warnings)
        return result

    tz_name = timezone_of(value)
    tz: ZoneInfo = read("timezone", _read_tz) or ZoneInfo("UTC")
    strict = value.get("timezone") is not None and tz_name not in _UTC_NAMES  # no offsets
    start = read("startDateTime", _read_local, "startDateTime", tz_name, strict)
    end = read("endDateTime", _read_local, "endDateTime", tz_name, strict)
    if start is not None and start < _EPOCH:
        message = f"startDateTime {value['startDateTime']} is before 1970: use a later date"
        issues.append(ScheduleIssue("startDateTime", message))
    if start is not None and end is not None and end <= start:
        message = f"endDateTime {value['endDateTime']} must be after startDateTime "
        message += f"{value['startDateTime']}: move the end later or remove it"
        issues.append(ScheduleIssue("endDateTime", message))
    present = [kind for kind in KINDS if value.get(kind) is not None]
    if len(present) > 1:
        message = f"the schedule has {_join(present)}: give exactly one of recurrence, cron or "
        issues.append(ScheduleIssue("", message + "interval (use a task for each schedule)"))
    elif not present:
        message = f"the schedule says when to run with one of recurrence (such as {EXAMPLE_RRULE}"
        message += f"), cron (such as '{EXAMPLE_CRON}') or interval (such as {EXAMPLE_INTERVAL})"
        issues.append(ScheduleIssue("", message + "; it has none"))
    rule: _Rule | None = read("recurrence", _read_recurrence, start, tz)
    cron: tuple[str, datetime | None] | None = read("cron", _read_cron, tz_name, strict)
    iv: _Interval | None = read("interval", _read_interval, False, start)
    if iv is not None and iv.start is not None and start is not None:
        message = "the interval carries its own start, which sets the rhythm; startDateTime then"
        message += " only holds back runs before it: keep one of the two"
        issues.append(ScheduleIssue("startDateTime", message, "warning"))
    if any(i.severity == "error" for i in issues):
        return _Analysis(None, tuple(issues))
    ends = [("endDateTime", _localise(end, tz))] if end is not None else []
    if rule is not None and rule.until is not None:
        until = rule.until if rule.until.tzinfo else _localise(rule.until, tz)
        ends.append(("recurrence", until.astimezone(UTC)))
    if cron is not None and cron[1] is not None:
        valid_until = cron[1] if cron[1].tzinfo else _localise(cron[1], tz)
        ends.append(("cron", valid_until.astimezone(UTC)))
    expr = cron[0] if cron is not None else ""
    spec = _Spec(present[0], tz_name, tz, start, tuple(ends), rule, expr, iv)
    return _Analysis(spec, tuple(issues))


def _unknown_key(name: str) -> ScheduleIssue:
    lowered = {k.lower(): k for k in KEYS}
    close = lowered.get(name.lower()) or next(
        iter(difflib.get_close_matches(name, KEYS, n=1, cutoff=0.7)), None
    )
    if close:
        legacy = " (the legacy reload-tasks API spelled it timeZone)" if name == "timeZone" else ""
        return ScheduleIssue(
            name, f"unknown schedule key '{name}': did you mean '{close}'?{legacy}"
        )
    message = f"unknown schedule key '{name}': the keys are {_join(list(KEYS))}"
    return ScheduleIssue(name, message, "warning")


# -- timezone and local times -------------------------------------------------------------------


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _read_tz(value: object) -> tuple[ZoneInfo, list[str]]:
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"timezone must be an IANA name such as Europe/Zurich, not {value!r}")
    name = value.strip()
    if name in _zones():
        return ZoneInfo(name), []
    message = f"timezone '{name}' is not an IANA time zone name"
    if re.match(r"^(UTC|GMT)?\s*[+-]\d", name, re.IGNORECASE):
        message += ": give a region such as Europe/Zurich, not an offset, so that daylight saving"
        message += " time is followed"
    suggestion = _suggest_zone(name)
    raise _Invalid(message + (f"; did you mean '{suggestion}'?" if suggestion else ""))


def _suggest_zone(name: str) -> str | None:
    by_lower = {z.lower(): z for z in sorted(_zones())}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    by_city = {z.rsplit("/", 1)[-1].lower().replace("_", " "): z for z in sorted(_zones())}
    city = name.lower().replace("_", " ")
    if city in by_city:
        return by_city[city]
    for candidates, query, table in ((by_lower, name.lower(), by_lower), (by_city, city, by_city)):
        close = difflib.get_close_matches(query, list(candidates), n=1, cutoff=0.75)
        if close:
            return table[close[0]]
    return None


def _read_local(
    value: object, field: str, tz_name: str, strict: bool
) -> tuple[datetime, list[str]]:
    """A local wall time ("2026-01-01T06:00:00"); an offset only when the timezone is UTC."""
    if isinstance(value, datetime):
        value = value.isoformat()
    match = _LOCAL.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise _Invalid(
            f"{field} {value!r} is not an ISO 8601 local date-time: write it like {EXAMPLE_LOCAL}"
            " (wall-clock time in the schedule's timezone, no offset)"
        )
    try:
        local = datetime.fromisoformat(match.group(1))
    except ValueError as exc:
        raise _Invalid(f"{field} {value!r} is not a valid date-time: {exc}") from None
    if not match.group(2):
        return local, []
    if strict:
        raise _Invalid(
            f"{field} {value} has a UTC offset while timezone is {tz_name}: write the local time "
            f"without offset, e.g. {local.isoformat()}"
        )
    offset = datetime.fromisoformat(f"2000-01-01T00:00:00{match.group(2)}").utcoffset()
    if not offset:
        return local, []
    utc = local - offset
    return utc, [
        f"{field} {value} is read as {utc.isoformat()} UTC: write UTC time without offset, or set"
        " timezone and write local time"
    ]


def _localise(wall: datetime, tz: ZoneInfo) -> datetime:
    """Wall time to an aware datetime (RFC 5545 section 3.3.5): a nonexistent time (the spring
    gap) is read with the offset before the gap, so it moves forward by the gap; a repeated time
    (the autumn fold) is the first of the two."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")
    return value


# -- RRULE --------------------------------------------------------------------------------------


def _read_recurrence(
    value: object, start: datetime | None, tz: ZoneInfo
) -> tuple[_Rule, list[str]]:
    if isinstance(value, list | tuple):
        raise _Invalid(
            f"recurrence is a list of {len(value)}: the service takes one RRULE string per task, "
            f"e.g. {EXAMPLE_RRULE}; put each rule in a task of its own"
        )
    if not isinstance(value, str):
        raise _Invalid(f"recurrence must be an RRULE string such as {EXAMPLE_RRULE}")
    rule = _parse_rule(value)
    if isinstance(rule, str):
        raise _Invalid(rule)
    if rule.until is not None and start is not None:
        until = rule.until
        until_local = until.astimezone(tz).replace(tzinfo=None) if until.tzinfo else until
        if until_local < start:
            raise _Invalid(f"the RRULE's UNTIL ({_fmt(until_local)}) is before startDateTime")
    if not _feasible(rule, start if start is not None else _REFERENCE):
        raise _Invalid(
            "this RRULE never produces a run (its BY* parts, INTERVAL and start exclude every "
            f"date and time); for example {EXAMPLE_RRULE} runs daily at 06:00"
        )
    reason = _start_dependence(rule) if start is None else ""
    if not reason:
        return rule, []
    return rule, [
        f"without startDateTime {reason}, so the runs depend on when the service starts "
        f"counting: set startDateTime (local time, e.g. {EXAMPLE_LOCAL})"
    ]


@lru_cache(maxsize=4096)
def _parse_rule(text: str) -> _Rule | str:
    """One RRULE (with or without the "RRULE:" prefix), or why not."""
    try:
        return _read_rule(text)
    except _Invalid as exc:
        return f"{exc}; a valid example: {EXAMPLE_RRULE}"


def _read_rule(text: str) -> _Rule:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise _Invalid("recurrence is empty")
    for line in lines:
        head = re.match(r"^([A-Za-z-]+)\s*[:;]", line)
        name = head.group(1).upper() if head else "RRULE"
        if name in ("DTSTART", "DTEND"):
            raise _Invalid(_no_dt(name))
        if name != "RRULE":
            raise _Invalid(f"{name} is not supported: the recurrence is one RRULE line")
    if len(lines) > 1:
        raise _Invalid(
            f"recurrence has {len(lines)} RRULE lines: the service takes one RRULE per task; put "
            "each rule in a task of its own"
        )
    parts: dict[str, str] = {}
    for piece in re.sub(r"^RRULE\s*:", "", lines[0], flags=re.IGNORECASE).strip().split(";"):
        name, sep, val = (x.strip().upper() for x in piece.partition("="))
        if not piece.strip():
            raise _Invalid("the RRULE has an empty part (a stray ';')")
        if not sep or not val:
            raise _Invalid(f"'{piece}' in the RRULE is not NAME=VALUE")
        if name in ("DTSTART", "DTEND"):
            raise _Invalid(_no_dt(name))
        if name not in _RULE_PARTS:
            close = difflib.get_close_matches(name, sorted(_RULE_PARTS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise _Invalid(f"the RRULE part {name} is unknown{hint}")
        if name in parts:
            raise _Invalid(f"the RRULE gives {name} twice")
        parts[name] = val
    # dateutil has the first word on what parses (UNTIL is read below, in local time). An INTERVAL
    # whose steps from DTSTART miss every BYHOUR is refused at construction: that depends on the
    # start, so it is left to the feasibility probe, which knows the start.
    try:
        _dateutil_parse(tuple((k, v) for k, v in parts.items() if k != "UNTIL"))
    except (ValueError, TypeError) as exc:
        try:
            _dateutil_parse(
                tuple((k, v) for k, v in parts.items() if k not in ("UNTIL", "INTERVAL"))
            )
        except (ValueError, TypeError):
            detail = _check_parts(parts)
            raise _Invalid(
                f"the RRULE does not parse: {detail} (dateutil: {exc})"
                if detail
                else f"the RRULE does not parse: {exc}"
            ) from None
    error = _check_parts(parts)  # and the RFC 5545 limits dateutil does not enforce
    if error:
        raise _Invalid(error)
    until: datetime | None = None
    if "UNTIL" in parts:
        m = _UNTIL.match(parts.pop("UNTIL"))
        if m is None:
            raise _Invalid("UNTIL must look like 20261231T235959Z (UTC) or 20261231T235959")
        try:
            until = datetime.strptime(m.group(1) + (m.group(2) or "235959"), "%Y%m%d%H%M%S")
        except ValueError as exc:
            raise _Invalid(f"UNTIL is not a valid date: {exc}") from None
        until = until.replace(tzinfo=UTC) if m.group(3) else until
    return _Rule(
        parts=tuple(parts.items()),
        freq=_FREQS.index(parts["FREQ"]),
        interval=int(parts.get("INTERVAL", "1")),
        count=int(parts["COUNT"]) if "COUNT" in parts else None,
        wkst=_DAYS.index(parts.get("WKST", "MO")),
        until=until,
    )


def _dateutil_parse(parts: tuple[tuple[str, str], ...]) -> None:
    rrulestr(";".join(f"{k}={v}" for k, v in parts), dtstart=_REFERENCE, cache=False)


def _no_dt(name: str) -> str:
    where = "endDateTime" if name == "DTEND" else "startDateTime"
    return (
        f"{name} inside the recurrence: put the {'end' if name == 'DTEND' else 'start'} in "
        f"{where} (local time, e.g. {EXAMPLE_LOCAL}) and the zone in timezone, and keep only the "
        f"RRULE line, e.g. {EXAMPLE_RRULE}"
    )


def _check_parts(parts: dict[str, str]) -> str:
    freq = parts.get("FREQ")
    if freq is None:
        return "the RRULE has no FREQ (one of " + ", ".join(_FREQS) + ")"
    if freq not in _FREQS:
        close = difflib.get_close_matches(freq, _FREQS, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"FREQ={freq} is not a frequency ({hint}one of {', '.join(_FREQS)})"
    for name in ("INTERVAL", "COUNT"):
        if name in parts and not (parts[name].isdigit() and int(parts[name]) >= 1):
            return f"{name}={parts[name]} must be a whole number of at least 1"
    if "COUNT" in parts and "UNTIL" in parts:
        return "the RRULE has both COUNT and UNTIL: RFC 5545 allows one of them"
    for name, (low, high, negative) in _RANGES.items():
        for item in parts.get(name, "").split(",") if name in parts else ():
            if not re.fullmatch(r"[+-]?\d+", item):
                return f"{name}={parts[name]}: '{item}' is not a number"
            number = int(item)
            if not (low <= number <= high or (negative and -high <= number <= -low)):
                span = f"{low}..{high}" + (f" or -{high}..-{low}" if negative else "")
                return f"{name}={parts[name]}: {number} is outside {span}"
    for item in parts["BYDAY"].split(",") if "BYDAY" in parts else ():
        m = _BYDAY.match(item)
        if m is None or (m.group(1) and not 1 <= abs(int(m.group(1))) <= 53):
            return f"BYDAY={parts['BYDAY']}: '{item}' is not a weekday such as MO, TU or 1MO"
        if m.group(1) and freq not in ("MONTHLY", "YEARLY"):
            return (
                f"BYDAY={parts['BYDAY']}: a numbered weekday ({item}) needs FREQ=MONTHLY or YEARLY"
            )
    if parts.get("WKST", "MO") not in _DAYS:
        return f"WKST={parts['WKST']} is not a weekday (MO, TU, ...)"
    return ""


def _start_dependence(rule: _Rule) -> str:
    """Why a rule's runs depend on its start, or "" when BY* parts pin every run."""
    have = {k for k, _ in rule.parts}
    day_parts = {"BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO"}
    if rule.interval > 1:
        return f"INTERVAL={rule.interval} counts from the start"
    if rule.count is not None:
        return f"COUNT={rule.count} counts from the start"
    if rule.freq == WEEKLY and "BYDAY" not in have:
        return "the weekday of a WEEKLY rule without BYDAY is the start's"
    if rule.freq in (MONTHLY, YEARLY) and not day_parts & have:
        return "the day of a MONTHLY or YEARLY rule without BYMONTHDAY or BYDAY is the start's"
    if rule.freq <= DAILY and "BYHOUR" not in have:
        return "the hour of the runs comes from the start (add BYHOUR)"
    if rule.freq <= HOURLY and "BYMINUTE" not in have:
        return "the minute of the runs comes from the start (add BYMINUTE)"
    return ""


def _explicit(rule: _Rule, origin: datetime, with_count: bool = True) -> str:
    """The rule with the defaults dateutil would take from DTSTART written out, so that the rule
    may be expanded from any later period start and give the same runs."""
    parts = dict(rule.parts)
    if not with_count:
        parts.pop("COUNT", None)
    if not {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"} & parts.keys():
        if rule.freq == YEARLY:
            parts.setdefault("BYMONTH", str(origin.month))
            parts["BYMONTHDAY"] = str(origin.day)
        elif rule.freq == MONTHLY:
            parts["BYMONTHDAY"] = str(origin.day)
        elif rule.freq == WEEKLY:
            parts["BYDAY"] = _DAYS[origin.weekday()]
    for name, coarser, field in (
        ("BYHOUR", HOURLY, origin.hour),
        ("BYMINUTE", MINUTELY, origin.minute),
        ("BYSECOND", SECONDLY, origin.second),
    ):
        if rule.freq < coarser:
            parts.setdefault(name, str(field))
    parts.setdefault("WKST", "MO")  # RFC 5545's default; dateutil would read the calendar module
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _period(freq: int, wkst: int, dt: datetime) -> int:
    """The number of the period (year, month, week from WKST, day, ...) `dt` falls in."""
    if freq == YEARLY:
        return dt.year
    if freq == MONTHLY:
        return dt.year * 12 + dt.month - 1
    day = dt.toordinal()
    if freq == WEEKLY:
        return (day - (dt.weekday() - wkst) % 7) // 7
    if freq == DAILY:
        return day
    minutes = (day * 24 + dt.hour) * 60 + dt.minute
    if freq == HOURLY:
        return minutes // 60
    return minutes if freq == MINUTELY else minutes * 60 + dt.second


def _period_start(freq: int, wkst: int, index: int) -> datetime:
    if freq == YEARLY:
        return datetime(index, 1, 1)
    if freq == MONTHLY:
        return datetime(index // 12, index % 12 + 1, 1)
    if freq == WEEKLY:
        return datetime.fromordinal(index * 7 + (wkst + 1) % 7)
    unit = {DAILY: 86400, HOURLY: 3600, MINUTELY: 60, SECONDLY: 1}[freq]
    days, seconds = divmod(index * unit, 86400)
    return datetime.fromordinal(days) + timedelta(seconds=seconds)


def _align(rule: _Rule, origin: datetime, target: datetime) -> datetime:
    """The latest start of a period of the rule (counted from `origin` in steps of INTERVAL) at or
    before `target`; `origin` itself when that is `origin`'s period."""
    first = _period(rule.freq, rule.wkst, origin)
    skip = (_period(rule.freq, rule.wkst, target) - first) // rule.interval * rule.interval
    return origin if skip <= 0 else _period_start(rule.freq, rule.wkst, first + skip)


@lru_cache(maxsize=2048)
def _build(text: str, dtstart: datetime) -> rrule | None:
    try:
        built = rrulestr(text, dtstart=dtstart, cache=False)
    except (ValueError, TypeError):  # e.g. no step of INTERVAL from the start reaches a BYHOUR
        return None
    return built if isinstance(built, rrule) else None


def _feasible(rule: _Rule, origin: datetime) -> bool:
    """Whether the rule runs at all: probed once per rule and phase, near the end of datetime's
    range so that a rule that never matches ends there (dateutil would search to year 9999)."""
    text = _explicit(rule, origin, with_count=False)
    return _probe(text, _align(rule, origin, _PROBE_TARGET))


@lru_cache(maxsize=2048)
def _probe(text: str, dtstart: datetime) -> bool:
    built = _build(text, dtstart)
    if built is None:
        return False
    try:
        return next(iter(built), None) is not None
    except (ValueError, TypeError, OverflowError):  # ran off year 9999
        return False


def _rule_walls(rule: _Rule, origin: datetime, from_wall: datetime) -> Iterator[datetime]:
    if not _feasible(rule, origin):
        return
    text = _explicit(rule, origin)
    dtstart = origin if rule.count is not None else _align(rule, origin, from_wall)
    built = _build(text, dtstart)
    if built is None:
        return
    try:
        yield from built
    except (ValueError, TypeError, OverflowError):  # ran off year 9999
        return


# -- cron ---------------------------------------------------------------------------------------


def _read_cron(
    value: object, tz_name: str, strict: bool
) -> tuple[tuple[str, datetime | None], list[str]]:
    valid_until: datetime | None = None
    warnings: list[str] = []
    expr = value
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"expression", "validUntil"})
        if extra:
            raise _Invalid(f"cron has unknown keys {extra}: use expression and validUntil")
        expr = value.get("expression")
        if value.get("validUntil") is not None:
            valid_until, warnings = _read_local(value["validUntil"], "validUntil", tz_name, strict)
    if not isinstance(expr, str) or not expr.strip():
        raise _Invalid(
            f"cron must be a 5-field expression such as '{EXAMPLE_CRON}' (06:00 Monday to Friday),"
            " or {expression, validUntil}"
        )
    expr = " ".join(expr.split())
    error = _cron_error(expr)
    if error:
        raise _Invalid(error)
    if re.search(r"[LW#?]", expr):
        warnings.append(
            f"cron '{expr}' uses a non-standard extension (L, W, # or ?): the service may not "
            "accept it"
        )
    return (expr, valid_until), warnings


@lru_cache(maxsize=4096)
def _cron_error(expr: str) -> str:
    expected = (
        "a cron expression has 5 fields: minute hour day-of-month month day-of-week, e.g. "
        f"'{EXAMPLE_CRON}' for 06:00 Monday to Friday"
    )
    if expr.lower() in _CRON_MACROS:
        return f"cron '{expr}': write '{_CRON_MACROS[expr.lower()]}' instead; {expected}"
    fields = expr.split()
    if len(fields) != 5:
        return f"cron '{expr}' has {len(fields)} fields; {expected}"
    if any("H" in f.upper() for f in fields[:3]):
        return f"cron '{expr}': hashed values (H) are not standard cron; {expected}"
    try:
        croniter(expr, _REFERENCE, ret_type=datetime).get_next()
    except CroniterBadDateError:
        return f"cron '{expr}' never matches a date (such as 30 February): it would never run"
    except (CroniterError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"cron '{expr}' does not parse ({exc}); {expected}"
    return ""


def _cron_walls(expr: str, from_wall: datetime) -> Iterator[datetime]:
    it = croniter(expr, from_wall, ret_type=datetime)
    try:
        while True:
            yield it.get_next()
    except (CroniterBadDateError, ValueError, OverflowError):
        return


# -- ISO 8601 intervals -------------------------------------------------------------------------


def _read_interval(
    value: object, bare: bool, start: datetime | None
) -> tuple[_Interval, list[str]]:
    what = f"the schedule {value!r}" if bare else f"interval {value!r}"
    fix = f"write it like {EXAMPLE_INTERVAL} (start, then duration) or R/PT1H"
    if not isinstance(value, str) or not value.strip():
        raise _Invalid(f"{what} is not an ISO 8601 repeating interval; {fix}")
    pieces = value.strip().upper().split("/")
    if not bare and len(pieces) == 1 and pieces[0].startswith("P"):
        pieces = ["R", *pieces]  # a bare duration repeats
    reps = re.fullmatch(r"R(\d*)", pieces[0])
    if reps is None:
        raise _Invalid(f"{what} does not repeat: {fix}")
    repetitions = int(reps.group(1)) if reps.group(1) else None
    if repetitions == 0:
        raise _Invalid(f"{what} repeats 0 times: it would never run")
    rest = pieces[1:]
    if len(rest) not in (1, 2):
        raise _Invalid(f"{what} has {len(rest)} parts after R; {fix}")
    if len(rest) == 2 and rest[0].startswith("P"):
        raise _Invalid(f"{what} ends with a date: {fix}")
    begin = _interval_time(rest[0], what, fix, bare) if len(rest) == 2 else None
    if begin is not None and begin.replace(tzinfo=None) < _EPOCH:
        raise _Invalid(f"{what} starts before 1970; use a later start")
    if begin is not None and not rest[1].startswith("P"):
        finish = _interval_time(rest[1], what, fix, bare)
        if (finish.tzinfo is None) != (begin.tzinfo is None):
            raise _Invalid(f"{what}: give both ends with or without offset")
        if finish <= begin:
            raise _Invalid(f"{what}: the end must be after the start")
        iv = _Interval(repetitions, begin, 0, 0, 0, finish - begin)
    else:
        duration = _DURATION.match(rest[-1])
        if duration is None:
            raise _Invalid(
                f"{what}: '{rest[-1]}' is not an ISO 8601 duration such as PT1H, P1D or P1DT12H; "
                + fix
            )
        y, mo, w, d, h, mi = (int(g) if g else 0 for g in duration.groups()[:6])
        secs = float(duration.group(7).replace(",", ".")) if duration.group(7) else 0.0
        exact = timedelta(hours=h, minutes=mi, seconds=secs)
        if not (y or mo or w or d or exact):
            raise _Invalid(f"{what} has a zero duration: it must be longer")
        iv = _Interval(repetitions, begin, y, mo, w * 7 + d, exact)
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
        raise _Invalid(f"{what}: '{text}' is not an ISO 8601 date-time; {fix}") from None
    return value.replace(tzinfo=UTC) if bare and value.tzinfo is None else value  # UTC assumed


def _interval_at(iv: _Interval, base: datetime, tz: ZoneInfo, n: int) -> datetime:
    """The n-th run (from 0) as a UTC instant; `base` is naive local wall time or an instant."""
    if not (iv.years or iv.months or iv.days):
        first = base if base.tzinfo else _localise(base, tz)
        return first.astimezone(UTC) + n * iv.exact
    wall = base.astimezone(tz).replace(tzinfo=None) if base.tzinfo else base
    wall += relativedelta(years=n * iv.years, months=n * iv.months, days=n * iv.days)
    return _localise(wall, tz).astimezone(UTC) + n * iv.exact


def _interval_instants(
    iv: _Interval, base: datetime, tz: ZoneInfo, after_utc: datetime
) -> Iterator[datetime]:
    step = (iv.years * 365.2425 + iv.months * 30.436875 + iv.days) * 86400
    step += iv.exact.total_seconds()
    first = _interval_at(iv, base, tz, 0)
    n = max(0, int((after_utc - first).total_seconds() // step) - 1)
    while n > 0 and _interval_at(iv, base, tz, n) > after_utc:
        n = max(0, n - 1 - n // 1000)
    while iv.repetitions is None or n < iv.repetitions:
        yield _interval_at(iv, base, tz, n)
        n += 1


# -- expansion ----------------------------------------------------------------------------------


def _runs(
    spec: _Spec, after_utc: datetime, until_utc: datetime | None, limit: int
) -> list[datetime]:
    tz = spec.tz
    ends = [e for _, e in spec.ends] + ([until_utc] if until_utc is not None else [])
    end_utc = min(ends) if ends else None
    start_utc = _localise(spec.start, tz).astimezone(UTC) if spec.start is not None else None
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
        instants = islice(_interval_instants(spec.interval, base, tz, since), _MAX_SCAN)
    else:
        if spec.rule is not None:
            walls = _rule_walls(spec.rule, origin, from_wall)
        else:
            if spec.start is not None and spec.start - timedelta(seconds=1) > from_wall:
                from_wall = spec.start - timedelta(seconds=1)
            walls = _cron_walls(spec.cron, from_wall)
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
        local = _localise(wall, tz)
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


# -- plain words --------------------------------------------------------------------------------


def _raw_text(schedule: object) -> str:
    if isinstance(schedule, Mapping):
        for kind in KINDS:
            if schedule.get(kind) is not None:
                raw = schedule[kind]
                if isinstance(raw, Mapping):
                    raw = raw.get("expression", raw)
                return f"{kind} {raw} {timezone_of(schedule)}"
    return str(schedule)


@lru_cache(maxsize=8192)
def _describe(key: Any) -> str:
    spec = _analyse_key(key).spec
    if spec is None:
        return _raw_text(_thaw(key))
    start_text = _fmt(spec.start) if spec.start is not None else ""
    ends = [e.astimezone(spec.tz).replace(tzinfo=None) for f, e in spec.ends]
    end_text = _fmt(min(ends)) if ends else ""
    count_text = ""
    if spec.rule is not None:
        words = _describe_rule(spec.rule, spec.start)
        if words is None:
            main, zoned = "RRULE:" + ";".join(f"{k}={v}" for k, v in spec.rule.parts), True
        else:
            main, zoned = words
        count = spec.rule.count
        count_text = "" if count is None else ("once" if count == 1 else f"{count} times")
    elif spec.interval is not None:
        iv = spec.interval
        main, zoned = f"every {_duration_words(iv)}", False
        if iv.start is not None:
            local = iv.start.astimezone(spec.tz) if iv.start.tzinfo else iv.start
            start_text = _fmt(local.replace(tzinfo=None))
        if iv.repetitions:
            count_text = "once" if iv.repetitions == 1 else f"{iv.repetitions} times"
    else:
        said = _describe_cron(spec.cron)
        main, zoned = (f"cron {spec.cron} ({said})" if said else f"cron {spec.cron}"), True
    out, zone_said = main, False
    if zoned:
        out, zone_said = f"{out} {spec.tz_name}", True
    for label, text in (("from", start_text), ("until", end_text)):
        if text:
            out += f" {label} {text}"
            if not zone_said:
                out, zone_said = f"{out} {spec.tz_name}", True
    return f"{out}, {count_text}" if count_text else out


def _describe_rule(rule: _Rule, start: datetime | None) -> tuple[str, bool] | None:
    """(words, whether they name clock times or days) or None when the rule is too unusual."""
    if rule.get("BYWEEKNO") or rule.get("BYYEARDAY"):
        return None
    ref = start if start is not None else datetime(2000, 1, 1)
    freq, n = rule.freq, rule.interval
    hours = _ints(rule.get("BYHOUR")) or ([ref.hour] if freq < HOURLY else [])
    minutes = _ints(rule.get("BYMINUTE")) or ([ref.minute] if freq < MINUTELY else [])
    seconds = _ints(rule.get("BYSECOND")) or ([ref.second] if freq < SECONDLY else [0])
    byday = [d for d in (rule.get("BYDAY") or "").split(",") if d]
    plain = [_DAYS.index(d) for d in byday if d in _DAYS]
    numbered = [d for d in byday if d not in _DAYS]
    monthdays = _ints(rule.get("BYMONTHDAY"))
    months = _ints(rule.get("BYMONTH"))
    setpos = _ints(rule.get("BYSETPOS"))
    in_months = f" in {_join([_MONTH_NAMES[m - 1] for m in months])}" if months else ""
    if freq >= HOURLY:
        if setpos or numbered:
            return None
        restrict = (f" on {_days_words(plain, every=False)}" if plain else "") + in_months
        if monthdays:
            restrict = f" on {_monthdays_words(monthdays)} of the month{restrict}"
        if hours and n == 1 and minutes and freq < SECONDLY:
            return _times_words(hours, minutes, seconds, daily=True) + restrict, True
        if freq == SECONDLY and (minutes or rule.get("BYSECOND")):
            return None
        if freq == MINUTELY and minutes and n > 1:
            return None  # "every 5 minutes, only at :00 and :30" is one in six
        unit = {HOURLY: "hour", MINUTELY: "minute", SECONDLY: "second"}[freq]
        cadence = _every(n, unit)
        if freq == HOURLY or (freq == MINUTELY and minutes):
            cadence = "hourly" if freq == MINUTELY or n == 1 else cadence
            cadence += " at " + _join([_past(m, s) for m in minutes for s in seconds])
        if hours:
            cadence += f" during hours {_ranges(hours)}"
        return cadence + restrict, bool(restrict or hours)
    at = _times_words(hours, minutes, seconds, daily=False)
    if setpos and not (freq == MONTHLY and len(setpos) == 1 and plain and not monthdays):
        return None
    if freq in (DAILY, WEEKLY) and not monthdays and not numbered:
        if freq == WEEKLY and not plain and start is None:
            return _at(f"{_every(n, 'week', 'weekly')} on the start's weekday{in_months}", at)
        plain = plain or ([ref.weekday()] if freq == WEEKLY else [])
        if plain and n == 1:
            return _at(_days_words(plain, every=True) + in_months, at)
        if plain:
            unit = "day" if freq == DAILY else "week"
            return _at(f"{_every(n, unit)} on {_days_words(plain, every=False)}{in_months}", at)
        return _at(_every(n, "day", "daily") + in_months, at)
    if freq == MONTHLY or (freq == DAILY and n == 1 and monthdays and not byday):
        every = _every(n, "month", "monthly")
        if monthdays and not byday:
            return _at(f"{every} on {_monthdays_words(monthdays)}{in_months}", at)
        if setpos and plain:
            pos = _ORDINALS.get(setpos[0])
            day = "weekday" if sorted(plain) == list(range(5)) else None
            day = day or (_DAY_NAMES[plain[0]] if len(plain) == 1 else None)
            return _at(f"{every} on the {pos} {day}{in_months}", at) if pos and day else None
        nth = [_nth_day(d) for d in numbered]
        if numbered and not plain and not monthdays and all(nth):
            return _at(f"{every} on {_join([w for w in nth if w])}{in_months}", at)
        if plain and not numbered and not monthdays and n == 1:
            return _at(_days_words(plain, every=True) + in_months, at)
        if not byday and not monthdays:
            day = f"day {start.day}" if start is not None else "the start's day of the month"
            return _at(f"{every} on {day}{in_months}", at)
        return None
    if freq == YEARLY and not byday:
        month_list = months or ([ref.month] if not monthdays else [])
        days = monthdays or [ref.day]
        if month_list and len(days) == 1 and days[0] > 0:
            dates = _join([f"{days[0]} {_MONTH_NAMES[m - 1]}" for m in month_list])
            return _at(f"{_every(n, 'year', 'yearly')} on {dates}", at)
    return None


def _at(when: str, at: str) -> tuple[str, bool]:
    """Days and times together: "every weekday at 06:00", "daily, hourly at :00 during ..."."""
    if at.startswith("at "):
        return f"{when} {at}", True
    return (at if when == "daily" else f"{when}, {at}"), True


def _describe_cron(expr: str) -> str | None:
    minute, hour, dom, month, dow = expr.split()
    parts = [_cron_time(minute, hour), _cron_days(dom, dow), _cron_months(month)]
    if any(p is None for p in parts):
        return None
    return ", ".join(p for p in parts if p)


def _cron_time(minute: str, hour: str) -> str | None:
    mins, hrs = _cron_list(minute, 0, 59), _cron_list(hour, 0, 23)
    step = re.fullmatch(r"\*/(\d+)", minute)
    if minute == "*" and hour == "*":
        return "every minute"
    if step and hour == "*":
        return _every(int(step.group(1)), "minute")
    if step and hrs:
        return f"{_every(int(step.group(1)), 'minute')} during hours {_ranges(hrs)}"
    if mins is None:
        return None
    if hour == "*":
        return "hourly at " + _join([f":{m:02d}" for m in mins])
    hour_step = re.fullmatch(r"\*/(\d+)", hour)
    if hour_step:
        return f"{_every(int(hour_step.group(1)), 'hour')} at " + _join([f":{m:02d}" for m in mins])
    if hrs is None:
        return None
    return _times_words(hrs, mins, [0], daily=False)


def _cron_days(dom: str, dow: str) -> str | None:
    if dom in ("*", "?") and dow in ("*", "?"):
        return ""
    if dom in ("*", "?"):
        days = _cron_list(dow, 0, 7, _DOW_NAMES)
        if days is None:
            return None
        week = sorted({(d - 1) % 7 for d in days})  # cron 0/7 is Sunday; ours 0 is Monday
        ranged = re.fullmatch(r"(\w+)-(\w+)", dow)
        if len(week) == 7:
            return ""
        if ranged and len(week) > 2 and week == list(range(week[0], week[-1] + 1)):
            return f"{_DAY_NAMES[week[0]]} through {_DAY_NAMES[week[-1]]}"
        return "on " + _join([_DAY_NAMES[d] for d in week])
    if dow in ("*", "?"):
        if dom.upper() == "L":
            return "on the last day of the month"
        days = _cron_list(dom, 1, 31)
        return None if days is None else f"on {_monthdays_words(days)} of the month"
    return None


def _cron_months(month: str) -> str | None:
    if month in ("*", "?"):
        return ""
    months = _cron_list(month, 1, 12, _MONTH_ABBR)
    return None if months is None else "in " + _join([_MONTH_NAMES[m - 1] for m in months])


_DOW_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_MONTH_ABBR = {name[:3].upper(): i + 1 for i, name in enumerate(_MONTH_NAMES)}


def _cron_list(
    field: str, low: int, high: int, names: Mapping[str, int] | None = None
) -> list[int] | None:
    """The values of a cron field made of numbers, names, ranges and lists; None otherwise."""
    values: list[int] = []
    for item in field.split(","):
        ends = item.split("-")
        if len(ends) > 2:
            return None
        numbers = []
        for end in ends:
            number = (names or {}).get(end.upper(), int(end) if end.isdigit() else None)
            if number is None or not low <= number <= high:
                return None
            numbers.append(number)
        if numbers[-1] < numbers[0]:
            return None
        values.extend(range(numbers[0], numbers[-1] + 1))
    return sorted(set(values))


# -- words --------------------------------------------------------------------------------------


def _ints(text: str | None) -> list[int]:
    return sorted({int(x) for x in text.split(",")}) if text else []


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _every(n: int, unit: str, single: str | None = None) -> str:
    if n == 1:
        return single or f"every {unit}"
    return f"every {n} {unit}s"


def _clock(h: int, m: int, s: int) -> str:
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _past(m: int, s: int) -> str:
    return f":{m:02d}" + (f":{s:02d}" if s else "")


def _times_words(hours: list[int], minutes: list[int], seconds: list[int], *, daily: bool) -> str:
    """Clock times ("at 06:00 and 18:00", "daily" first when asked), or hour ranges when many."""
    times = sorted(product(hours, minutes, seconds))
    if len(times) <= 4:
        words = "at " + _join([_clock(*t) for t in times])
        return f"daily {words}" if daily else words
    pasts = _join([_past(m, s) for m in minutes for s in seconds])
    return f"hourly at {pasts} during hours {_ranges(hours)}"


def _ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for x in sorted(numbers):
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return _join([f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}–{r[-1]:02d}" for r in runs])


def _days_words(days: list[int], *, every: bool) -> str:
    days = sorted(set(days))
    if days == list(range(7)):
        return "every day"
    if days == list(range(5)):
        return "every weekday" if every else "weekdays"
    names = _join([_DAY_NAMES[d] for d in days])
    return f"every {names}" if every else names


def _monthdays_words(days: list[int]) -> str:
    if all(d > 0 for d in days):
        return ("days " if len(days) > 1 else "day ") + _join([str(d) for d in days])
    return _join([f"the {_ORDINALS[d]} day" if d in _ORDINALS else f"day {d}" for d in days])


def _nth_day(token: str) -> str | None:
    m = _BYDAY.match(token)
    if m is None or not m.group(1):
        return None
    pos = _ORDINALS.get(int(m.group(1)))
    return f"the {pos} {_DAY_NAMES[_DAYS.index(m.group(2))]}" if pos else None


def _duration_words(iv: _Interval) -> str:
    weeks, days = divmod(iv.days, 7) if iv.days % 7 == 0 else (0, iv.days)
    seconds = iv.exact.total_seconds()
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        (iv.years, "year"),
        (iv.months, "month"),
        (weeks, "week"),
        (days, "day"),
        (int(hours), "hour"),
        (int(minutes), "minute"),
    ]
    words = [f"{v} {u}{'s' if v != 1 else ''}" for v, u in parts if v]
    if secs:
        words.append(f"{secs:g} second{'s' if secs != 1 else ''}")
    return _join(words)


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M" + (":%S" if dt.second else ""))
