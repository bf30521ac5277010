"""The schedule's shared vocabulary: ScheduleIssue, the keys and examples, and the parsed forms
(Rule, Interval, ScheduleSpec, Analysis) that the readers build and expansion and words use."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeAlias
from zoneinfo import ZoneInfo

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

# shared by the readers and the words
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
BYDAY_PART = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
EPOCH = datetime(1970, 1, 1)
# the start check() assumes when none is given: a Monday, at midnight
REFERENCE_START = datetime(2000, 1, 3)


@dataclass(frozen=True, slots=True)
class Rule:
    parts: tuple[tuple[str, str], ...]  # upper-case NAME, VALUE in the order written, without UNTIL
    freq: int
    interval: int
    count: int | None
    wkst: int
    until: datetime | None  # naive: local wall time; aware: an instant (UNTIL ended in Z)

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.parts if k == name), None)


@dataclass(frozen=True, slots=True)
class Interval:
    repetitions: int | None
    start: datetime | None  # naive: local wall time; aware: an instant
    years: int
    months: int
    days: int
    exact: timedelta  # the hours, minutes and seconds: elapsed time


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    kind: str
    tz_name: str
    tz: ZoneInfo
    start: datetime | None  # naive local wall time
    ends: tuple[tuple[str, datetime], ...]  # (field, aware instant): endDateTime, UNTIL, validUntil
    rule: Rule | None = None
    cron: str = ""
    interval: Interval | None = None


class Unreadable(ValueError):
    """A value that cannot be read: the message says what is wrong and how to fix it."""


@dataclass(frozen=True, slots=True)
class Analysis:
    spec: ScheduleSpec | None  # None when there is an error
    issues: tuple[ScheduleIssue, ...]
