"""The phrases plain words and messages are made of: lists, clock times, hour ranges, weekdays,
days of the month, durations and date-times."""

from __future__ import annotations

from datetime import datetime
from itertools import product

from reconciler.schedule.forms import BYDAY_PART, DAYS, Interval

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
ORDINALS |= {-1: "last", -2: "second-to-last", -3: "third-to-last"}


def ints(text: str | None) -> list[int]:
    return sorted({int(x) for x in text.split(",")}) if text else []


def join_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def every_phrase(n: int, unit: str, single: str | None = None) -> str:
    if n == 1:
        return single or f"every {unit}"
    return f"every {n} {unit}s"


def _clock(h: int, m: int, s: int) -> str:
    return f"{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def minutes_past(m: int, s: int) -> str:
    return f":{m:02d}" + (f":{s:02d}" if s else "")


def times_words(hours: list[int], minutes: list[int], seconds: list[int], *, daily: bool) -> str:
    """Clock times ("at 06:00 and 18:00", "daily" first when asked), or hour ranges when many."""
    times = sorted(product(hours, minutes, seconds))
    if len(times) <= 4:
        words = "at " + join_words([_clock(*t) for t in times])
        return f"daily {words}" if daily else words
    pasts = join_words([minutes_past(m, s) for m in minutes for s in seconds])
    return f"hourly at {pasts} during hours {number_ranges(hours)}"


def number_ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for x in sorted(numbers):
        if runs and x == runs[-1][-1] + 1:
            runs[-1].append(x)
        else:
            runs.append([x])
    return join_words([f"{r[0]:02d}" if len(r) == 1 else f"{r[0]:02d}–{r[-1]:02d}" for r in runs])


def days_words(days: list[int], *, every: bool) -> str:
    days = sorted(set(days))
    if days == list(range(7)):
        return "every day"
    if days == list(range(5)):
        return "every weekday" if every else "weekdays"
    names = join_words([DAY_NAMES[d] for d in days])
    return f"every {names}" if every else names


def monthdays_words(days: list[int]) -> str:
    if all(d > 0 for d in days):
        return ("days " if len(days) > 1 else "day ") + join_words([str(d) for d in days])
    return join_words([f"the {ORDINALS[d]} day" if d in ORDINALS else f"day {d}" for d in days])


def nth_day(token: str) -> str | None:
    m = BYDAY_PART.match(token)
    if m is None or not m.group(1):
        return None
    pos = ORDINALS.get(int(m.group(1)))
    return f"the {pos} {DAY_NAMES[DAYS.index(m.group(2))]}" if pos else None


def duration_words(iv: Interval) -> str:
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
    return join_words(words)


def datetime_text(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M" + (":%S" if dt.second else ""))
