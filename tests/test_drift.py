"""Drift: each category from plain data, agreement with the plan, and the four report formats."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler import apidoc, model
from reconciler.disabled import DISABLED_CODES, explain_disabled
from reconciler.drift import (
    LISTED,
    Category,
    DriftReport,
    build_report,
    last_run_of,
)
from reconciler.live import Live
from reconciler.plan import Kind, Options, build_plan
from reconciler.report import drift_json, drift_junit, drift_markdown, drift_text
from tests.conftest import APP_A, APP_B, APP_C, tasks_from

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MARKER = model.MARKER
Doc = dict[str, Any]

TREE = f"""
name: Sales ETL
description: Nightly sales extract
reload: {{appId: {APP_A}}}
schedule:
  recurrence: "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
  timezone: Europe/Zurich
  startDateTime: "2026-01-01T06:00:00"
---
name: Finance dashboard
reload: {{appId: {APP_B}}}
after: [Sales ETL]
---
name: Budget load
reload: {{appId: {APP_C}}}
"""


def live_of(text: str = TREE) -> list[Doc]:
    """Live documents as the service answers them for these tasks, managed, in sync."""
    tasks = tasks_from(text)
    ids = {t.name: "id-" + t.name.lower().replace(" ", "-") for t in tasks}
    docs = []
    for task in tasks:
        doc = apidoc.build(task, ids, MARKER)
        doc["id"] = ids[task.name]
        doc["metadata"] = {"createdAt": "2026-01-02T00:00:00Z"}
        docs.append(doc)
    return docs


def named(docs: list[Doc], name: str) -> Doc:
    return next(d for d in docs if d["name"] == name)


def report_of(
    edit: Callable[[list[Doc]], None] = lambda docs: None,
    *,
    text: str = TREE,
    live_text: str = TREE,
    legacy: list[Doc] | None = None,
    runs: dict[str, Any] | None = None,
    strict: bool = False,
) -> DriftReport:
    docs = live_of(live_text)
    edit(docs)
    state = Live(tasks=docs, legacy=legacy, last_runs=runs)
    return build_report(tasks_from(text), state, marker=MARKER, strict=strict)


def categories(report: DriftReport) -> dict[str, list[str]]:
    return {t.name: [f.category.value for f in t.findings] for t in report.tasks if t.findings}


# -- the edits a tenant goes through behind git's back -------------------------------------------


def modify(docs: list[Doc]) -> None:
    named(docs, "Sales ETL")["description"] = "changed in the hub"


def delete(docs: list[Doc]) -> None:
    docs.remove(named(docs, "Budget load"))


def add_unmanaged(docs: list[Doc]) -> None:
    other = copy.deepcopy(named(docs, "Budget load"))
    other.update(id="id-hand-made", name="Made by hand", annotations=[])
    docs.append(other)


def add_removed(docs: list[Doc]) -> None:
    other = copy.deepcopy(named(docs, "Budget load"))
    other.update(id="id-old", name="Old task", description="an older task")  # not a rename
    docs.append(other)


def conflict(docs: list[Doc]) -> None:
    named(docs, "Budget load")["annotations"] = []


def disable(docs: list[Doc]) -> None:
    doc = named(docs, "Finance dashboard")
    doc["enabled"] = False
    doc["metadata"]["disabledCode"] = "CONSECUTIVE-FAILURES"


def fail(docs: list[Doc]) -> None:
    named(docs, "Sales ETL")["metadata"]["orchestration"] = {
        "lastRun": {"id": "run-1", "status": "FAILED", "startedAt": "2026-11-20T05:00:00Z"}
    }


LEGACY = [
    {"id": "legacy-1", "appId": APP_A, "state": "Enabled", "recurrence": ["RRULE:FREQ=DAILY"]}
]


@pytest.mark.parametrize(
    ("edit", "legacy", "expected"),
    [
        pytest.param(lambda d: None, None, {}, id="in-sync"),
        pytest.param(modify, None, {"Sales ETL": ["modified"]}, id="modified"),
        pytest.param(delete, None, {"Budget load": ["missing"]}, id="missing"),
        pytest.param(add_unmanaged, None, {"Made by hand": ["unmanaged"]}, id="unmanaged"),
        pytest.param(add_removed, None, {"Old task": ["removed"]}, id="removed"),
        pytest.param(conflict, None, {"Budget load": ["conflict"]}, id="conflict"),
        pytest.param(disable, None, {"Finance dashboard": ["disabled"]}, id="disabled"),
        pytest.param(fail, None, {"Sales ETL": ["failing"]}, id="failing"),
        pytest.param(
            lambda d: None, LEGACY, {"legacy reload-task legacy-1": ["legacy"]}, id="legacy"
        ),
    ],
)
def test_each_category(
    edit: Callable[[list[Doc]], None], legacy: list[Doc] | None, expected: dict[str, list[str]]
) -> None:
    report = report_of(edit, legacy=legacy)
    assert categories(report) == expected
    drift_expected = any(c not in LISTED for cats in expected.values() for c in cats)
    assert report.drifted is drift_expected


def test_drift_and_plan_agree() -> None:
    """Every task the plan acts on has drift, and every drifted task of git is in the plan."""

    def everything(docs: list[Doc]) -> None:
        for edit in (modify, add_unmanaged, add_removed, delete, disable):
            edit(docs)

    docs = live_of()
    everything(docs)
    plan = build_plan(tasks_from(TREE), docs, Options(marker=MARKER))
    report = report_of(everything)
    acted = {(a.name, a.task_id if a.kind is Kind.DELETE else None) for a in plan.actions}
    from_plan = {Category.MODIFIED, Category.MISSING, Category.REMOVED, Category.CONFLICT}
    drifted = {
        (t.name, t.task_id if t.origin == "tenant" else None)
        for t in report.tasks
        if any(f.category in from_plan or f.action is not None for f in t.findings)
    }
    assert drifted == acted
    assert report.plan.summary() == plan.summary()


def test_disabled_task_is_not_also_modified_by_its_enabled_flag() -> None:
    report = report_of(disable)
    (task,) = [t for t in report.tasks if t.findings]
    (finding,) = task.findings
    assert finding.code == "CONSECUTIVE-FAILURES"
    assert finding.action is not None
    assert finding.action.patch == [{"op": "replace", "path": "/enabled", "value": True}]


def test_disabled_task_with_other_changes_is_both() -> None:
    def both(docs: list[Doc]) -> None:
        disable(docs)
        named(docs, "Finance dashboard")["description"] = "edited"

    report = report_of(both)
    task = next(t for t in report.tasks if t.name == "Finance dashboard")
    assert [f.category for f in task.findings] == [Category.DISABLED, Category.MODIFIED]
    modified = task.finding(Category.MODIFIED)
    assert modified is not None and modified.action is not None
    assert modified.action.fields == ["description"]
    assert [op["path"] for op in modified.action.patch] == ["/description"]


def test_disabled_in_git_is_not_reported() -> None:
    text = TREE.replace("after: [Sales ETL]", "after: [Sales ETL]\nenabled: false")
    report = report_of(disable, text=text)
    assert categories(report) == {}


@pytest.mark.parametrize("code", [*DISABLED_CODES, "SOMETHING-NEW"])
def test_every_disabled_code_is_explained(code: str) -> None:
    why, what = explain_disabled(code)
    assert why
    assert "reconciler apply" in what

    def edit(docs: list[Doc]) -> None:
        named(docs, "Budget load")["enabled"] = False
        named(docs, "Budget load")["metadata"]["disabledCode"] = code

    report = report_of(edit)
    (task,) = [t for t in report.tasks if t.findings]
    assert task.findings[0].code == code
    assert why in drift_text.render(report)


@pytest.mark.parametrize(
    ("metadata", "runs", "failing"),
    [
        ({"orchestration": {"lastRun": {"status": "FAILED"}}}, None, True),
        ({"orchestration": {"attrs": {"last_run_status": "FAILED"}}}, None, True),
        ({"orchestration": {"lastRun": {"status": "SUCCEEDED"}}}, None, False),
        ({}, None, False),
        # with --runs, the run read from the task wins over what the listing says
        ({"orchestration": {"lastRun": {"status": "FAILED"}}}, {"status": "SUCCEEDED"}, False),
        ({}, {"id": "r", "status": "FAILED"}, True),
        ({"orchestration": {"lastRun": {"status": "failed"}}}, None, True),
    ],
)
def test_failing_from_metadata_or_runs(metadata: Doc, runs: Doc | None, failing: bool) -> None:
    def edit(docs: list[Doc]) -> None:
        named(docs, "Sales ETL")["metadata"].update(metadata)

    report = report_of(edit, runs={"id-sales-etl": runs} if runs is not None else None)
    assert (categories(report).get("Sales ETL") == ["failing"]) is failing


def test_never_ran_with_runs_is_not_failing() -> None:
    report = report_of(fail, runs={"id-sales-etl": None})
    assert categories(report) == {}


def test_last_run_of_reads_attrs() -> None:
    doc = {"metadata": {"orchestration": {"attrs": {"last_run_status": "FAILED",
                                                     "last_run_startedAt": "2026-01-01T00:00:00Z"}}}}  # fmt: skip
    assert last_run_of(doc) == {"status": "FAILED", "startedAt": "2026-01-01T00:00:00Z"}
    assert last_run_of({}) is None


def test_strict_counts_unmanaged_and_legacy() -> None:
    assert not report_of(add_unmanaged, legacy=LEGACY).drifted
    assert report_of(add_unmanaged, strict=True).drifted
    assert report_of(legacy=LEGACY, strict=True).drifted


def test_migrated_legacy_is_not_listed() -> None:
    migrated = [{**LEGACY[0], "migrated": True}]
    assert categories(report_of(legacy=migrated)) == {}


def test_summary_line() -> None:
    assert report_of().summary_line() == "No drift. The tenant matches git."
    line = report_of(lambda d: (modify(d), add_unmanaged(d))).summary_line()
    assert line == "Drift: 1 modified. Also listed, not drift: 1 unmanaged."


# -- the formats -----------------------------------------------------------------------------


def everything(docs: list[Doc]) -> None:
    for edit in (modify, add_unmanaged, add_removed, delete, fail, disable):
        edit(docs)
    docs.append({**named(docs, "Old task"), "id": "id-taken", "name": "Taken", "annotations": []})
    named(docs, "Moved")["name"] = "Moved, renamed in the hub"
    paused = named(docs, "Paused")
    paused["enabled"] = False
    paused["metadata"]["disabledCode"] = "MANUALLY"


QUIET = f"---\nname: Quiet\nreload: {{appId: {APP_B}}}\n"
PAUSED = f"---\nname: Paused\ndescription: off for now\nreload: {{appId: {APP_B}}}\n"
MOVED = f"---\nname: Moved\ndescription: renamed later\nreload: {{appId: {APP_B}}}\n"
EVERYTHING_TREE = TREE + QUIET + PAUSED + MOVED + f"---\nname: Taken\nreload: {{appId: {APP_A}}}\n"


def full_report() -> DriftReport:
    live = TREE + QUIET + PAUSED + MOVED
    return report_of(everything, text=EVERYTHING_TREE, live_text=live, legacy=LEGACY)


def test_full_report_has_every_category() -> None:
    report = full_report()
    assert {c for c in Category if report.of(c)} == set(Category)


def test_text_names_every_category_and_the_changes() -> None:
    text = drift_text.render(full_report(), tenant="https://acme.example", requests=3)
    for category in Category:
        assert drift_text.TITLE[category] in text
    assert '~ "Sales ETL"' in text
    assert 'description: "changed in the hub" → "Nightly sales extract"' in text
    assert "CONSECUTIVE-FAILURES" in text
    assert "run run-1" in text
    assert text.rstrip().endswith("(3 API requests)")


def test_json_is_versioned_and_lists_every_task() -> None:
    report = full_report()
    doc = json.loads(
        drift_json.render(
            report, tenant="t", generated_at=NOW, git_commit="abc", requests={"list_tasks": 1}
        )
    )
    assert doc["format_version"] == "1"
    assert doc["generated_at"] == "2026-11-20T10:00:00Z"
    assert doc["drifted"] is True
    assert len(doc["tasks"]) == len(report.tasks)
    found = {f["category"] for t in doc["tasks"] for f in t["findings"]}
    assert found == {c.value for c in Category}
    sales = next(t for t in doc["tasks"] if t["name"] == "Sales ETL")
    modified = next(f for f in sales["findings"] if f["category"] == "modified")
    assert modified["changes"] == [
        {"path": "description", "tenant": "changed in the hub", "git": "Nightly sales extract"}
    ]
    assert modified["patch"][0]["path"] == "/description"
    unmanaged = next(t for t in doc["tasks"] if t["name"] == "Made by hand")
    assert unmanaged["status"] == "listed"


def test_markdown_starts_with_the_marker_and_names_every_category() -> None:
    text = drift_markdown.render(full_report(), now=NOW, tenant="https://acme.example")
    assert text.startswith(drift_markdown.REPORT_MARKER + "\n")
    for category in Category:
        assert drift_text.TITLE[category] in text
    assert "<b>CONSECUTIVE-FAILURES</b>" in text
    clean = drift_markdown.render(report_of(), now=NOW)
    assert "No drift. The tenant matches git." in clean


def test_markdown_escapes_names_from_the_tenant() -> None:
    def evil(docs: list[Doc]) -> None:
        add_unmanaged(docs)
        named(docs, "Made by hand")["name"] = "x | <img src=y> *z*"

    text = drift_markdown.render(report_of(evil), now=NOW)
    assert "<img" not in text
    assert "x \\| &lt;img src=y&gt; \\*z\\*" in text


def test_markdown_stays_under_the_limit_for_2000_drifted_tasks() -> None:
    names = [f"Task {i:04d} " + "x" * 40 for i in range(2000)]
    text = "\n---\n".join(f"name: {n}\ndescription: git\nreload: {{appId: {APP_A}}}" for n in names)
    tasks = tasks_from(text)
    docs = []
    for i, task in enumerate(tasks):
        doc = apidoc.build(task, {}, MARKER)
        doc.update(id=f"id-{i}", description="tenant " * 20, metadata={})
        if i % 4 == 0:
            doc["metadata"]["orchestration"] = {"lastRun": {"status": "FAILED", "id": f"r{i}"}}
        docs.append(doc)
    docs += [
        {**docs[0], "id": f"u-{i}", "name": f"Unmanaged {i}", "annotations": []} for i in range(500)
    ]
    report = build_report(tasks, Live(tasks=docs), marker=MARKER)
    assert len(report.of(Category.MODIFIED)) == 2000
    out = drift_markdown.render(report, now=NOW, artifact_hint="the drift.json artifact")
    assert len(out) < 60_000
    assert out.startswith(drift_markdown.REPORT_MARKER)
    assert "more are not shown: see the drift.json artifact." in out
    for category in (Category.MODIFIED, Category.FAILING, Category.UNMANAGED):
        assert drift_text.TITLE[category] in out
    assert "| Task 0000 " in out


def test_junit_is_valid_xml_with_one_case_per_task() -> None:
    report = full_report()
    text = drift_junit.render(report, now=NOW, tenant="https://acme.example\x01")
    root = ET.fromstring(text.encode())
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == len(report.tasks) == int(suite.get("tests", "-1"))
    failures = [c for c in cases if c.find("failure") is not None]
    skipped = [c for c in cases if c.find("skipped") is not None]
    assert int(suite.get("failures", "-1")) == len(failures) == sum(t.drifted for t in report.tasks)
    assert int(suite.get("skipped", "-1")) == len(skipped) == 2  # unmanaged, legacy
    assert root.get("failures") == suite.get("failures")
    sales = next(c for c in cases if c.get("name") == "Sales ETL")
    assert sales.get("classname") == "tasks.t"
    failure = sales.find("failure")
    assert failure is not None
    assert failure.get("type") == "modified,failing"
    assert "changed in the hub" in (failure.text or "")
    passed = next(c for c in cases if c.get("name") == "Quiet")
    assert list(passed) == []
    assert "\\u0001" in (suite.get("name") or "")


def test_junit_of_a_clean_tenant_has_no_failures() -> None:
    root = ET.fromstring(drift_junit.render(report_of(), now=NOW).encode())
    assert root.get("failures") == "0"
    assert root.get("tests") == "3"
