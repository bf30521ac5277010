"""The work to expand a schedule is bounded (DESIGN 19.3): sub-daily rules are expanded a day at a
time with the same runs dateutil gives, a rule that needs more work than the bound is a located
error, and a chain thousands of tasks deep is shown without recursion."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

import pytest
from dateutil.rrule import rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reconciler import schedule
from reconciler.cli.commands import app
from reconciler.schedule import subdaily
from reconciler.schedule.rrule import explicit_rule, is_feasible, parse_rule, rule_walls

ATTACK = "RRULE:FREQ=SECONDLY;INTERVAL=7;BYSECOND=0;BYMINUTE=0;BYHOUR=0;BYMONTHDAY=29;BYMONTH=2"
ORIGIN = datetime(2026, 1, 1, 0, 0, 3)


@pytest.fixture
def bound() -> Iterator[None]:
    yield
    subdaily.set_work_bound(subdaily.DEFAULT_WORK_BOUND)


def _ours(text: str, origin: datetime, n: int) -> list[datetime]:
    rule = parse_rule(text)
    assert not isinstance(rule, str), rule
    assert subdaily.applies(rule)
    explicit = explicit_rule(rule, origin, with_count=False)
    return list(islice(subdaily.walls(rule, explicit, origin, origin.date()), n))


def _dateutils(text: str, origin: datetime, n: int) -> list[datetime]:
    rule = parse_rule(text)
    assert not isinstance(rule, str)
    built = rrulestr(explicit_rule(rule, origin, with_count=False), dtstart=origin, cache=False)
    return list(islice(iter(built), n))


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=HOURLY;INTERVAL=5;BYMINUTE=15;BYSECOND=0",
        "FREQ=HOURLY;BYHOUR=6,18;BYDAY=MO,WE;BYMINUTE=0;BYSECOND=0",
        "FREQ=MINUTELY;INTERVAL=45;BYHOUR=8,9,10;BYSECOND=0",
        "FREQ=MINUTELY;INTERVAL=7;BYMONTHDAY=1,15;BYSECOND=30",
        "FREQ=SECONDLY;INTERVAL=13;BYHOUR=0;BYMINUTE=0,1",
        "FREQ=SECONDLY;INTERVAL=7;BYMONTH=3;BYMONTHDAY=1;BYHOUR=0;BYMINUTE=0",
        "FREQ=HOURLY;INTERVAL=3;BYYEARDAY=1,100,-1;BYMINUTE=0;BYSECOND=0",
        "FREQ=HOURLY;INTERVAL=2;BYWEEKNO=1,20;BYMINUTE=30;BYSECOND=0;WKST=SU",
    ],
)
def test_sub_daily_runs_match_dateutil(text: str) -> None:
    assert _ours(text, ORIGIN, 40) == _dateutils(text, ORIGIN, 40)


@settings(max_examples=60, deadline=None)
@given(
    freq=st.sampled_from(["HOURLY", "MINUTELY", "SECONDLY"]),
    interval=st.integers(1, 50),
    hours=st.sets(st.integers(0, 23), min_size=1, max_size=3),
    minutes=st.sets(st.integers(0, 59), min_size=1, max_size=3),
    seconds=st.sets(st.integers(0, 59), min_size=1, max_size=2),
    days=st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), max_size=3),
    shift=st.integers(0, 86_399),
)
def test_sub_daily_runs_match_dateutil_for_any_rule(
    freq: str,
    interval: int,
    hours: set[int],
    minutes: set[int],
    seconds: set[int],
    days: set[str],
    shift: int,
) -> None:
    def listed(values: set[int]) -> str:
        return ",".join(map(str, sorted(values)))

    text = (
        f"FREQ={freq};INTERVAL={interval};BYHOUR={listed(hours)};BYMINUTE={listed(minutes)};"
        f"BYSECOND={listed(seconds)}" + (f";BYDAY={','.join(sorted(days))}" if days else "")
    )
    origin = datetime(2026, 3, 1) + timedelta(seconds=shift)
    rule = parse_rule(text)
    assert not isinstance(rule, str)
    assume(is_feasible(rule, origin))  # a rule that never runs: dateutil walks to year 9999
    theirs = _dateutils(text, origin, 12)
    assert _ours(text, origin, 12) == theirs


def test_the_attack_rule_finds_its_runs_without_walking_every_period() -> None:
    runs = schedule.next_runs(
        {"recurrence": ATTACK, "timezone": "UTC", "startDateTime": "2026-01-01T00:00:00"},
        datetime(2026, 1, 1, tzinfo=UTC),
        count=2,
    )
    # 00:00:00 on 29 February on the 7-second grid counted from 2026-01-01: 28 years apart.
    assert [r.replace(tzinfo=None) for r in runs] == [
        datetime(2052, 2, 29),
        datetime(2080, 2, 29),
    ]
    assert not [i for i in schedule.check({"recurrence": ATTACK}) if i.severity == "error"]


def test_a_rule_that_needs_more_work_than_the_bound_is_a_located_error(
    bound: None, workdir: Path, runner: CliRunner
) -> None:
    subdaily.set_work_bound(1_000)
    sevens = ",".join(str(n) for n in range(0, 60, 7))
    # 324 times on 29 February, all on one residue of the 7-second grid: one day in 7 has runs.
    rare = (
        "RRULE:FREQ=SECONDLY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYHOUR=0,7,14,21;"
        f"BYMINUTE={sevens};BYSECOND={sevens}"
    )
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / "rare.yaml").write_text(
        "name: Rare\nreload: {appId: 116dbfae-7fb9-4983-8e23-5ccd8c508722}\n"
        f"schedule:\n  recurrence: '{rare}'\n  timezone: UTC\n"
        "  startDateTime: '2026-01-01T00:00:00'\n"
    )
    result = runner.invoke(app, ["validate"], env={"RECONCILER_SCHEDULE_WORK": "1000"})
    assert result.exit_code == 1, result.output
    assert "tasks/rare.yaml:4:" in result.output
    assert "more than 1,000 steps" in result.output
    assert "RECONCILER_SCHEDULE_WORK" in result.output


def test_a_chain_3000_deep_is_shown(workdir: Path, runner: CliRunner) -> None:
    docs = [
        "name: T0\nreload: {appId: 00000000-0000-4000-8000-000000000000}\n"
        "schedule: {recurrence: 'RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0', "
        "timezone: UTC, startDateTime: '2026-01-01T06:00:00'}\n"
    ]
    docs += [
        f"name: T{i}\nreload: {{appId: 00000000-0000-4000-8000-{i:012d}}}\nafter: T{i - 1}\n"
        for i in range(1, 3000)
    ]
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / "chain.yaml").write_text("---\n".join(docs))
    result = runner.invoke(app, ["schedule", "--from", "2026-03-02", "--days", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.endswith("  T0") for line in lines)
    deepest = [line for line in lines if line.endswith("T2999  (after T2998)")]
    assert len(deepest) == 1 and len(deepest[0]) < 200


@settings(max_examples=80, deadline=None)
@given(
    freq=st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY"]),
    interval=st.integers(1, 4),
    count=st.sampled_from([None, 5]),
    months=st.sets(st.integers(1, 12), max_size=2),
    monthdays=st.sets(st.integers(-3, 31).filter(bool), max_size=2),
    days=st.sets(st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU"]), max_size=2),
    hours=st.sets(st.integers(0, 23), max_size=2),
    wkst=st.sampled_from([None, "SU"]),
    shift=st.integers(0, 400 * 86_400),
)
def test_runs_from_the_one_parse_are_dateutils_from_the_start(
    freq: str,
    interval: int,
    count: int | None,
    months: set[int],
    monthdays: set[int],
    days: set[str],
    hours: set[int],
    wkst: str | None,
    shift: int,
) -> None:
    """A rule is parsed once and every later expansion is derived from that parse (defaults from
    the start written out, fast-forwarded to where runs are wanted): the runs are those dateutil
    gives expanding the rule's own text from its start."""

    def listed(values: set[int]) -> str:
        return ",".join(map(str, sorted(values)))

    parts = [f"FREQ={freq}", f"INTERVAL={interval}"]
    parts += [f"COUNT={count}"] if count else []
    parts += [f"BYMONTH={listed(months)}"] if months else []
    parts += [f"BYMONTHDAY={listed(monthdays)}"] if monthdays else []
    parts += [f"BYDAY={','.join(sorted(days))}"] if days else []
    parts += [f"BYHOUR={listed(hours)}"] if hours else []
    parts += [f"WKST={wkst}"] if wkst else []
    text = ";".join(parts)
    origin = datetime(2025, 1, 1, 7, 30) + timedelta(seconds=shift)
    rule = parse_rule(text)
    assert not isinstance(rule, str), rule
    assume(is_feasible(rule, origin))
    after = origin + timedelta(days=shift % 900)
    wkst_default = "" if wkst else ";WKST=MO"  # RFC 5545's default, as the tool reads a rule
    theirs = rrulestr(text + wkst_default, dtstart=origin, cache=False)
    expected = list(islice((r for r in theirs if r >= after), 6))
    ours = list(islice((r for r in rule_walls(rule, origin, after) if r >= after), 6))
    assert ours == expected
