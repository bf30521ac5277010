"""Schedules: checks, next runs across daylight saving time, bounds and plain words, table by table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice, pairwise
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import schedule
from reconciler.schedule.analysis import thaw, value_key

ZRH = "Europe/Zurich"
TOR = "America/Toronto"
DAILY_6 = "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0"


def at(text: str) -> datetime:
    """An aware datetime from ISO text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


def iso(runs: list[datetime]) -> list[str]:
    return [r.isoformat() for r in runs]


# -- check ------------------------------------------------------------------------------------

VALID: list[Any] = [
    {"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00"},
    {"recurrence": "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=7;BYMINUTE=30"},
    {"recurrence": "rrule:freq=hourly;byminute=20", "timezone": "UTC"},
    {"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00Z"},
    {"recurrence": DAILY_6, "timezone": "UTC", "startDateTime": "2026-01-01T06:00:00+00:00"},
    {
        "recurrence": "RRULE:FREQ=HOURLY;BYHOUR=10;BYMINUTE=20",
        "startDateTime": "2025-04-17T06:00:00",
        "endDateTime": "2025-04-18T06:00:00",
        "timezone": "UTC",
    },
    {"recurrence": DAILY_6 + ";UNTIL=20261231T235959Z", "timezone": TOR},
    {"cron": "0 6 * * 1-5", "timezone": ZRH},
    {"cron": {"expression": "*/15 * * * *", "validUntil": "2027-01-01T00:00:00"}},
    {"interval": "R/2026-01-01T06:00:00Z/PT1H"},
    {"interval": "PT1H", "startDateTime": "2026-01-01T06:00:00", "timezone": ZRH},
    "R/2026-01-01T06:00:00Z/PT1H",
    "R5/2026-01-01T00:00:00Z/P1D",
    "R/2026-01-01T00:00:00Z/2026-01-01T06:00:00Z",
]


@pytest.mark.parametrize("value", VALID)
def test_valid_schedules_have_no_issues(value: Any) -> None:
    assert schedule.check(value) == []


ERRORS: list[tuple[Any, str, str]] = [
    # (schedule, field, message fragment)
    ({"recurrence": DAILY_6, "cron": "0 6 * * *"}, "", "exactly one of recurrence, cron"),
    ({"timezone": ZRH}, "", "it has none"),
    (42, "", "ISO 8601 repeating interval string"),
    ({"recurrence": "FREQ=DAILYY"}, "recurrence", "did you mean DAILY?"),
    ({"recurrence": "FREQ=DAILYY"}, "recurrence", "dateutil: invalid 'FREQ': DAILYY"),
    ({"recurrence": "FREQ=DAILYY"}, "recurrence", "a valid example: RRULE:FREQ=DAILY"),
    ({"recurrence": "FREQ=DAILY;BYDAY=XX"}, "recurrence", "invalid 'BYDAY': XX"),
    ({"recurrence": "BYHOUR=6"}, "recurrence", "has no FREQ"),
    ({"recurrence": "FREQ=DAILY;BYHOURS=6"}, "recurrence", "did you mean BYHOUR?"),
    ({"recurrence": "FREQ=DAILY;"}, "recurrence", "stray ';'"),
    ({"recurrence": "FREQ=DAILY;BYHOUR=6;BYHOUR=7"}, "recurrence", "BYHOUR twice"),
    ({"recurrence": "DTSTART:20260101T060000\nRRULE:FREQ=DAILY"}, "recurrence", "startDateTime"),
    (
        {"recurrence": "DTSTART;TZID=Europe/Zurich:20260101T060000\nRRULE:FREQ=DAILY"},
        "recurrence",
        "put the start in startDateTime",
    ),
    ({"recurrence": "FREQ=DAILY;DTSTART=20260101T060000"}, "recurrence", "startDateTime"),
    ({"recurrence": "DTEND:20260101T060000\nRRULE:FREQ=DAILY"}, "recurrence", "endDateTime"),
    ({"recurrence": "RRULE:FREQ=DAILY\nRRULE:FREQ=WEEKLY"}, "recurrence", "one RRULE per task"),
    ({"recurrence": [DAILY_6, DAILY_6]}, "recurrence", "one RRULE string per task"),
    ({"recurrence": "EXDATE:20260101T060000\nRRULE:FREQ=DAILY"}, "recurrence", "not supported"),
    ({"recurrence": "FREQ=DAILY;INTERVAL=0"}, "recurrence", "at least 1"),
    ({"recurrence": "FREQ=DAILY;COUNT=3;UNTIL=20260101T000000Z"}, "recurrence", "COUNT and UNTIL"),
    ({"recurrence": "FREQ=DAILY;BYMONTH=13"}, "recurrence", "outside 1..12"),
    ({"recurrence": "FREQ=DAILY;BYMONTHDAY=0"}, "recurrence", "outside 1..31 or -31..-1"),
    ({"recurrence": "FREQ=DAILY;BYHOUR=25"}, "recurrence", "hour must be in 0..23"),
    ({"recurrence": "FREQ=DAILY;BYDAY=1MO"}, "recurrence", "FREQ=MONTHLY or YEARLY"),
    ({"recurrence": "FREQ=DAILY;UNTIL=2026-01-01"}, "recurrence", "UNTIL must look like"),
    (
        {"recurrence": "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYHOUR=1;BYMINUTE=0"},
        "recurrence",
        "never produces a run",
    ),
    ({"recurrence": "FREQ=HOURLY;INTERVAL=2;BYHOUR=3;BYMINUTE=0"}, "recurrence", "never produces"),
    (
        {
            "recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=MO;BYHOUR=1;BYMINUTE=0",
            "startDateTime": "2026-01-06T00:00:00",  # a Tuesday: every 7th day is never a Monday
        },
        "recurrence",
        "never produces a run",
    ),
    (
        {"recurrence": DAILY_6 + ";UNTIL=20251231T000000Z", "startDateTime": "2026-01-01T06:00:00"},
        "recurrence",
        "before startDateTime",
    ),
    ({"cron": "0 6 * *"}, "cron", "has 4 fields"),
    ({"cron": "0 6 * * * 2026"}, "cron", "minute hour day-of-month month day-of-week"),
    ({"cron": "@daily"}, "cron", "write '0 0 * * *' instead"),
    ({"cron": "61 6 * * *"}, "cron", "does not parse"),
    ({"cron": "H 6 * * *"}, "cron", "hashed"),
    ({"cron": "0 0 30 2 *"}, "cron", "never matches a date"),
    ({"cron": 5}, "cron", "5-field expression such as '0 6 * * 1-5'"),
    ({"cron": {"expr": "0 6 * * *"}}, "cron", "unknown keys ['expr']"),
    ({"cron": {"expression": "0 6 * * *", "validUntil": "soon"}}, "cron", "ISO 8601"),
    ({"interval": "PT1H/R"}, "interval", "does not repeat"),
    ({"interval": "R/PT0S"}, "interval", "zero duration"),
    ({"interval": "R/P1X"}, "interval", "not an ISO 8601 duration"),
    ({"interval": "R/PT1H/2026-01-01T00:00:00Z"}, "interval", "start, then duration"),
    ({"interval": "R0/2026-01-01T00:00:00Z/PT1H"}, "interval", "repeats 0 times"),
    ({"interval": "R/1960-01-01T00:00:00Z/PT1H"}, "interval", "before 1970"),
    ({"interval": "R/2026-01-01T06:00:00Z/2026-01-01T00:00:00Z"}, "interval", "after the start"),
    ("PT1H", "", "does not repeat: write it like R/2026-01-01T06:00:00Z/PT1H"),
    ("R/2026-13-01T00:00:00Z/PT1H", "", "not an ISO 8601 date-time"),
    (
        {"recurrence": DAILY_6, "timezone": "Europe/Zurch"},
        "timezone",
        "did you mean 'Europe/Zurich'",
    ),
    ({"recurrence": DAILY_6, "timezone": "europe/zurich"}, "timezone", "'Europe/Zurich'"),
    ({"recurrence": DAILY_6, "timezone": "Zurich"}, "timezone", "did you mean 'Europe/Zurich'"),
    ({"recurrence": DAILY_6, "timezone": "Toronto"}, "timezone", "'America/Toronto'"),
    ({"recurrence": DAILY_6, "timezone": "+01:00"}, "timezone", "not an offset"),
    ({"recurrence": DAILY_6, "timezone": ""}, "timezone", "IANA name"),
    (
        {"recurrence": DAILY_6, "startDateTime": "2026-01-01"},
        "startDateTime",
        "2026-01-01T06:00:00",
    ),
    (
        {"recurrence": DAILY_6, "startDateTime": "2026-13-01T06:00:00"},
        "startDateTime",
        "month must be in 1..12",
    ),
    (
        {"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00+01:00"},
        "startDateTime",
        "write the local time without offset, e.g. 2026-01-01T06:00:00",
    ),
    (
        {"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00Z"},
        "startDateTime",
        "offset while timezone is Europe/Zurich",
    ),
    ({"recurrence": DAILY_6, "startDateTime": "1969-12-31T23:00:00"}, "startDateTime", "1970"),
    (
        {
            "recurrence": DAILY_6,
            "startDateTime": "2026-01-01T06:00:00",
            "endDateTime": "2026-01-01T06:00:00",
        },
        "endDateTime",
        "must be after startDateTime",
    ),
    ({"recurrence": DAILY_6, "endDateTime": 7}, "endDateTime", "ISO 8601 local date-time"),
    ({"recurrence": DAILY_6, "timeZone": ZRH}, "timeZone", "did you mean 'timezone'?"),
    (
        {"recurrence": DAILY_6, "startdatetime": "2026-01-01T06:00:00"},
        "startdatetime",
        "did you mean 'startDateTime'?",
    ),
]


@pytest.mark.parametrize(("value", "field", "fragment"), ERRORS)
def test_errors_name_the_field_and_the_fix(value: Any, field: str, fragment: str) -> None:
    errors = [i for i in schedule.check(value) if i.severity == "error"]
    assert any(i.field == field and fragment in i.message for i in errors), errors
    with pytest.raises(ValueError, match="invalid schedule"):
        schedule.next_runs(value, at("2026-01-01T00:00:00+00:00"))


WARNINGS: list[tuple[Any, str, str]] = [
    ({"recurrence": "FREQ=WEEKLY;BYHOUR=6;BYMINUTE=0"}, "recurrence", "weekday"),
    ({"recurrence": "FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=0"}, "recurrence", "INTERVAL=2"),
    ({"recurrence": "FREQ=DAILY;COUNT=5;BYHOUR=6;BYMINUTE=0"}, "recurrence", "COUNT=5"),
    ({"recurrence": "FREQ=DAILY"}, "recurrence", "add BYHOUR"),
    ({"recurrence": "FREQ=MONTHLY;BYHOUR=6;BYMINUTE=0"}, "recurrence", "BYMONTHDAY"),
    (
        {"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00+01:00"},
        "startDateTime",
        "read as 2026-01-01T05:00:00 UTC",
    ),
    ("R/PT1H", "", "no start"),
    ({"interval": "R/P1D"}, "interval", "no start"),
    (
        {"interval": "R/2026-01-01T06:00:00Z/PT1H", "startDateTime": "2026-01-01T06:00:00"},
        "startDateTime",
        "keep one of the two",
    ),
    ({"cron": "0 6 L * *"}, "cron", "non-standard"),
    ({"recurrence": DAILY_6, "color": "red"}, "color", "the keys are"),
]


@pytest.mark.parametrize(("value", "field", "fragment"), WARNINGS)
def test_warnings_leave_the_schedule_usable(value: Any, field: str, fragment: str) -> None:
    issues = schedule.check(value)
    assert all(i.severity == "warning" for i in issues), issues
    assert any(i.field == field and fragment in i.message for i in issues), issues
    assert schedule.next_runs(value, at("2026-01-01T00:00:00+00:00"))


NOW = at("2026-06-01T00:00:00+00:00")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"recurrence": DAILY_6, "endDateTime": "2026-05-01T00:00:00"}, "endDateTime"),
        ({"recurrence": DAILY_6 + ";UNTIL=20260501T000000Z"}, "recurrence"),
        ({"cron": {"expression": "0 6 * * *", "validUntil": "2026-05-01T00:00:00"}}, "cron"),
        ("R5/2026-01-01T00:00:00Z/P1D", "interval"),
        ({"interval": "R3/PT1H", "startDateTime": "2026-01-01T00:00:00"}, "interval"),
    ],
)
def test_an_end_in_the_past_is_a_warning(value: Any, field: str) -> None:
    issue = schedule.check_end_in_past(value, NOW)
    assert issue is not None
    assert (issue.severity, issue.field) == ("warning", field)
    assert "in the past" in issue.message


@pytest.mark.parametrize(
    "value",
    [
        {"recurrence": DAILY_6, "endDateTime": "2026-07-01T00:00:00"},
        {"recurrence": DAILY_6},
        "R/2026-01-01T00:00:00Z/P1D",
        {"recurrence": "nonsense", "endDateTime": "2020-01-01T00:00:00"},  # invalid: check() says
    ],
)
def test_an_end_ahead_or_absent_is_fine(value: Any) -> None:
    assert schedule.check_end_in_past(value, NOW) is None


# -- next runs across daylight saving time ----------------------------------------------------

DST: list[tuple[Any, str, list[str]]] = [
    # Europe/Zurich: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00
    ({"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00"},
     "2026-03-27T12:00:00+01:00",
     ["2026-03-28T06:00:00+01:00", "2026-03-29T06:00:00+02:00", "2026-03-30T06:00:00+02:00"]),
    ({"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00"},
     "2026-10-23T12:00:00+02:00",
     ["2026-10-24T06:00:00+02:00", "2026-10-25T06:00:00+01:00", "2026-10-26T06:00:00+01:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0", "timezone": ZRH},
     "2026-03-28T12:00:00+01:00",  # 02:30 does not exist on the 29th: the gap moves it to 03:30
     ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0", "timezone": ZRH},
     "2026-03-29T03:10:00+02:00",  # after the gap but before the moved run
     ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0", "timezone": ZRH},
     "2026-10-24T12:00:00+02:00",  # 02:30 happens twice on the 25th: it runs once, the first time
     ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
    ({"recurrence": "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0", "timezone": ZRH},
     "2026-03-29T00:30:00+01:00",
     ["2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"]),
    ({"recurrence": "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0", "timezone": ZRH},
     "2026-10-25T01:30:00+02:00",
     ["2026-10-25T02:00:00+02:00", "2026-10-25T03:00:00+01:00", "2026-10-25T04:00:00+01:00"]),
    ({"recurrence": "FREQ=MINUTELY;INTERVAL=15;BYSECOND=0", "timezone": ZRH,
      "startDateTime": "2026-01-01T00:00:00"},
     "2026-10-25T02:40:00+01:00",  # `after` in the repeated hour, second time round
     ["2026-10-25T03:00:00+01:00", "2026-10-25T03:15:00+01:00"]),
    ({"cron": "0 6 * * *", "timezone": ZRH}, "2026-03-28T12:00:00+01:00",
     ["2026-03-29T06:00:00+02:00", "2026-03-30T06:00:00+02:00"]),
    ({"cron": "0 6 * * *", "timezone": ZRH}, "2026-10-24T12:00:00+02:00",
     ["2026-10-25T06:00:00+01:00", "2026-10-26T06:00:00+01:00"]),
    ({"cron": "30 2 * * *", "timezone": ZRH}, "2026-03-28T12:00:00+01:00",
     ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"]),
    ({"cron": "30 2 * * *", "timezone": ZRH}, "2026-10-24T12:00:00+02:00",
     ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]),
    ({"cron": "*/30 * * * *", "timezone": ZRH}, "2026-03-29T01:00:00+01:00",
     ["2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]),
    # America/Toronto: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00
    ({"recurrence": DAILY_6, "timezone": TOR}, "2026-03-07T12:00:00-05:00",
     ["2026-03-08T06:00:00-04:00", "2026-03-09T06:00:00-04:00"]),
    ({"recurrence": DAILY_6, "timezone": TOR}, "2026-10-31T12:00:00-04:00",
     ["2026-11-01T06:00:00-05:00", "2026-11-02T06:00:00-05:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0", "timezone": TOR},
     "2026-03-07T12:00:00-05:00", ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=1;BYMINUTE=30;BYSECOND=0", "timezone": TOR},
     "2026-10-31T12:00:00-04:00", ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
    ({"cron": "30 1 * * *", "timezone": TOR}, "2026-10-31T12:00:00-04:00",
     ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]),
    ({"cron": "30 2 * * *", "timezone": TOR}, "2026-03-07T12:00:00-05:00",
     ["2026-03-08T03:30:00-04:00", "2026-03-09T02:30:00-04:00"]),
    ({"cron": "0 6 * * 1-5", "timezone": TOR}, "2026-03-06T12:00:00-05:00",  # a Friday
     ["2026-03-09T06:00:00-04:00", "2026-03-10T06:00:00-04:00"]),
    ({"interval": "P1D", "timezone": ZRH, "startDateTime": "2026-03-27T06:00:00"},
     "2026-03-27T12:00:00+01:00",  # days are calendar days: 06:00 stays 06:00
     ["2026-03-28T06:00:00+01:00", "2026-03-29T06:00:00+02:00"]),
    ({"interval": "PT24H", "timezone": ZRH, "startDateTime": "2026-03-27T06:00:00"},
     "2026-03-27T12:00:00+01:00",  # hours are elapsed time
     ["2026-03-28T06:00:00+01:00", "2026-03-29T07:00:00+02:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("value", "after", "expected"), DST)
def test_next_runs_across_dst(value: Any, after: str, expected: list[str]) -> None:
    assert schedule.check(value) == [] or all(
        i.severity == "warning" for i in schedule.check(value)
    )
    assert iso(schedule.next_runs(value, at(after), count=len(expected))) == expected


def test_results_are_in_the_schedule_timezone() -> None:
    runs = schedule.next_runs({"cron": "0 6 * * *", "timezone": ZRH}, at("2026-01-01T00:00:00Z"))
    assert all(r.tzinfo == ZoneInfo(ZRH) for r in runs)


# -- bounds, counts, intervals ------------------------------------------------------------------

BOUNDS: list[tuple[Any, str, list[str]]] = [
    ({"recurrence": DAILY_6, "startDateTime": "2026-06-01T06:00:00"},
     "2026-01-01T00:00:00+00:00", ["2026-06-01T06:00:00+00:00", "2026-06-02T06:00:00+00:00"]),
    ({"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00",
      "endDateTime": "2026-01-03T06:00:00"},  # the end is inclusive
     "2025-12-31T00:00:00+00:00",
     ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00", "2026-01-03T06:00:00+00:00"]),
    ({"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00",
      "endDateTime": "2026-01-03T05:59:59"},
     "2025-12-31T00:00:00+00:00", ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00"]),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102T060000Z", "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-31T00:00:00+00:00", ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00"]),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102", "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-31T00:00:00+00:00", ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00"]),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102T060000", "timezone": ZRH,  # local UNTIL
      "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-31T00:00:00+00:00", ["2026-01-01T06:00:00+01:00", "2026-01-02T06:00:00+01:00"]),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102T050000Z", "timezone": ZRH,  # UTC UNTIL = 06:00 CET
      "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-31T00:00:00+00:00", ["2026-01-01T06:00:00+01:00", "2026-01-02T06:00:00+01:00"]),
    ({"recurrence": DAILY_6 + ";COUNT=3", "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-01T00:00:00+00:00",
     ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00", "2026-01-03T06:00:00+00:00"]),
    ({"recurrence": DAILY_6 + ";COUNT=3", "startDateTime": "2026-01-01T06:00:00"},
     "2026-01-02T12:00:00+00:00", ["2026-01-03T06:00:00+00:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=6;BYMINUTE=0"},  # no start: from midnight of `after`'s day
     "2026-01-01T07:00:00+00:00", ["2026-01-02T06:00:00+00:00"]),
    ({"recurrence": "FREQ=DAILY;BYHOUR=6;BYMINUTE=0"},
     "2026-01-01T05:00:00+00:00", ["2026-01-01T06:00:00+00:00"]),
    ({"recurrence": "FREQ=HOURLY;INTERVAL=2;BYHOUR=3;BYMINUTE=0", "startDateTime":
      "2026-01-01T01:00:00"},  # odd hours from 01:00 reach 03:00
     "2026-01-05T00:00:00+00:00", ["2026-01-05T03:00:00+00:00", "2026-01-06T03:00:00+00:00"]),
    ({"recurrence": "FREQ=DAILY;INTERVAL=7;BYDAY=MO;BYHOUR=1;BYMINUTE=0",
      "startDateTime": "2026-01-05T00:00:00"},  # a Monday this time
     "2026-01-05T12:00:00+00:00", ["2026-01-12T01:00:00+00:00", "2026-01-19T01:00:00+00:00"]),
    ({"recurrence": "FREQ=MINUTELY;INTERVAL=7", "startDateTime": "2000-01-01T00:00:00"},
     "2026-01-01T00:00:00+00:00",  # 13,675,680 minutes later: fast-forwarded, not iterated
     ["2026-01-01T00:03:00+00:00", "2026-01-01T00:10:00+00:00"]),
    ({"recurrence": "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0",
      "timezone": TOR, "startDateTime": "2022-09-19T11:18:00"},  # 172 weeks later: a run week
     "2026-01-01T00:00:00-05:00",
     ["2026-01-05T13:17:00-05:00", "2026-01-06T13:17:00-05:00", "2026-01-19T13:17:00-05:00"]),
    ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=31;BYHOUR=0;BYMINUTE=0", "startDateTime":
      "2026-01-31T00:00:00"}, "2026-01-31T00:00:00+00:00",
     ["2026-03-31T00:00:00+00:00", "2026-05-31T00:00:00+00:00"]),
    ({"recurrence": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=18;BYMINUTE=0"},
     "2026-01-01T00:00:00+00:00", ["2026-01-30T18:00:00+00:00", "2026-02-27T18:00:00+00:00"]),
    ({"recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0;BYMINUTE=0"},
     "2026-01-01T00:00:00+00:00", ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]),
    ({"cron": "0 6 * * *", "startDateTime": "2026-01-05T06:00:00"},  # the start is inclusive
     "2026-01-01T00:00:00+00:00", ["2026-01-05T06:00:00+00:00", "2026-01-06T06:00:00+00:00"]),
    ({"cron": {"expression": "0 6 * * *", "validUntil": "2026-01-02T23:59:59"}},
     "2026-01-01T00:00:00+00:00", ["2026-01-01T06:00:00+00:00", "2026-01-02T06:00:00+00:00"]),
    ({"cron": {"expression": "0 6 * * *", "validUntil": "2026-01-02T06:00:00"}, "timezone": ZRH},
     "2026-01-01T00:00:00+00:00", ["2026-01-01T06:00:00+01:00", "2026-01-02T06:00:00+01:00"]),
    ("R/2026-01-01T06:00:00Z/PT1H", "2026-01-01T08:30:00+00:00",
     ["2026-01-01T09:00:00+00:00", "2026-01-01T10:00:00+00:00"]),
    ("R/2026-01-01T06:00:00Z/PT1H", "2026-01-01T09:00:00+00:00",  # strictly after
     ["2026-01-01T10:00:00+00:00"]),
    ("R/2026-01-01T06:00:00Z/PT1H", "2020-01-01T00:00:00+00:00",
     ["2026-01-01T06:00:00+00:00", "2026-01-01T07:00:00+00:00"]),
    ("R3/2026-01-01T00:00:00Z/P1D", "2025-12-31T00:00:00+00:00",
     ["2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-03T00:00:00+00:00"]),
    ("R/2026-01-01T00:00:00Z/2026-01-01T06:00:00Z", "2030-06-01T01:00:00+00:00",
     ["2030-06-01T06:00:00+00:00", "2030-06-01T12:00:00+00:00"]),
    ("R/2026-01-01T06:00:00+01:00/PT90M", "2026-01-01T06:00:00+00:00",
     ["2026-01-01T06:30:00+00:00", "2026-01-01T08:00:00+00:00"]),
    ({"interval": "P1M", "startDateTime": "2026-01-31T06:00:00"}, "2026-01-31T06:00:00+00:00",
     ["2026-02-28T06:00:00+00:00", "2026-03-31T06:00:00+00:00", "2026-04-30T06:00:00+00:00"]),
    ({"interval": "R/PT1H", "startDateTime": "2026-01-01T06:30:00",
      "endDateTime": "2026-01-01T08:30:00"}, "2026-01-01T00:00:00+00:00",
     ["2026-01-01T06:30:00+00:00", "2026-01-01T07:30:00+00:00", "2026-01-01T08:30:00+00:00"]),
    ("R/P1D", "2026-01-01T12:00:00+00:00", ["2026-01-02T00:00:00+00:00"]),
    ({"interval": "R/2020-01-01T00:00:00Z/PT1M", "startDateTime": "2026-06-01T00:00:30"},
     "2026-01-01T00:00:00+00:00",  # the interval's rhythm, held back until startDateTime
     ["2026-06-01T00:01:00+00:00", "2026-06-01T00:02:00+00:00"]),
]  # fmt: skip


@pytest.mark.parametrize(("value", "after", "expected"), BOUNDS)
def test_next_runs_bounds_and_counts(value: Any, after: str, expected: list[str]) -> None:
    assert iso(schedule.next_runs(value, at(after), count=max(len(expected), 1))) == expected


FINITE: list[tuple[Any, str, int]] = [
    # (schedule, after, how many runs are left)
    ({"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00",
      "endDateTime": "2026-01-03T06:00:00"}, "2025-12-31T00:00:00+00:00", 3),
    ({"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00",
      "endDateTime": "2026-01-03T05:59:59"}, "2025-12-31T00:00:00+00:00", 2),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102T060000Z"}, "2026-01-01T00:00:00+00:00", 2),
    ({"recurrence": DAILY_6 + ";UNTIL=20260102"}, "2026-01-01T00:00:00+00:00", 2),
    ({"recurrence": DAILY_6 + ";COUNT=3", "startDateTime": "2026-01-01T06:00:00"},
     "2025-12-01T00:00:00+00:00", 3),
    ({"recurrence": DAILY_6 + ";COUNT=3", "startDateTime": "2026-01-01T06:00:00"},
     "2026-01-02T12:00:00+00:00", 1),
    ({"recurrence": DAILY_6 + ";COUNT=3", "startDateTime": "2026-01-01T06:00:00"},
     "2026-02-01T00:00:00+00:00", 0),
    ({"cron": {"expression": "0 6 * * *", "validUntil": "2026-01-02T23:59:59"}},
     "2026-01-01T00:00:00+00:00", 2),
    ("R3/2026-01-01T00:00:00Z/P1D", "2025-12-31T00:00:00+00:00", 3),
    ("R3/2026-01-01T00:00:00Z/P1D", "2026-01-02T00:00:00+00:00", 1),
    ({"interval": "R/PT1H", "startDateTime": "2026-01-01T06:30:00",
      "endDateTime": "2026-01-01T08:30:00"}, "2026-01-01T00:00:00+00:00", 3),
]  # fmt: skip


@pytest.mark.parametrize(("value", "after", "left"), FINITE)
def test_finite_schedules_end(value: Any, after: str, left: int) -> None:
    assert len(schedule.next_runs(value, at(after), count=10)) == left


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;BYHOUR=9;BYMINUTE=0;WKST=SU",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=WE;BYHOUR=9;BYMINUTE=0",
        "FREQ=MONTHLY;INTERVAL=7;BYMONTHDAY=31;BYHOUR=1;BYMINUTE=0",
        "FREQ=YEARLY;INTERVAL=3;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=DAILY;INTERVAL=5;BYDAY=TH",
        "FREQ=HOURLY;INTERVAL=5;BYHOUR=1,6,11;BYMINUTE=7",
        "FREQ=MINUTELY;INTERVAL=13;BYHOUR=7",
    ],
)
def test_fast_forward_gives_the_runs_of_expanding_from_the_start(rule: str) -> None:
    start, after = datetime(2024, 1, 13, 5, 23), datetime(2026, 5, 17, 11, 0)
    value = {"recurrence": rule, "startDateTime": start.isoformat()}
    expected = list(islice((r for r in rrulestr(rule, dtstart=start) if r > after), 3))
    assert [
        r.replace(tzinfo=None) for r in schedule.next_runs(value, after.replace(tzinfo=UTC))
    ] == expected


def test_until_and_runs_between_are_a_half_open_window() -> None:
    value = {"recurrence": DAILY_6, "startDateTime": "2026-01-01T06:00:00"}
    start, end = at("2026-01-01T06:00:00+00:00"), at("2026-01-04T06:00:00+00:00")
    expected = ["2026-01-02T06:00:00+00:00", "2026-01-03T06:00:00+00:00"]
    expected.append("2026-01-04T06:00:00+00:00")
    assert iso(schedule.runs_between(value, start, end)) == expected
    assert iso(schedule.next_runs(value, start, count=10, until=end)) == expected
    assert len(schedule.runs_between(value, start, end + timedelta(days=3650), limit=5)) == 5


def test_times_must_be_aware_and_counts_positive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_runs({"recurrence": DAILY_6}, datetime(2026, 1, 1))
    assert schedule.next_runs({"recurrence": DAILY_6}, NOW, count=0) == []


def test_a_huge_count_from_long_ago_stays_bounded() -> None:
    value = {"recurrence": "FREQ=SECONDLY;COUNT=1000000000", "startDateTime": "2000-01-01T00:00:00"}
    assert schedule.next_runs(value, NOW) == []  # gives up after a bounded scan


def test_timezone_of() -> None:
    assert schedule.timezone_of("R/PT1H") == "UTC"
    assert schedule.timezone_of({"recurrence": DAILY_6}) == "UTC"
    assert schedule.timezone_of({"recurrence": DAILY_6, "timezone": ZRH}) == ZRH


# -- plain words ------------------------------------------------------------------------------

WORDS: list[tuple[Any, str]] = [
    ({"recurrence": DAILY_6, "timezone": ZRH}, "daily at 06:00 Europe/Zurich"),
    ({"recurrence": DAILY_6, "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00",
      "endDateTime": "2027-01-01T00:00:00"},
     "daily at 06:00 Europe/Zurich from 2026-01-01 06:00 until 2027-01-01 00:00"),
    ({"recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6;BYMINUTE=0", "timezone": ZRH},
     "every weekday at 06:00 Europe/Zurich"),
    ({"recurrence": "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=7;BYMINUTE=30"},
     "every Monday and Thursday at 07:30 UTC"),
    ({"recurrence": "FREQ=DAILY;BYDAY=SA,SU;BYHOUR=9;BYMINUTE=0"},
     "every Saturday and Sunday at 09:00 UTC"),
    ({"recurrence": "FREQ=HOURLY;BYMINUTE=20"}, "hourly at :20"),
    ({"recurrence": "FREQ=HOURLY;INTERVAL=3;BYMINUTE=0"}, "every 3 hours at :00"),
    ({"recurrence": "FREQ=MINUTELY;INTERVAL=15"}, "every 15 minutes"),
    ({"recurrence": "FREQ=MINUTELY"}, "every minute"),
    ({"recurrence": "FREQ=MINUTELY;BYMINUTE=0,15,30,45"}, "hourly at :00, :15, :30 and :45"),
    ({"recurrence": "FREQ=MINUTELY;INTERVAL=10;BYHOUR=8,9,10", "timezone": ZRH},
     "every 10 minutes during hours 08–10 Europe/Zurich"),
    ({"recurrence": "FREQ=SECONDLY;INTERVAL=30"}, "every 30 seconds"),
    ({"recurrence": "FREQ=HOURLY;BYMINUTE=0;BYDAY=MO,TU,WE,TH,FR", "timezone": ZRH},
     "hourly at :00 on weekdays Europe/Zurich"),
    ({"recurrence": "FREQ=HOURLY;BYHOUR=8,9,10,11,12,13,14,15,16,17;BYMINUTE=0;"
      "BYDAY=MO,TU,WE,TH,FR", "timezone": ZRH},
     "hourly at :00 during hours 08–17 on weekdays Europe/Zurich"),
    ({"recurrence": "FREQ=DAILY;BYHOUR=6,18;BYMINUTE=0"}, "daily at 06:00 and 18:00 UTC"),
    ({"recurrence": "FREQ=DAILY;INTERVAL=2;BYHOUR=6;BYMINUTE=0"}, "every 2 days at 06:00 UTC"),
    ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=2;BYMINUTE=0"},
     "monthly on day 1 at 02:00 UTC"),
    ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=23;BYMINUTE=0"},
     "monthly on the last day at 23:00 UTC"),
    ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=-2;BYHOUR=1;BYMINUTE=0"},
     "monthly on the second-to-last day at 01:00 UTC"),
    ({"recurrence": "FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=1;BYMINUTE=0"},
     "monthly on days 1 and 15 at 01:00 UTC"),
    ({"recurrence": "FREQ=DAILY;BYMONTH=12;BYHOUR=6;BYMINUTE=0"}, "daily in December at 06:00 UTC"),
    ({"recurrence": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=6,7,8,9,10;BYMINUTE=0"},
     "every weekday, hourly at :00 during hours 06–10 UTC"),
    ({"recurrence": "FREQ=WEEKLY;BYHOUR=6;BYMINUTE=0", "startDateTime": "2026-01-01T06:00:00"},
     "every Thursday at 06:00 UTC from 2026-01-01 06:00"),
    ({"recurrence": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0"},
     "monthly on the first Monday at 08:00 UTC"),
    ({"recurrence": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=18;BYMINUTE=0"},
     "monthly on the last weekday at 18:00 UTC"),
    ({"recurrence": "FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0"},
     "yearly on 1 January at 00:00 UTC"),
    ({"recurrence": "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0",
      "timezone": TOR, "startDateTime": "2022-09-19T11:18:00", "endDateTime": "2022-10-12T23:59:00"},
     "every 2 weeks on Monday and Tuesday at 13:17 America/Toronto from 2022-09-19 11:18 "
     "until 2022-10-12 23:59"),
    ({"recurrence": "RRULE:FREQ=HOURLY;BYHOUR=10;BYMINUTE=20", "startDateTime":
      "2025-04-17T06:00:00", "endDateTime": "2025-04-18T06:00:00", "timezone": "UTC"},
     "daily at 10:20 UTC from 2025-04-17 06:00 until 2025-04-18 06:00"),
    ({"recurrence": DAILY_6 + ";COUNT=5"}, "daily at 06:00 UTC, 5 times"),
    ({"recurrence": "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;BYHOUR=0;BYMINUTE=0"},
     "RRULE:FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO;BYHOUR=0;BYMINUTE=0 UTC"),
    ({"cron": "0 6 * * 1-5", "timezone": ZRH},
     "cron 0 6 * * 1-5 (at 06:00, Monday through Friday) Europe/Zurich"),
    ({"cron": "0 6 * * 1,4"}, "cron 0 6 * * 1,4 (at 06:00, on Monday and Thursday) UTC"),
    ({"cron": "*/15 * * * *"}, "cron */15 * * * * (every 15 minutes) UTC"),
    ({"cron": "30 8-17 * * MON-FRI", "timezone": ZRH},
     "cron 30 8-17 * * MON-FRI (hourly at :30 during hours 08–17, Monday through Friday) "
     "Europe/Zurich"),
    ({"cron": "0 2 1 * *"}, "cron 0 2 1 * * (at 02:00, on day 1 of the month) UTC"),
    ({"cron": "0 0 1 1,7 *"}, "cron 0 0 1 1,7 * (at 00:00, on day 1 of the month, in January "
     "and July) UTC"),
    ({"cron": {"expression": "0 6 * * *", "validUntil": "2026-12-31T23:59:00"}},
     "cron 0 6 * * * (at 06:00) UTC until 2026-12-31 23:59"),
    ({"cron": "0 6 1-7 * 1"}, "cron 0 6 1-7 * 1 UTC"),
    ({"cron": "0 0 * * 0-6"}, "cron 0 0 * * 0-6 (at 00:00) UTC"),
    ({"cron": "0 */2 * * *"}, "cron 0 */2 * * * (every 2 hours at :00) UTC"),
    ({"cron": "15,45 * * * *"}, "cron 15,45 * * * * (hourly at :15 and :45) UTC"),
    ("R/2026-01-01T06:00:00Z/PT1H", "every 1 hour from 2026-01-01 06:00 UTC"),
    ("R5/2026-01-01T00:00:00Z/P1D", "every 1 day from 2026-01-01 00:00 UTC, 5 times"),
    ("R/PT90M", "every 1 hour and 30 minutes"),
    ("R/P2W", "every 2 weeks"),
    ({"interval": "PT15M", "timezone": ZRH, "startDateTime": "2026-01-01T06:00:00"},
     "every 15 minutes from 2026-01-01 06:00 Europe/Zurich"),
    ({"recurrence": "garbage", "timezone": ZRH}, "recurrence garbage Europe/Zurich"),
    (42, "42"),
]  # fmt: skip


@pytest.mark.parametrize(("value", "expected"), WORDS)
def test_describe(value: Any, expected: str) -> None:
    assert schedule.describe(value) == expected


# -- properties -------------------------------------------------------------------------------

RULES = [
    "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
    "FREQ=HOURLY;BYMINUTE=0,30",
    "FREQ=MINUTELY;INTERVAL=20",
    "FREQ=WEEKLY;BYDAY=MO,FR;BYHOUR=1,2,3;BYMINUTE=15",
    "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=2;BYMINUTE=0",
]
CRONS = ["*/20 * * * *", "30 2 * * *", "0 1-3 * * 1-5", "15 2 1 * *"]


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["recurrence", "cron", "interval"]),
    pick=st.integers(0, 4),
    zone=st.sampled_from([ZRH, TOR, "UTC", "Australia/Lord_Howe"]),
    after=st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    span=st.integers(1, 400),
)
def test_runs_increase_after_after_and_before_the_end(
    kind: str, pick: int, zone: str, after: datetime, span: int
) -> None:
    values = {
        "recurrence": RULES[pick],
        "cron": CRONS[pick % 4],
        "interval": ["PT40M", "P1D"][pick % 2],
    }
    end = after + timedelta(days=span)
    value: dict[str, Any] = {kind: values[kind], "timezone": zone}
    value["startDateTime"] = "2024-06-01T00:10:00"
    local_end = end.astimezone(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)
    value["endDateTime"] = local_end.isoformat()
    bound = local_end.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)  # the first, if it repeats
    runs = schedule.next_runs(value, after, count=25)
    instants = [r.astimezone(UTC) for r in runs]
    assert all(a < b for a, b in pairwise(instants))
    assert all(after < r <= bound for r in instants)
    assert all(r.tzinfo == ZoneInfo(zone) for r in runs)


@pytest.mark.parametrize(
    "value",
    [
        {"recurrence": "FREQ=DAILY", "timezone": "UTC"},
        {"cron": {"expression": "0 6 * * *", "validUntil": "2030-01-01T00:00:00"}},
        {"b": [1, {"x": None}], "a": True, "c": 1.5},
        {1: "a number as key", "a": "text"},
        {},
    ],
)
def test_the_cache_key_of_a_dict_is_that_of_any_mapping(value: dict[object, object]) -> None:
    """Plain dicts take a shorter way to their key; it must be the key every mapping gets."""
    assert value_key(value) == value_key(MappingProxyType(value))
    assert thaw(value_key(value)) == {str(k): v for k, v in value.items()}
