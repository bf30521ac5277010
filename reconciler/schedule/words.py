"""Plain words for a schedule ("every weekday at 06:00 Europe/Zurich"): RRULE, cron and interval
put into a sentence, with the zone, the bounds and the count."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from dateutil.rrule import DAILY, HOURLY, MINUTELY, MONTHLY, SECONDLY, WEEKLY, YEARLY

from reconciler.schedule.analysis import analyse_key, thaw
from reconciler.schedule.forms import DAYS, KINDS, Rule
from reconciler.schedule.phrases import (
    DAY_NAMES,
    MONTH_NAMES,
    ORDINALS,
    datetime_text,
    days_words,
    duration_words,
    every_phrase,
    ints,
    join_words,
    minutes_past,
    monthdays_words,
    nth_day,
    number_ranges,
    times_words,
)
from reconciler.schedule.zones import timezone_of


def raw_text(schedule: object) -> str:
    if isinstance(schedule, Mapping):
        for kind in KINDS:
            if schedule.get(kind) is not None:
                raw = schedule[kind]
                if isinstance(raw, Mapping):
                    raw = raw.get("expression", raw)
                return f"{kind} {raw} {timezone_of(schedule)}"
    return str(schedule)


@lru_cache(maxsize=8192)
def describe_key(key: Any) -> str:
    spec = analyse_key(key).spec
    if spec is None:
        return raw_text(thaw(key))
    start_text = datetime_text(spec.start) if spec.start is not None else ""
    ends = [e.astimezone(spec.tz).replace(tzinfo=None) for f, e in spec.ends]
    end_text = datetime_text(min(ends)) if ends else ""
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
        main, zoned = f"every {duration_words(iv)}", False
        if iv.start is not None:
            local = iv.start.astimezone(spec.tz) if iv.start.tzinfo else iv.start
            start_text = datetime_text(local.replace(tzinfo=None))
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


def _describe_rule(rule: Rule, start: datetime | None) -> tuple[str, bool] | None:
    """(words, whether they name clock times or days) or None when the rule is too unusual."""
    if rule.get("BYWEEKNO") or rule.get("BYYEARDAY"):
        return None
    ref = start if start is not None else datetime(2000, 1, 1)
    freq, n = rule.freq, rule.interval
    hours = ints(rule.get("BYHOUR")) or ([ref.hour] if freq < HOURLY else [])
    minutes = ints(rule.get("BYMINUTE")) or ([ref.minute] if freq < MINUTELY else [])
    seconds = ints(rule.get("BYSECOND")) or ([ref.second] if freq < SECONDLY else [0])
    byday = [d for d in (rule.get("BYDAY") or "").split(",") if d]
    plain = [DAYS.index(d) for d in byday if d in DAYS]
    numbered = [d for d in byday if d not in DAYS]
    monthdays = ints(rule.get("BYMONTHDAY"))
    months = ints(rule.get("BYMONTH"))
    setpos = ints(rule.get("BYSETPOS"))
    in_months = f" in {join_words([MONTH_NAMES[m - 1] for m in months])}" if months else ""
    if freq >= HOURLY:
        if setpos or numbered:
            return None
        restrict = (f" on {days_words(plain, every=False)}" if plain else "") + in_months
        if monthdays:
            restrict = f" on {monthdays_words(monthdays)} of the month{restrict}"
        if hours and n == 1 and minutes and freq < SECONDLY:
            return times_words(hours, minutes, seconds, daily=True) + restrict, True
        if freq == SECONDLY and (minutes or rule.get("BYSECOND")):
            return None
        if freq == MINUTELY and minutes and n > 1:
            return None  # "every 5 minutes, only at :00 and :30" is one in six
        unit = {HOURLY: "hour", MINUTELY: "minute", SECONDLY: "second"}[freq]
        cadence = every_phrase(n, unit)
        if freq == HOURLY or (freq == MINUTELY and minutes):
            cadence = "hourly" if freq == MINUTELY or n == 1 else cadence
            cadence += " at " + join_words([minutes_past(m, s) for m in minutes for s in seconds])
        if hours:
            cadence += f" during hours {number_ranges(hours)}"
        return cadence + restrict, bool(restrict or hours)
    at = times_words(hours, minutes, seconds, daily=False)
    if setpos and not (freq == MONTHLY and len(setpos) == 1 and plain and not monthdays):
        return None
    if freq in (DAILY, WEEKLY) and not monthdays and not numbered:
        if freq == WEEKLY and not plain and start is None:
            return _at(f"{every_phrase(n, 'week', 'weekly')} on the start's weekday{in_months}", at)
        plain = plain or ([ref.weekday()] if freq == WEEKLY else [])
        if plain and n == 1:
            return _at(days_words(plain, every=True) + in_months, at)
        if plain:
            unit = "day" if freq == DAILY else "week"
            return _at(
                f"{every_phrase(n, unit)} on {days_words(plain, every=False)}{in_months}", at
            )
        return _at(every_phrase(n, "day", "daily") + in_months, at)
    if freq == MONTHLY or (freq == DAILY and n == 1 and monthdays and not byday):
        every = every_phrase(n, "month", "monthly")
        if monthdays and not byday:
            return _at(f"{every} on {monthdays_words(monthdays)}{in_months}", at)
        if setpos and plain:
            pos = ORDINALS.get(setpos[0])
            day = "weekday" if sorted(plain) == list(range(5)) else None
            day = day or (DAY_NAMES[plain[0]] if len(plain) == 1 else None)
            return _at(f"{every} on the {pos} {day}{in_months}", at) if pos and day else None
        nth = [nth_day(d) for d in numbered]
        if numbered and not plain and not monthdays and all(nth):
            return _at(f"{every} on {join_words([w for w in nth if w])}{in_months}", at)
        if plain and not numbered and not monthdays and n == 1:
            return _at(days_words(plain, every=True) + in_months, at)
        if not byday and not monthdays:
            day = f"day {start.day}" if start is not None else "the start's day of the month"
            return _at(f"{every} on {day}{in_months}", at)
        return None
    if freq == YEARLY and not byday:
        month_list = months or ([ref.month] if not monthdays else [])
        days = monthdays or [ref.day]
        if month_list and len(days) == 1 and days[0] > 0:
            dates = join_words([f"{days[0]} {MONTH_NAMES[m - 1]}" for m in month_list])
            return _at(f"{every_phrase(n, 'year', 'yearly')} on {dates}", at)
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
        return every_phrase(int(step.group(1)), "minute")
    if step and hrs:
        return f"{every_phrase(int(step.group(1)), 'minute')} during hours {number_ranges(hrs)}"
    if mins is None:
        return None
    if hour == "*":
        return "hourly at " + join_words([f":{m:02d}" for m in mins])
    hour_step = re.fullmatch(r"\*/(\d+)", hour)
    if hour_step:
        return f"{every_phrase(int(hour_step.group(1)), 'hour')} at " + join_words(
            [f":{m:02d}" for m in mins]
        )
    if hrs is None:
        return None
    return times_words(hrs, mins, [0], daily=False)


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
            return f"{DAY_NAMES[week[0]]} through {DAY_NAMES[week[-1]]}"
        return "on " + join_words([DAY_NAMES[d] for d in week])
    if dow in ("*", "?"):
        if dom.upper() == "L":
            return "on the last day of the month"
        days = _cron_list(dom, 1, 31)
        return None if days is None else f"on {monthdays_words(days)} of the month"
    return None


def _cron_months(month: str) -> str | None:
    if month in ("*", "?"):
        return ""
    months = _cron_list(month, 1, 12, _MONTH_ABBR)
    return None if months is None else "in " + join_words([MONTH_NAMES[m - 1] for m in months])


_DOW_NAMES = {"SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6}
_MONTH_ABBR = {name[:3].upper(): i + 1 for i, name in enumerate(MONTH_NAMES)}


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
