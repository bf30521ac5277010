"""The canonical spellings of schedule values: what is one meaning, and what stays as written."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler import spellings


@pytest.mark.parametrize(
    ("value", "timezone", "expected"),
    [
        ("2026-01-01T06:00:00", "UTC", "2026-01-01T06:00:00"),
        ("2026-01-01T06:00:00Z", None, "2026-01-01T06:00:00"),
        ("2026-01-01T06:00:00.000Z", "Etc/UTC", "2026-01-01T06:00:00"),
        ("2026-01-01T07:30:00+01:30", "UTC", "2026-01-01T06:00:00"),
        ("2026-01-01T06:00", "UTC", "2026-01-01T06:00:00"),
        ("2026-01-01T06:00:00.250Z", "UTC", "2026-01-01T06:00:00.250000"),
        ("2026-01-01T06:00:00Z", "Europe/Zurich", "2026-01-01T06:00:00"),
        ("2026-01-01T06:00:00-00:00", "Europe/Zurich", "2026-01-01T06:00:00"),
        ("2026-01-01T06:00:00+01:00", "Europe/Zurich", "2026-01-01T06:00:00+01:00"),
        ("not a date", "UTC", "not a date"),
        (20260101, "UTC", 20260101),
    ],
)
def test_date_time(value: Any, timezone: Any, expected: Any) -> None:
    assert spellings.date_time(value, timezone) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("RRULE:FREQ=DAILY;BYHOUR=6", "RRULE:FREQ=DAILY;BYHOUR=6"),
        (
            "BYSECOND=0;BYMINUTE=0;BYHOUR=6;FREQ=DAILY",
            "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
        ),
        ("freq=weekly;byday=fr,-1mo,+2tu", "RRULE:FREQ=WEEKLY;BYDAY=-1MO,2TU,FR"),
        ("FREQ=DAILY;BYHOUR=18,6,06;INTERVAL=01", "RRULE:FREQ=DAILY;BYHOUR=6,18"),
        ("X-NAME=1;FREQ=DAILY;COUNT=3", "RRULE:FREQ=DAILY;COUNT=3;X-NAME=1"),
        ("FREQ=DAILY;INTERVAL=2;WKST=SU", "RRULE:FREQ=DAILY;INTERVAL=2;WKST=SU"),
        ("RRULE:FREQ=DAILY;;", "RRULE:FREQ=DAILY"),
        # Not readable as parts: compared as written.
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ=DAILY;FREQ=WEEKLY"),
        ("FREQ=DAILY;BYHOUR", "FREQ=DAILY;BYHOUR"),
        ("BYHOUR=6", "BYHOUR=6"),
        (None, None),
    ],
)
def test_rrule(value: Any, expected: Any) -> None:
    assert spellings.rrule(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0 6 * * 1-5", "0 6 * * 1-5"),
        (" 0  6 * *\t1-5 ", "0 6 * * 1-5"),
        ({"expression": "0 6 * * 1-5"}, "0 6 * * 1-5"),
        ({"expression": "0 6 * * 1-5", "validUntil": None}, "0 6 * * 1-5"),
        (
            {"expression": "0 6 * * 1-5", "validUntil": "2027-01-01T00:00:00Z"},
            {"expression": "0 6 * * 1-5", "validUntil": "2027-01-01T00:00:00Z"},
        ),
        ({"expression": "0 6 * * *", "other": 1}, {"expression": "0 6 * * *", "other": 1}),
    ],
)
def test_cron(value: Any, expected: Any) -> None:
    assert spellings.cron(value) == expected
