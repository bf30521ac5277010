"""Legacy reload-task times to task-file times: the zone a legacy task names (or the fixed offset
its times carry, explained), and local wall-clock times without an offset. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _schedule_fields(doc: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """`timezone`, `startDateTime`, `endDateTime` for the task file, and notes on conversions."""
    notes: list[str] = []
    raw = {key: doc.get(key) for key in ("startDateTime", "endDateTime")}
    values = {k: v.strip() for k, v in raw.items() if isinstance(v, str) and v.strip()}
    parsed = {k: _parse(v) for k, v in values.items()}
    zone_name = _named_zone(doc)
    if zone_name is None:
        zone_name, note = _zone_of_offsets([p for p in parsed.values() if p is not None])
        if note:
            notes.append(note)
    out: dict[str, str] = {"timezone": zone_name}
    zone = _zone(zone_name)
    for key, text in values.items():
        moment = parsed[key]
        if moment is None:
            out[key] = text
            notes.append(f"The legacy {key} {text!r} is not a date-time: it is kept as written.")
        elif moment.tzinfo is None:
            out[key] = _local(moment)
        elif zone is None:
            out[key] = text
            notes.append(f"The legacy {key} {text!r} has an offset that cannot be converted.")
        else:
            try:
                out[key] = _local(moment.astimezone(zone).replace(tzinfo=None))
            except OverflowError:  # 9999-12-31T23:59:59-12:00 is past the last year there is
                out[key] = text
                notes.append(f"The legacy {key} {text!r} is out of range: it is kept as written.")
                continue
            if out[key] != text:
                notes.append(f"The legacy {key} {text!r} is written as {zone_name} local time.")
    return out, notes


def _named_zone(doc: Mapping[str, Any]) -> str | None:
    """The zone a legacy task names: `timeZone` (or `timezone`), else the TZID of a recurrence
    line such as `DTSTART;TZID=Europe/Zurich:20260101T060000`."""
    for key in ("timeZone", "timezone"):
        value = doc.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    lines = doc.get("recurrence")
    for line in [lines] if isinstance(lines, str) else lines if isinstance(lines, list) else []:
        found = _TZID.search(str(line))
        if found and _zone(found.group(1)) is not None:
            return found.group(1)
    return None


_TZID = re.compile(r"TZID=([A-Za-z0-9_+\-/]+)[:;]")


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _zone(name: str) -> tzinfo | None:
    if name in ("UTC", "Etc/UTC"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _zone_of_offsets(moments: Sequence[datetime]) -> tuple[str, str | None]:
    """The zone for a legacy task without `timeZone`: its times' fixed offset, as an IANA name."""
    offsets = {m.utcoffset() or timedelta(0) for m in moments if m.tzinfo is not None}
    offset = next(iter(offsets)) if len(offsets) == 1 else timedelta(0)
    note = None if len(offsets) <= 1 else "The legacy times have different offsets: UTC is used."
    if not moments or offset == timedelta(0):
        return "UTC", note
    hours, rest = divmod(offset, timedelta(hours=1))
    if rest:
        return "UTC", (
            "The legacy task has no timeZone and an offset of no whole hours: its times are "
            "written in UTC; check the rule's BYHOUR and BYMINUTE, which are now read in UTC."
        )
    # IANA's Etc zones count the other way: UTC+02:00 is Etc/GMT-2.
    sign = "+" if offset > timedelta(0) else "-"
    fixed = (
        f"The legacy task names no time zone; its times carry the fixed offset "
        f"{sign}{abs(hours):02d}:00, written as Etc/GMT{-hours:+d} (IANA's Etc zones count the "
        "other way). A fixed offset does not follow daylight saving time: if the task's zone has "
        "it (Europe/Zurich, say), set schedule.timezone to that zone."
    )
    return f"Etc/GMT{-hours:+d}", fixed if note is None else f"{note} {fixed}"


def _local(moment: datetime) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text
