"""Timezones and local times: the schedule's zone (IANA names, with suggestions), local
date-times as written, and wall time to instant (RFC 5545 section 3.3.5)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import TZPATH, ZoneInfo, available_timezones

from reconciler.schedule.forms import EXAMPLE_LOCAL, ScheduleValue, Unreadable

_LOCAL = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}(?::?\d{2})?)?$"
)
UTC_NAMES = frozenset(
    {"UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"}
    | {"GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0"}
    | {"Greenwich", "Etc/Greenwich"}
)


def timezone_of(schedule: ScheduleValue) -> str:
    """The schedule's timezone name as written (UTC for a bare interval string or none given)."""
    if isinstance(schedule, Mapping):
        tz = schedule.get("timezone")
        if isinstance(tz, str) and tz.strip():
            return tz.strip()
    return "UTC"


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1024)
def is_zone(name: str) -> bool:
    """Whether `name` is one of `available_timezones()`, spelled exactly as listed there.

    Listing them opens every file of the time zone database (a sixth of the start-up of a one-task
    `validate`); a name found in a database directory, each part spelled as the directory lists
    it, is checked by opening its one file. Any other name is looked up in the full list."""
    special = name == "posixrules" or name.startswith(("right/", "posix/"))
    if not special and any(_listed_zone_file(root, name) for root in TZPATH):
        return True
    return name in _zones()


def _listed_zone_file(root: str, name: str) -> bool:
    here = root
    try:
        for part in name.split("/"):
            if part not in os.listdir(here):
                return False
            here = os.path.join(here, part)
        with open(here, "rb") as file:
            return file.read(4) == b"TZif"
    except OSError:
        return False


def read_tz(value: object) -> tuple[ZoneInfo, list[str]]:
    if not isinstance(value, str) or not value.strip():
        raise Unreadable(f"timezone must be an IANA name such as Europe/Zurich, not {value!r}")
    name = value.strip()
    if is_zone(name):
        return ZoneInfo(name), []
    message = f"timezone '{name}' is not an IANA time zone name"
    if re.match(r"^(UTC|GMT)?\s*[+-]\d", name, re.IGNORECASE):
        message += ": give a region such as Europe/Zurich, not an offset, so that daylight saving"
        message += " time is followed"
    suggestion = _suggest_zone(name)
    raise Unreadable(message + (f"; did you mean '{suggestion}'?" if suggestion else ""))


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


def read_local(value: object, field: str, tz_name: str, strict: bool) -> tuple[datetime, list[str]]:
    """A local wall time ("2026-01-01T06:00:00"); an offset only when the timezone is UTC."""
    if isinstance(value, datetime):
        value = value.isoformat()
    match = _LOCAL.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise Unreadable(
            f"{field} {value!r} is not an ISO 8601 local date-time: write it like {EXAMPLE_LOCAL}"
            " (wall-clock time in the schedule's timezone, no offset)"
        )
    try:
        local = datetime.fromisoformat(match.group(1))
    except ValueError as exc:
        raise Unreadable(f"{field} {value!r} is not a valid date-time: {exc}") from None
    if not match.group(2):
        return local, []
    if strict:
        raise Unreadable(
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


def localise(wall: datetime, tz: ZoneInfo) -> datetime:
    """Wall time to an aware datetime (RFC 5545 section 3.3.5): a nonexistent time (the spring
    gap) is read with the offset before the gap, so it moves forward by the gap; a repeated time
    (the autumn fold) is the first of the two."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC).astimezone(tz)


def require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value.isoformat()}")
    return value
