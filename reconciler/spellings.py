"""One canonical spelling for each schedule value that a service may store in its own way.

A date-time, an RRULE or a cron expression can be written several ways with one meaning. These
functions map every spelling of one meaning to the same text, and leave a value they cannot read
exactly as it was (it is then compared as written). The normalisation table uses them on both sides.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

UTC_ZONES = frozenset(
    {"utc", "etc/utc", "zulu", "etc/zulu", "universal", "etc/universal", "gmt", "etc/gmt"}
)
"""Zone names whose local time is UTC: there an offset denotes the same wall-clock time."""


def is_utc(timezone: Any) -> bool:
    """True for an absent timezone (the service's default is UTC) or a name of UTC."""
    return timezone in (None, "") or (
        isinstance(timezone, str) and timezone.casefold() in UTC_ZONES
    )


def date_time(value: Any, timezone: Any) -> Any:
    """`value` as a wall-clock time in the schedule's `timezone`, without a redundant suffix.

    With a UTC (or absent) timezone, `06:00:00`, `06:00:00Z`, `06:00:00.000Z` and `06:00:00+00:00`
    are one time (any offset is converted to UTC). With a named timezone the time is local: a zero
    offset (`Z`, `+00:00`) or a zero fraction the service appends to it is dropped, while another
    offset is kept, so that it still compares different.
    """
    return _date_time(value, is_utc(timezone)) if isinstance(value, str) else value


@lru_cache(maxsize=4096)
def _date_time(value: str, utc: bool) -> str:
    """`date_time` of a string: a pure function of the text and whether the zone is UTC, so each
    is read once (a plan respells the same few hundred values in thousands of documents)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value
    offset = moment.utcoffset()
    if offset is not None:
        if utc:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        elif not offset:
            moment = moment.replace(tzinfo=None)
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")


RRULE_DEFAULTS = frozenset({("INTERVAL", "1"), ("WKST", "MO")})
"""Parts that state a default (RFC 5545): present or absent, the rule is the same."""

_LISTS = frozenset(
    {"BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH",
     "BYSETPOS"}
)  # fmt: skip


_ORDER = (
    "FREQ", "UNTIL", "COUNT", "INTERVAL", "BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY",
    "BYHOUR", "BYMINUTE", "BYSECOND", "BYSETPOS", "WKST",
)  # fmt: skip
_RANK = {name: i for i, name in enumerate(_ORDER)}
"""The canonical order of parts: FREQ first, then from the largest unit to the smallest, as
people write them (`FREQ=DAILY;BYHOUR=6;BYMINUTE=0`); unknown parts last, by name."""


def _item(value: str) -> tuple[int, str]:
    """A list item in canonical spelling, with a sort key: numbers as numbers (`06` is `6`)."""
    text = value.strip().upper().removeprefix("+")
    digits = text.removeprefix("-")
    if digits.isdigit():
        number = int(text)
        return number, str(number)
    head = text.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")  # BYDAY's ordinal: 1MO, -1FR
    if head and head.removeprefix("-").isdigit():
        text = str(int(head)) + text[len(head) :]
    return 0, text


def rrule(value: Any) -> Any:
    """An RRULE in canonical spelling: `RRULE:` prefix, parts upper case in `_ORDER`, list
    values sorted, numbers without leading zeros, default parts (`INTERVAL=1`, `WKST=MO`) left
    out. A rule that is not `NAME=VALUE` parts, or names a part twice, stays as written."""
    return _rrule(value) if isinstance(value, str) else value


@lru_cache(maxsize=4096)
def _rrule(value: str) -> str:
    """`rrule` of a string: a pure function of the text, so each distinct rule is respelled once."""
    text = value.strip()
    body = text[6:] if text[:6].upper() == "RRULE:" else text
    parts: dict[str, str] = {}
    for raw in body.split(";"):
        if not raw.strip():
            continue
        name, sep, part_value = raw.partition("=")
        name = name.strip().upper()
        if not sep or not name or name in parts:
            return value
        if name in _LISTS:
            items = sorted({_item(v) for v in part_value.split(",")})
            part_value = ",".join(text for _, text in items)
        elif name in ("INTERVAL", "COUNT"):
            part_value = _item(part_value)[1]
        else:
            part_value = part_value.strip().upper()
        if (name, part_value) not in RRULE_DEFAULTS:
            parts[name] = part_value
    if "FREQ" not in parts:
        return value
    ordered = sorted(parts, key=lambda name: (_RANK.get(name, len(_RANK)), name))
    return "RRULE:" + ";".join(f"{name}={parts[name]}" for name in ordered)


def cron(value: Any) -> Any:
    """A cron expression as one string with single spaces; `{expression}` without `validUntil`
    is the same as the bare expression."""
    bare = isinstance(value, dict) and set(value) <= {"expression", "validUntil"}
    if bare and value.get("validUntil") is None and isinstance(value.get("expression"), str):
        value = value["expression"]
    if isinstance(value, str):
        return " ".join(value.split())
    return value
