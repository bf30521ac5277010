"""A schedule value read once: every issue, and the ScheduleSpec that expansion and words use when
there is no error; cached by value."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from reconciler.schedule.cron import read_cron
from reconciler.schedule.forms import (
    EPOCH,
    EXAMPLE_CRON,
    EXAMPLE_INTERVAL,
    EXAMPLE_RRULE,
    KEYS,
    KINDS,
    Analysis,
    Interval,
    Rule,
    ScheduleIssue,
    ScheduleSpec,
    Unreadable,
)
from reconciler.schedule.intervals import read_interval
from reconciler.schedule.phrases import join_words
from reconciler.schedule.rrule import read_recurrence
from reconciler.schedule.zones import UTC_NAMES, localise, read_local, read_tz, timezone_of


def analyse(schedule: object) -> Analysis:
    return analyse_key(value_key(schedule))


_ATOMS = frozenset({str, int, float, bool, type(None)})


def value_key(value: object) -> Any:
    """A hashable stand-in for a schedule value (dicts become sorted tuples), for the caches."""
    if type(value) is dict:  # the usual case, keys already text: no key is converted
        items: list[tuple[str, Any]] = []
        for k, v in value.items():
            if type(k) is not str:
                break
            items.append((k, v if type(v) in _ATOMS else value_key(v)))
        else:
            items.sort()
            return ("<map>", tuple(items))
    if isinstance(value, Mapping):
        return ("<map>", tuple(sorted((str(k), value_key(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return ("<seq>", tuple(value_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("<repr>", repr(value))
    return value


def thaw(key: Any) -> Any:
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "<map>":
        return {k: thaw(v) for k, v in key[1]}
    if isinstance(key, tuple) and len(key) == 2 and key[0] == "<seq>":
        return [thaw(v) for v in key[1]]
    return key


@lru_cache(maxsize=8192)
def analyse_key(key: Any) -> Analysis:
    value = thaw(key)
    if isinstance(value, str):
        try:
            iv, warnings = read_interval(value, True, None)
        except Unreadable as exc:
            return Analysis(None, (ScheduleIssue("", str(exc)),))
        spec = ScheduleSpec("interval", "UTC", ZoneInfo("UTC"), None, (), interval=iv)
        return Analysis(spec, tuple(ScheduleIssue("", w, "warning") for w in warnings))
    if not isinstance(value, dict):
        message = f"a schedule is an ISO 8601 repeating interval string such as {EXAMPLE_INTERVAL}"
        message += ", or an object with recurrence, cron or interval"
        return Analysis(None, (ScheduleIssue("", message),))
    return _analyse_object(value)


def _analyse_object(value: dict[str, Any]) -> Analysis:
    issues = [_unknown_key(name) for name in value if name not in KEYS]

    def read(field: str, reader: Callable[..., tuple[Any, list[str]]], *args: Any) -> Any:
        if value.get(field) is None:
            return None
        try:
            result, warnings = reader(value[field], *args)
        except Unreadable as exc:
            issues.append(ScheduleIssue(field, str(exc)))
            return None
        issues.extend(ScheduleIssue(field, w, "warning") for w in warnings)
        return result

    tz_name = timezone_of(value)
    tz: ZoneInfo = read("timezone", read_tz) or ZoneInfo("UTC")
    strict = value.get("timezone") is not None and tz_name not in UTC_NAMES  # no offsets
    start = read("startDateTime", read_local, "startDateTime", tz_name, strict)
    end = read("endDateTime", read_local, "endDateTime", tz_name, strict)
    if start is not None and start < EPOCH:
        message = f"startDateTime {value['startDateTime']} is before 1970: use a later date"
        issues.append(ScheduleIssue("startDateTime", message))
    if start is not None and end is not None and end <= start:
        message = f"endDateTime {value['endDateTime']} must be after startDateTime "
        message += f"{value['startDateTime']}: move the end later or remove it"
        issues.append(ScheduleIssue("endDateTime", message))
    present = [kind for kind in KINDS if value.get(kind) is not None]
    if len(present) > 1:
        message = (
            f"the schedule has {join_words(present)}: give exactly one of recurrence, cron or "
        )
        issues.append(ScheduleIssue("", message + "interval (use a task for each schedule)"))
    elif not present:
        message = f"the schedule says when to run with one of recurrence (such as {EXAMPLE_RRULE}"
        message += f"), cron (such as '{EXAMPLE_CRON}') or interval (such as {EXAMPLE_INTERVAL})"
        issues.append(ScheduleIssue("", message + "; it has none"))
    rule: Rule | None = read("recurrence", read_recurrence, start, tz)
    cron: tuple[str, datetime | None] | None = read("cron", read_cron, tz_name, strict)
    iv: Interval | None = read("interval", read_interval, False, start)
    if iv is not None and iv.start is not None and start is not None:
        message = "the interval carries its own start, which sets the rhythm; startDateTime then"
        message += " only holds back runs before it: keep one of the two"
        issues.append(ScheduleIssue("startDateTime", message, "warning"))
    if any(i.severity == "error" for i in issues):
        return Analysis(None, tuple(issues))
    ends = [("endDateTime", localise(end, tz))] if end is not None else []
    if rule is not None and rule.until is not None:
        until = rule.until if rule.until.tzinfo else localise(rule.until, tz)
        ends.append(("recurrence", until.astimezone(UTC)))
    if cron is not None and cron[1] is not None:
        valid_until = cron[1] if cron[1].tzinfo else localise(cron[1], tz)
        ends.append(("cron", valid_until.astimezone(UTC)))
    expr = cron[0] if cron is not None else ""
    spec = ScheduleSpec(present[0], tz_name, tz, start, tuple(ends), rule, expr, iv)
    return Analysis(spec, tuple(issues))


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
    message = f"unknown schedule key '{name}': the keys are {join_words(list(KEYS))}"
    return ScheduleIssue(name, message, "warning")
