"""The phrases plain words and messages are made of: lists, clock times, hour ranges, weekdays,
days of the month, durations and date-times."""

from __future__ import annotations

from datetime import datetime
from itertools import product

from reconciler.schedule.forms import _BYDAY, _DAYS, _Interval

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_ORDINALS |= {-1: "last", -2: "second-to-last", -3: "third-to-last"}


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
