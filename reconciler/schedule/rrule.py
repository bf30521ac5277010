"""RRULE: reading and checking one rule (RFC 5545 section 3.3.10), whether it ever runs, and its
wall times, fast-forwarded in whole periods to where they are wanted."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

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

from reconciler.schedule import subdaily
from reconciler.schedule.forms import (
    BYDAY_PART,
    DAYS,
    EXAMPLE_LOCAL,
    EXAMPLE_RRULE,
    REFERENCE_START,
    Rule,
    Unreadable,
)
from reconciler.schedule.phrases import datetime_text

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
_UNTIL = re.compile(r"^(\d{8})(?:T(\d{6})(Z)?)?$")
# rules are probed from here to year 9999, where datetime (and so dateutil's search) ends
_PROBE_TARGET = datetime(9880, 1, 1)


def read_recurrence(value: object, start: datetime | None, tz: ZoneInfo) -> tuple[Rule, list[str]]:
    if isinstance(value, list | tuple):
        raise Unreadable(
            f"recurrence is a list of {len(value)}: the service takes one RRULE string per task, "
            f"e.g. {EXAMPLE_RRULE}; put each rule in a task of its own"
        )
    if not isinstance(value, str):
        raise Unreadable(f"recurrence must be an RRULE string such as {EXAMPLE_RRULE}")
    rule = parse_rule(value)
    if isinstance(rule, str):
        raise Unreadable(rule)
    if rule.until is not None and start is not None:
        until = rule.until
        until_local = until.astimezone(tz).replace(tzinfo=None) if until.tzinfo else until
        if until_local < start:
            raise Unreadable(
                f"the RRULE's UNTIL ({datetime_text(until_local)}) is before startDateTime"
            )
    try:
        feasible = is_feasible(rule, start if start is not None else REFERENCE_START)
        if feasible and subdaily.applies(rule):
            _first_run(rule, start if start is not None else REFERENCE_START)
    except subdaily.ScheduleTooCostly as exc:
        raise Unreadable(str(exc)) from None
    if not feasible:
        raise Unreadable(
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
def parse_rule(text: str) -> Rule | str:
    """One RRULE (with or without the "RRULE:" prefix), or why not."""
    try:
        return _read_rule(text)
    except Unreadable as exc:
        return f"{exc}; a valid example: {EXAMPLE_RRULE}"


def _read_rule(text: str) -> Rule:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        raise Unreadable("recurrence is empty")
    for line in lines:
        head = re.match(r"^([A-Za-z-]+)\s*[:;]", line)
        name = head.group(1).upper() if head else "RRULE"
        if name in ("DTSTART", "DTEND"):
            raise Unreadable(_no_dt(name))
        if name != "RRULE":
            raise Unreadable(f"{name} is not supported: the recurrence is one RRULE line")
    if len(lines) > 1:
        raise Unreadable(
            f"recurrence has {len(lines)} RRULE lines: the service takes one RRULE per task; put "
            "each rule in a task of its own"
        )
    parts: dict[str, str] = {}
    for piece in re.sub(r"^RRULE\s*:", "", lines[0], flags=re.IGNORECASE).strip().split(";"):
        name, sep, val = (x.strip().upper() for x in piece.partition("="))
        if not piece.strip():
            raise Unreadable("the RRULE has an empty part (a stray ';')")
        if not sep or not val:
            raise Unreadable(f"'{piece}' in the RRULE is not NAME=VALUE")
        if name in ("DTSTART", "DTEND"):
            raise Unreadable(_no_dt(name))
        if name not in _RULE_PARTS:
            close = difflib.get_close_matches(name, sorted(_RULE_PARTS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise Unreadable(f"the RRULE part {name} is unknown{hint}")
        if name in parts:
            raise Unreadable(f"the RRULE gives {name} twice")
        parts[name] = val
    # dateutil has the first word on what parses (UNTIL is read below, in local time). An INTERVAL
    # whose steps from DTSTART miss every BYHOUR is refused at construction: that depends on the
    # start, so it is left to the feasibility probe, which knows the start.
    try:
        dateutil_rule(tuple((k, v) for k, v in parts.items() if k != "UNTIL"))
    except (ValueError, TypeError) as exc:
        try:
            dateutil_rule(tuple((k, v) for k, v in parts.items() if k not in ("UNTIL", "INTERVAL")))
        except (ValueError, TypeError):
            detail = _check_parts(parts)
            raise Unreadable(
                f"the RRULE does not parse: {detail} (dateutil: {exc})"
                if detail
                else f"the RRULE does not parse: {exc}"
            ) from None
    error = _check_parts(parts)  # and the RFC 5545 limits dateutil does not enforce
    if error:
        raise Unreadable(error)
    until: datetime | None = None
    if "UNTIL" in parts:
        m = _UNTIL.match(parts.pop("UNTIL"))
        if m is None:
            raise Unreadable("UNTIL must look like 20261231T235959Z (UTC) or 20261231T235959")
        try:
            until = datetime.strptime(m.group(1) + (m.group(2) or "235959"), "%Y%m%d%H%M%S")
        except ValueError as exc:
            raise Unreadable(f"UNTIL is not a valid date: {exc}") from None
        until = until.replace(tzinfo=UTC) if m.group(3) else until
    return Rule(
        parts=tuple(parts.items()),
        freq=_FREQS.index(parts["FREQ"]),
        interval=int(parts.get("INTERVAL", "1")),
        count=int(parts["COUNT"]) if "COUNT" in parts else None,
        wkst=DAYS.index(parts.get("WKST", "MO")),
        until=until,
    )


@lru_cache(maxsize=4096)
def dateutil_rule(parts: tuple[tuple[str, str], ...]) -> rrule:
    """The rule as dateutil reads it, from REFERENCE_START (UNTIL is ours to read, in local time):
    the one parse of each distinct rule; every rule a run is computed from is derived from it
    (`_build`). ValueError or TypeError when dateutil refuses it."""
    built = rrulestr(";".join(f"{k}={v}" for k, v in parts), dtstart=REFERENCE_START, cache=False)
    if not isinstance(built, rrule):  # pragma: no cover - one RRULE line is never a set
        raise ValueError("not a single rule")
    return built


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
        m = BYDAY_PART.match(item)
        if m is None or (m.group(1) and not 1 <= abs(int(m.group(1))) <= 53):
            return f"BYDAY={parts['BYDAY']}: '{item}' is not a weekday such as MO, TU or 1MO"
        if m.group(1) and freq not in ("MONTHLY", "YEARLY"):
            return (
                f"BYDAY={parts['BYDAY']}: a numbered weekday ({item}) needs FREQ=MONTHLY or YEARLY"
            )
    if parts.get("WKST", "MO") not in DAYS:
        return f"WKST={parts['WKST']} is not a weekday (MO, TU, ...)"
    return ""


def _start_dependence(rule: Rule) -> str:
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


def _defaults(rule: Rule, origin: datetime, with_count: bool) -> dict[str, Any]:
    """What dateutil would take from DTSTART, taken from `origin`, as `rrule` keywords (weekdays
    as numbers; count None to drop COUNT); WKST=MO is RFC 5545's default (dateutil would read the
    calendar module)."""
    have = {k for k, _ in rule.parts}
    out: dict[str, Any] = {"count": None} if not with_count and "COUNT" in have else {}
    if not {"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"} & have:
        if rule.freq == YEARLY and "BYMONTH" not in have:
            out["bymonth"] = origin.month
        if rule.freq in (YEARLY, MONTHLY):
            out["bymonthday"] = origin.day
        elif rule.freq == WEEKLY:
            out["byweekday"] = origin.weekday()
    for name, coarser, field in (
        ("byhour", HOURLY, origin.hour),
        ("byminute", MINUTELY, origin.minute),
        ("bysecond", SECONDLY, origin.second),
    ):
        if rule.freq < coarser and name.upper() not in have:
            out[name] = field
    return out if "WKST" in have else {**out, "wkst": 0}


def explicit_rule(rule: Rule, origin: datetime, with_count: bool = True) -> str:
    """The rule with the defaults dateutil would take from DTSTART written out, so that the rule
    may be expanded from any later period start and give the same runs."""
    parts = dict(rule.parts)
    for keyword, value in _defaults(rule, origin, with_count).items():
        name = "BYDAY" if keyword == "byweekday" else keyword.upper()
        if value is None:
            del parts[name]
        else:
            parts[name] = DAYS[value] if name in ("BYDAY", "WKST") else str(value)
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


def _align(rule: Rule, origin: datetime, target: datetime) -> datetime:
    """The latest start of a period of the rule (counted from `origin` in steps of INTERVAL) at or
    before `target`; `origin` itself when that is `origin`'s period."""
    first = _period(rule.freq, rule.wkst, origin)
    skip = (_period(rule.freq, rule.wkst, target) - first) // rule.interval * rule.interval
    return origin if skip <= 0 else _period_start(rule.freq, rule.wkst, first + skip)


@lru_cache(maxsize=2048)
def _build(rule: Rule, defaults: tuple[tuple[str, Any], ...], dtstart: datetime) -> rrule | None:
    """The rule with `defaults` (`_defaults`) from `dtstart`: `explicit_rule` as dateutil would
    parse it, derived from the rule's one parse (`dateutil_rule`) instead."""
    try:
        return dateutil_rule(rule.parts).replace(dtstart=dtstart, **dict(defaults))
    except (ValueError, TypeError):  # e.g. no step of INTERVAL from the start reaches a BYHOUR
        return None


def is_feasible(rule: Rule, origin: datetime) -> bool:
    """Whether the rule runs at all: probed once per rule and phase, near the end of datetime's
    range so that a rule that never matches ends there (dateutil would search to year 9999).
    ScheduleTooCostly when a sub-daily rule needs more work than the bound to tell."""
    if subdaily.applies(rule):
        return _subdaily_probe(rule, origin, subdaily.work_bound())
    defaults = tuple(_defaults(rule, origin, with_count=False).items())
    return _probe(rule, defaults, _align(rule, origin, _PROBE_TARGET))


@lru_cache(maxsize=2048)
def _subdaily_probe(rule: Rule, origin: datetime, bound: int) -> bool:
    text = explicit_rule(rule, origin, with_count=False)
    return next(subdaily.walls(rule, text, origin, _PROBE_TARGET.date()), None) is not None


def _first_run(rule: Rule, origin: datetime) -> datetime | None:
    """The first wall time of a sub-daily rule from its start (ScheduleTooCostly if too costly)."""
    return _first_run_within(rule, origin, subdaily.work_bound())


@lru_cache(maxsize=2048)
def _first_run_within(rule: Rule, origin: datetime, bound: int) -> datetime | None:
    text = explicit_rule(rule, origin, with_count=False)
    return next(subdaily.walls(rule, text, origin, origin.date()), None)


@lru_cache(maxsize=2048)
def _probe(rule: Rule, defaults: tuple[tuple[str, Any], ...], dtstart: datetime) -> bool:
    built = _build(rule, defaults, dtstart)
    if built is None:
        return False
    try:
        return next(iter(built), None) is not None
    except (ValueError, TypeError, OverflowError):  # ran off year 9999
        return False


def rule_walls(rule: Rule, origin: datetime, from_wall: datetime) -> Iterator[datetime]:
    try:
        if not is_feasible(rule, origin):
            return
        if subdaily.applies(rule):
            text = explicit_rule(rule, origin, with_count=False)
            first = origin.date() if rule.count is not None else from_wall.date()
            walls = subdaily.walls(rule, text, origin, first)
            yield from walls if rule.count is None else islice(walls, rule.count)
            return
    except subdaily.ScheduleTooCostly:  # validate reports it; no more runs are shown
        return
    dtstart = origin if rule.count is not None else _align(rule, origin, from_wall)
    built = _build(rule, tuple(_defaults(rule, origin, with_count=True).items()), dtstart)
    if built is None:
        return
    try:
        yield from built
    except (ValueError, TypeError, OverflowError):  # ran off year 9999
        return
