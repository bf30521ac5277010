"""cron: reading and checking a 5-field expression (or {expression, validUntil}), and its wall
times in order.

croniter (and the parts of dateutil it loads) is imported when a cron expression is first checked
or expanded: a tree without cron schedules starts without it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import lru_cache

from reconciler.schedule.forms import EXAMPLE_CRON, REFERENCE_START, Unreadable
from reconciler.schedule.zones import read_local

_CRON_MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *"}
_CRON_MACROS |= {"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *"}
_CRON_MACROS |= {"@hourly": "0 * * * *"}


def read_cron(
    value: object, tz_name: str, strict: bool
) -> tuple[tuple[str, datetime | None], list[str]]:
    valid_until: datetime | None = None
    warnings: list[str] = []
    expr = value
    if isinstance(value, Mapping):
        extra = sorted(set(value) - {"expression", "validUntil"})
        if extra:
            raise Unreadable(f"cron has unknown keys {extra}: use expression and validUntil")
        expr = value.get("expression")
        if value.get("validUntil") is not None:
            valid_until, warnings = read_local(value["validUntil"], "validUntil", tz_name, strict)
    if not isinstance(expr, str) or not expr.strip():
        raise Unreadable(
            f"cron must be a 5-field expression such as '{EXAMPLE_CRON}' (06:00 Monday to Friday),"
            " or {expression, validUntil}"
        )
    expr = " ".join(expr.split())
    error = _cron_error(expr)
    if error:
        raise Unreadable(error)
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
    from croniter import CroniterBadDateError, CroniterError, croniter

    try:
        croniter(expr, REFERENCE_START, ret_type=datetime).get_next()
    except CroniterBadDateError:
        return f"cron '{expr}' never matches a date (such as 30 February): it would never run"
    except (CroniterError, ValueError, KeyError, TypeError, IndexError) as exc:
        return f"cron '{expr}' does not parse ({exc}); {expected}"
    return ""


def cron_walls(expr: str, from_wall: datetime) -> Iterator[datetime]:
    from croniter import CroniterBadDateError, croniter

    it = croniter(expr, from_wall, ret_type=datetime)
    try:
        while True:
            yield it.get_next()
    except (CroniterBadDateError, ValueError, OverflowError):
        return
