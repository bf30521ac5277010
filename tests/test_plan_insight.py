"""What a plan knows of the tenant: the reload chart's structure, impact of schedule changes, app
names in the reports, collisions, and the reload timeline's rules (chains, `when: all`, failure
branches, durations)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reconciler import insight, model
from reconciler.apps import AppFacts
from reconciler.live import Live
from reconciler.plan import Options, build_plan
from reconciler.reloads import Reloader, collisions, durations_of, per_hour, starts
from reconciler.report import plan_markdown, plan_text
from tests.conftest import APP_A, APP_B, tasks_from
from tests.test_plan_reports import FINANCE, live, sales

NOW = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
MARKER = model.MARKER
DAILY_7 = "RRULE:FREQ=DAILY;BYHOUR=7;BYMINUTE=0;BYSECOND=0"
APPS = {
    APP_A: AppFacts(APP_A, exists=True, name="Sales", may_reload=True),
    APP_B: AppFacts(APP_B, exists=True, name="Finance", may_reload=True),
}


def _insight(text: str, live_docs: list[dict[str, Any]]) -> tuple[Any, insight.Insight]:
    tasks = tasks_from(text)
    plan = build_plan(tasks, live_docs, Options(marker=MARKER))
    state = Live(tasks=live_docs, legacy=[], apps=dict(APPS))
    found, warnings = insight.build(tasks, plan, state, now=NOW, marker=MARKER, tz=UTC, zone="UTC")
    plan.warnings.extend(warnings)
    return plan, found


def _mermaid_blocks(comment: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", comment, flags=re.DOTALL)


def test_the_markdown_chart_is_an_xychart_of_24_hours_before_and_after() -> None:
    hub = {
        **live(sales())[0],
        "id": "hub-1",
        "name": "Hand-made at six",
        "annotations": [],
    }
    plan, found = _insight(sales(DAILY_7) + FINANCE, [*live(sales() + FINANCE), hub])
    comment = plan_markdown.render(plan, now=NOW, insight=found)
    charts = [b for b in _mermaid_blocks(comment) if "xychart-beta" in b]
    assert len(charts) == 1
    lines = charts[0].splitlines()
    assert lines[0].startswith("%%{init:") and lines[0].endswith("}%%")
    lines = lines[1:]
    assert [ln.split()[0] for ln in lines] == [
        "xychart-beta",
        "title",
        "x-axis",
        "y-axis",
        "bar",
        "line",
    ]
    hours = re.findall(r'"(\d\d)"', lines[2])
    assert len(hours) == 24 and hours[0] == "00" and hours[-1] == "23"
    after = [int(n) for n in re.findall(r"\d+", lines[4])]
    before = [int(n) for n in re.findall(r"\d+", lines[5])]
    assert len(after) == len(before) == 24
    # Sales ETL (and Finance dashboard after it) move from 06:00 to 07:00 Zurich (05/06 UTC);
    # the hand-made task stays at 06:00 Zurich.
    assert before[5] == 3 and after[5] == 1
    assert after[6] == 2 and before[6] == 0
    assert sum(before) == sum(after) == 3
    top = int(lines[3].split("-->")[1])
    assert top > max(before + after)
    assert "blue bars after this change, the red line before it" in comment


def test_a_schedule_change_lists_the_chained_tasks_that_move_with_it() -> None:
    plan, found = _insight(sales(DAILY_7) + FINANCE, live(sales() + FINANCE))
    assert found.impact == {"Sales ETL": ["Finance dashboard"]}
    text = plan_text.render(plan, now=NOW, insight=found)
    assert 'runs that move with it: "Finance dashboard"' in text
    comment = plan_markdown.render(plan, now=NOW, insight=found)
    assert "runs that move with it: &quot;Finance dashboard&quot;" in comment or (
        'runs that move with it: "Finance dashboard"' in comment
    )


def test_reports_name_apps_beside_their_ids() -> None:
    plan, found = _insight(sales() + FINANCE, [])
    text = plan_text.render(plan, now=NOW, insight=found)
    assert f'app "Sales" ({APP_A})' in text
    comment = plan_markdown.render(plan, now=NOW, insight=found)
    assert "Sales" in comment and APP_A in comment
    flow = next(b for b in _mermaid_blocks(comment) if b.startswith("flowchart"))
    assert '["+ Sales ETL<br/>app Sales"]' in flow
    assert plan_text.render(plan, now=NOW).count('"Sales"') == 0


def test_a_change_that_stacks_reloads_lists_the_collision_as_new() -> None:
    three = "".join(
        f"""
---
name: Load {i}
reload: {{appId: {APP_A}}}
schedule: {{recurrence: "RRULE:FREQ=DAILY;BYHOUR=3;BYMINUTE=0;BYSECOND=0"}}
"""
        for i in range(3)
    )
    tasks = tasks_from(three)
    plan = build_plan(tasks, [], Options(marker=MARKER))
    state = Live(tasks=[], legacy=[], apps=dict(APPS))
    found, _ = insight.build(
        tasks, plan, state, now=NOW, marker=MARKER, tz=UTC, zone="UTC", max_concurrent=2
    )
    assert found.day is not None
    kinds = {(c.kind, new) for c, new in found.day.collisions}
    assert ("concurrent", True) in kinds and ("same-app", True) in kinds
    text = plan_text.render(plan, now=NOW, insight=found)
    assert "3 reloads at once, more than 2" in text.split("Reload collisions")[1]


def _r(key: str, *, sched: Any = None, ups: tuple[str, ...] = (), all_: bool = False) -> Reloader:
    return Reloader(key, key, f"app-{key}", "git", sched, ups, all_)


HOURLY = {"recurrence": "RRULE:FREQ=HOURLY;BYMINUTE=0;BYSECOND=0"}
EVERY_10 = {"recurrence": "RRULE:FREQ=MINUTELY;INTERVAL=10;BYSECOND=0"}


@pytest.mark.parametrize(
    ("reloaders", "durations", "expected"),
    [
        pytest.param(
            [_r("a", sched=HOURLY), _r("b", ups=("a",))], {}, {"a": 3, "b": 3}, id="chain"
        ),
        pytest.param(
            [_r("a", sched=HOURLY), _r("b", ups=("a", "c"), all_=True), _r("c")],
            {},
            {"a": 3},
            id="all waits for an upstream that never runs",
        ),
        pytest.param(
            [_r("a", sched=HOURLY), _r("c", sched=HOURLY), _r("b", ups=("a", "c"), all_=True)],
            {},
            {"a": 3, "c": 3, "b": 3},
            id="all runs once per round",
        ),
    ],
)
def test_starts_follow_chains(
    reloaders: list[Reloader], durations: dict[str, float], expected: dict[str, int]
) -> None:
    begin = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    found = starts(reloaders, begin, begin + timedelta(hours=3), durations)
    counts: dict[str, int] = {}
    for s in found:
        counts[s.task.key] = counts.get(s.task.key, 0) + 1
    assert counts == expected


def test_a_chained_start_waits_for_its_upstream_to_finish() -> None:
    begin = datetime(2026, 11, 20, 0, 30, tzinfo=UTC)
    found = starts(
        [_r("a", sched=HOURLY), _r("b", ups=("a",))], begin, begin + timedelta(hours=1), {"a": 900}
    )
    assert [(s.task.key, s.at.minute) for s in found] == [("a", 0), ("b", 15)]


def test_a_schedule_more_often_than_every_15_minutes_is_a_collision() -> None:
    begin = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    found = starts([_r("a", sched=EVERY_10)], begin, begin + timedelta(hours=1))
    assert [c.kind for c in collisions(found, 5)] == ["frequent"]
    assert sum(n for _, n in per_hour(found, begin, 2, UTC)) == len(found)


def test_durations_are_the_median_and_90th_percentile_of_finished_runs() -> None:
    runs = [
        {"startedAt": "2026-11-20T06:00:00Z", "endedAt": f"2026-11-20T06:{m:02d}:00Z"}
        for m in range(1, 11)
    ] + [{"startedAt": "2026-11-20T07:00:00Z", "status": "RUNNING"}]
    found = durations_of(runs)
    assert found is not None
    assert (found.p50, found.p90, found.runs) == (300.0, 540.0, 10)
    assert durations_of([{"startedAt": "x", "endedAt": "y"}]) is None


def test_a_rename_counts_as_a_rename_in_the_summary() -> None:
    renamed = sales().replace(
        "name: Sales ETL", "name: Sales extract\n    renamedFrom: [Sales ETL]"
    )
    plan = build_plan(tasks_from(renamed), live(sales()), Options(marker=MARKER))
    assert plan.summary_line() == (
        "Plan: 0 to create, 0 to update, 1 to rename, 0 to delete, 0 to migrate."
    )


def test_a_plan_without_changes_draws_no_chart() -> None:
    plan, found = _insight(sales(), live(sales()))
    assert not plan.changes and found.day is None
    _, changed = _insight(sales(DAILY_7), live(sales()))
    assert changed.day is not None
