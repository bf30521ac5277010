"""The plan reports: terminal text, the pull-request comment and the saved JSON document."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler import apidoc, model, planfile, schedule
from reconciler.apidoc import known_after_apply
from reconciler.errors import ReconcilerError
from reconciler.plan import Action, Kind, Options, Plan, RemoteTask, build_plan
from reconciler.report import plan_json, plan_markdown, plan_text
from tests.conftest import APP_A, APP_B, tasks_from

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
MARKER = model.MARKER
DAILY_6 = "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
DAILY_7 = "RRULE:FREQ=DAILY;BYHOUR=7;BYMINUTE=0;BYSECOND=0"
SYMBOLS = "+~->!"


def sales(rule: str = DAILY_6) -> str:
    return f"""
    name: Sales ETL
    reload: {{appId: {APP_A}}}
    schedule:
      recurrence: "{rule}"
      timezone: Europe/Zurich
      startDateTime: "2026-01-01T06:00:00"
    """


FINANCE = f"""
---
name: Finance dashboard
reload: {{appId: {APP_B}}}
after:
  - task: Sales ETL
"""


def live(text: str, ids: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Live documents as the service would return them for these tasks (managed)."""
    ids = ids or {}
    docs = []
    for task in tasks_from(text):
        doc = apidoc.build(task, ids, MARKER)
        doc["id"] = ids.get(task.name, f"id-{task.name.lower().replace(' ', '-')}")
        doc["metadata"] = {"createdAt": "2026-01-02T00:00:00Z"}
        docs.append(doc)
    return docs


def plan_of(text: str, live_docs: list[dict[str, Any]] | None = None) -> Plan:
    return build_plan(tasks_from(text), live_docs or [], Options(marker=MARKER))


def action(kind: Kind, name: str, **kw: Any) -> Action:
    return Action(kind, name, kw.pop("reason", f"reason for {name}"), **kw)


def headers(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in SYMBOLS and line[:1]]


# -- the summary line ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ([], "No changes. The tenant matches git."),
        (
            [Kind.CREATE, Kind.CREATE, Kind.UPDATE, Kind.MIGRATE],
            "Plan: 2 to create, 1 to update, 0 to delete, 1 to migrate.",
        ),
        ([Kind.DELETE], "Plan: 0 to create, 0 to update, 1 to delete, 0 to migrate."),
        (
            [Kind.CONFLICT],
            "Plan: 0 to create, 0 to update, 0 to delete, 0 to migrate. "
            "1 conflict(s) need --adopt or a rename.",
        ),
    ],
)
def test_summary_line_ends_text_and_leads_markdown(kinds: list[Kind], expected: str) -> None:
    plan = Plan(actions=[action(k, f"T{i}", source="tasks/t.yaml") for i, k in enumerate(kinds)])
    text = plan_text.render(plan, now=NOW)
    assert text.splitlines()[-1] == expected
    assert plan_text.render(plan, now=NOW, requests=14).splitlines()[-1] == (
        f"{expected} (14 API requests)"
    )
    comment = plan_markdown.render(plan, now=NOW)
    assert comment.splitlines()[:2] == [plan_markdown.COMMENT_MARKER, f"**{expected}**"]


def test_text_groups_by_action_and_every_symbol_line_is_a_header() -> None:
    plan = Plan(
        actions=[
            action(Kind.DELETE, "Old", task_id="d1"),
            action(Kind.UPDATE, "Upd", source="tasks/u.yaml", task_id="u1"),
            action(Kind.CREATE, "New", source="tasks/n.yaml"),
            action(Kind.CONFLICT, "Taken", source="tasks/c.yaml", task_id="c1"),
            action(Kind.MIGRATE, "Moved", source="tasks/m.yaml", migrate_from="L1"),
        ],
        unmanaged=[RemoteTask("x1", "- tricky name", "app ?")],
        legacy=[RemoteTask("L9", APP_B, "not migrated; see `migrate`")],
        warnings=["a warning"],
    )
    text = plan_text.render(plan, now=NOW, tenant="https://acme.eu.qlikcloud.com")
    assert headers(text) == [
        '+ create "New"  (tasks/n.yaml)',
        '> migrate "Moved"  (tasks/m.yaml)',
        '~ update "Upd"  (tasks/u.yaml)',
        '- delete "Old"  (id d1)',
        '! conflict "Taken"  (tasks/c.yaml)',
    ]
    assert text.startswith("Tenant: https://acme.eu.qlikcloud.com\n")
    assert '    "- tricky name"  (id x1, app ?)' in text
    assert "not managed: never changed" in text
    assert f"    L9  app {APP_B}: not migrated" in text
    assert "    a warning" in text
    assert "    reason for Old" in text


# -- updates: inner paths, schedules, placeholders -------------------------------------------


def test_update_shows_inner_path_diff_and_runs_before_and_after() -> None:
    plan = plan_of(sales(DAILY_7), live(sales(DAILY_6)))
    [upd] = plan.actions
    assert upd.kind is Kind.UPDATE
    text = plan_text.render(plan, now=NOW)
    assert f'    schedule.recurrence: "{DAILY_6}" → "{DAILY_7}"' in text
    old = {
        "recurrence": DAILY_6,
        "timezone": "Europe/Zurich",
        "startDateTime": "2026-01-01T06:00:00",
    }
    new = {**old, "recurrence": DAILY_7}
    assert f"    schedule: {schedule.describe(old)} → {schedule.describe(new)}" in text
    days = ("2026-11-21", "2026-11-22", "2026-11-23")
    now_runs = ", ".join(f"{d} 06:00 CET" for d in days)
    new_runs = ", ".join(f"{d} 07:00 CET" for d in days)
    assert f"    next runs now:         {now_runs}" in text
    assert f"    next runs after apply: {new_runs}" in text
    assert "    patch: replace /start" in text
    assert text.splitlines()[-1] == "Plan: 0 to create, 1 to update, 0 to delete, 0 to migrate."


def test_update_from_schedule_to_chain_reads_normalised() -> None:
    other = f"name: Other\nreload: {{appId: {APP_B}}}\n"
    plan = plan_of(
        f"{other}---\nname: Sales ETL\nreload: {{appId: {APP_A}}}\nafter: [Other]\n",
        [*live(sales()), *live(other)],
    )
    [upd] = plan.actions
    assert upd.fields == ["start", "events", "states"]
    text = plan_text.render(plan, now=NOW)
    assert "actionMode" not in text  # a default of the live side, not a change
    # The diff shows the event name git renders, not the label the comparison gives events.
    assert '    reload action[0].onEvents[0].eventRefs[0]: (none) → "upstream-1"' in text
    old = schedule.describe(upd.before["start"]["schedule"])  # type: ignore[index]
    assert f"    trigger: schedule, {old} → after task id-other (succeeded)" in text
    assert f"    schedule: {old} → no schedule" in text
    assert "    next runs now:         2026-11-21 06:00 CET" in text
    assert "next runs after apply" not in text


@pytest.mark.parametrize(
    ("field", "before", "after", "expected"),
    [
        ("enabled", False, True, "enabled: false → true"),
        ("description", "", "Nightly", 'description: "" → "Nightly"'),
        (
            "states",
            [{"onEvents": [{"actions": [{"functionRef": {"arguments": {"appId": APP_A}}}]}]}],
            [{"onEvents": [{"actions": [{"functionRef": {"arguments": {"appId": APP_B}}}]}]}],
            f'reload action.app: "{APP_A}" → "{APP_B}"',
        ),
        (
            "events",
            [{"correlation": [{"contextAttributeValue": "id-1"}]}],
            [{"correlation": [{"contextAttributeValue": known_after_apply("Up")}]}],
            'trigger[0].correlation[0].contextAttributeValue: "id-1" → "Up" (known after apply)',
        ),
        ("start", None, {"stateName": "reload"}, 'schedule: (none) → {"stateName": "reload"}'),
    ],
)
def test_update_field_words(field: str, before: Any, after: Any, expected: str) -> None:
    upd = action(
        Kind.UPDATE,
        "T",
        task_id="t1",
        fields=[field],
        before={field: before},
        after={field: after},
    )
    assert [str(c) for c in plan_text.changes(upd)] == [expected]


def test_create_says_what_will_exist_with_placeholders_and_runs() -> None:
    plan = plan_of(sales() + FINANCE)
    assert [(a.kind, a.name) for a in plan.actions] == [
        (Kind.CREATE, "Sales ETL"),
        (Kind.CREATE, "Finance dashboard"),
    ]
    text = plan_text.render(plan, now=NOW)
    sched = plan.actions[0].after["start"]["schedule"]  # type: ignore[index]
    runs = ", ".join(f"2026-11-{d} 06:00 CET" for d in (21, 22, 23))
    assert f"    trigger: schedule, {schedule.describe(sched)}" in text
    assert f"    next runs after apply: {runs}" in text
    assert "    next runs now" not in text
    assert f"    app {APP_A}" in text
    assert "    enabled: yes" in text
    assert '    trigger: after "Sales ETL" (known after apply) (succeeded)' in text
    assert "(known after apply:" not in text


@pytest.mark.parametrize(
    ("yaml_text", "trigger"),
    [
        (f"name: T\nreload: {{appId: {APP_A}}}\n", "on demand only"),
        (f"name: T\nreload: {{appId: {APP_A}}}\nonDataUpdate: true\n", "on data update"),
        (
            f"name: T\nreload: {{appId: {APP_A}}}\nafter: [{{taskId: abc, status: failed}}]\n",
            "after task abc (failed)",
        ),
        (
            f"name: T\nreload: {{appId: {APP_A}}}\nwhen: all\n"
            "after: [{taskId: abc}, {taskId: def, status: any}]\n",
            "after all of task abc (succeeded), task def (any)",
        ),
    ],
)
def test_trigger_words(yaml_text: str, trigger: str) -> None:
    [task] = tasks_from(yaml_text)
    doc = apidoc.build(task, {}, MARKER)
    assert plan_text.trigger_words(doc, {}) == trigger


def test_delete_shows_runs_before_only_and_disabled_tasks_do_not_run() -> None:
    docs = live(sales())
    plan = plan_of(f"name: Other\nreload: {{appId: {APP_B}}}\nenabled: false\n", docs)
    assert [a.kind for a in plan.actions] == [Kind.CREATE, Kind.DELETE]
    text = plan_text.render(plan, now=NOW)
    assert "    next runs now: 2026-11-21 06:00 CET, 2026-11-22 06:00 CET" in text
    assert "next runs after apply" not in text
    assert "    enabled: no (it will not run)" in text
    assert '- delete "Sales ETL"  (id id-sales-etl)' in text


def test_text_escapes_control_characters_and_keeps_headers_alone() -> None:
    plan = Plan(
        actions=[action(Kind.DELETE, "x\n- y", task_id="a\nb", reason="one\n+ two")],
        unmanaged=[RemoteTask("x", "evil\x1b[31m\u202ename\x9b", "")],
        warnings=["first\n! second"],
    )
    text = plan_text.render(plan, now=NOW)
    assert not {"\x1b", "\u202e", "\x9b"} & set(text)
    assert "\\u001b[31m\\u202ename\\u009b" in text
    assert headers(text) == ['- delete "x\\n- y"  (id a\\nb)']
    assert "\n    one\n    + two\n" in text


# -- the saved plan -----------------------------------------------------------------------------


def _mixed_plan() -> Plan:
    plan = plan_of(
        sales(DAILY_7) + FINANCE + f"---\nname: Taken\nreload: {{appId: {APP_B}}}\n",
        [
            *live(sales(DAILY_6)),
            *live(f"name: Gone\nreload: {{appId: {APP_A}}}\n"),
            {**live(f"name: Taken\nreload: {{appId: {APP_B}}}\n")[0], "annotations": []},
        ],
    )
    plan.warnings.append("endDateTime is in the past")
    plan.legacy.append(RemoteTask("L1", APP_A, "not migrated"))
    return plan


def test_json_round_trips_through_load() -> None:
    plan = _mixed_plan()
    assert {a.kind for a in plan.actions} == {Kind.CREATE, Kind.UPDATE, Kind.DELETE, Kind.CONFLICT}
    zurich = timezone(timedelta(hours=1))
    text = plan_json.render(
        plan,
        tenant="https://acme.eu.qlikcloud.com",
        generated_at=datetime(2026, 11, 20, 11, 0, tzinfo=zurich),
        git_commit="abc123",
        requests={"list_tasks": 2},
    )
    doc = json.loads(text)
    assert doc["format_version"] == "1"
    assert doc["generated_at"] == "2026-11-20T10:00:00Z"
    assert doc["summary"] == {
        "create": 1,
        "update": 1,
        "delete": 1,
        "migrate": 0,
        "conflict": 1,
        "ignored": 0,
    }
    assert [c["action"] for c in doc["changes"]] == ["create", "update", "delete"]
    assert [c["name"] for c in doc["conflicts"]] == ["Taken"]
    assert set(doc["changes"][0]) >= {"action", "name", "task_id", "source", "reason", "before"}
    loaded, header = planfile.load(text)
    assert loaded.changes == plan.changes
    assert loaded.conflicts == plan.conflicts
    assert (loaded.unmanaged, loaded.legacy, loaded.warnings) == (
        plan.unmanaged,
        plan.legacy,
        plan.warnings,
    )
    assert loaded.managed_count == plan.managed_count
    assert header == {
        "format_version": "1",
        "tenant": "https://acme.eu.qlikcloud.com",
        "generated_at": "2026-11-20T10:00:00Z",
        "git_commit": "abc123",
        "summary": doc["summary"],
        "requests": {"list_tasks": 2},
    }


def _saved(**change: Any) -> str:
    doc = plan_json.document(
        _mixed_plan(), tenant=None, generated_at=NOW, git_commit=None, requests=None
    )
    doc.update(change)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_saved(format_version="2"), 'format_version "2"'),
        (_saved(format_version=1), "format_version 1;"),
        ("{}", "no format_version"),
        ("[1, 2]", "no format_version"),
        ("{not json", "not valid JSON"),
        (_saved(changes=[{"action": "explode", "name": "x"}]), "changes[0].action: unknown"),
        (_saved(changes=[{"action": "conflict", "name": "x"}]), "does not belong"),
        (_saved(changes="nope"), "changes must be a list"),
        (_saved(changes=[{"action": "create"}]), "changes[0].name must be a string"),
        (_saved(changes=[{"action": "create", "name": "x", "patch": [1]}]), "patch[0] must be"),
        (_saved(summary={"create": 9}), "summary does not match"),
        (_saved(unmanaged=[{"id": 1, "name": "x"}]), "unmanaged[0].id must be a string"),
    ],
)
def test_load_refuses(text: str, message: str) -> None:
    with pytest.raises(ReconcilerError, match=re.escape(message)):
        planfile.load(text)


def test_generated_at_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        plan_json.document(
            Plan(), tenant=None, generated_at=datetime(2026, 1, 1), git_commit=None, requests=None
        )


# -- the pull-request comment -------------------------------------------------------------------


def _cells(row: str) -> list[str]:
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


def _node(nodes: dict[str, str], label: str) -> str:
    return next(node for node, text in nodes.items() if text == label)


def test_markdown_comment() -> None:
    plan = _mixed_plan()
    comment = plan_markdown.render(plan, now=NOW, tenant="https://acme.eu.qlikcloud.com")
    lines = comment.splitlines()
    assert lines[0] == "<!-- qlik-task-reconciler:plan -->"
    assert lines[1] == f"**{plan.summary_line()}**"
    rows = [_cells(line) for line in lines if line.startswith("| `")]
    # deletes first, then schedule changes, then the rest
    assert [(r[1], r[2]) for r in rows] == [
        ("delete", "Gone"),
        ("update", "Sales ETL"),
        ("create", "Finance dashboard"),
    ]
    assert rows[1][4].startswith("differs from git: schedule<br>schedule: ")
    mermaid = comment.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert mermaid.startswith("flowchart LR")
    nodes = dict(re.findall(r'(t\d+)\["(.*)"\]', mermaid))
    assert sorted(nodes.values()) == ["+ Finance dashboard", "~ Sales ETL"]
    assert (
        f"{_node(nodes, '~ Sales ETL')} -->|succeeded| {_node(nodes, '+ Finance dashboard')}"
        in (mermaid)
    )
    assert "classDef create" in mermaid
    assert "<details><summary><code>~</code> update <b>Sales ETL</b>: schedule</summary>" in comment
    assert '```json\n[\n  {\n    "op": "replace",\n    "path": "/start"' in comment
    assert f'- schedule.recurrence: "{DAILY_6}"' in comment
    assert f'+ schedule.recurrence: "{DAILY_7}"' in comment
    assert "next runs after apply: 2026-11-21 07:00 CET" in comment
    sections = ["Conflicts", "Warnings"] + (
        ["Not managed: never changed"] if plan.unmanaged else []
    )
    for section in sections:
        assert f"\n### {section}\n" in comment
    assert "not shown" not in comment


@pytest.mark.parametrize(
    "name",
    ["Sales | EU", "a `code` name", "*bold* _x_ [link](y) <b>html</b> #1 ~~s~~", "line\nbreak"],
)
def test_markdown_names_do_not_break_the_table(name: str) -> None:
    plan = Plan(actions=[action(Kind.CREATE, name, source="tasks/a|b.yaml", reason="r | s")])
    comment = plan_markdown.render(plan, now=NOW)
    [row] = [line for line in comment.splitlines() if line.startswith("| `")]
    cells = _cells(row)
    assert len(cells) == 5
    assert "`" not in cells[2].replace("\\`", "")
    assert "<" not in cells[2]
    if "|" in name:
        assert "Sales \\| EU" in cells[2]
        assert cells[3] == "tasks/a\\|b.yaml"


def test_markdown_fence_outlasts_backticks_in_values() -> None:
    assert plan_markdown.fenced("a ``` b", "json") == "````json\na ``` b\n````\n"


def _schedule_update(i: int) -> Action:
    old = {"stateName": "reload", "schedule": {"recurrence": DAILY_6, "timezone": "UTC"}}
    new = {"stateName": "reload", "schedule": {"recurrence": DAILY_7, "timezone": "UTC"}}
    return action(
        Kind.UPDATE,
        f"Task {i:04d}",
        source=f"tasks/t{i}.yaml",
        task_id=f"id{i}",
        reason="differs from git: start",
        fields=["start"],
        before={"start": old},
        after={"start": new},
        patch=[{"op": "replace", "path": "/start", "value": new}],
        upstreams=[f"Task {i - 1:04d}"] if i % 2 else [],
    )


def test_markdown_cuts_details_from_the_end_first() -> None:
    plan = Plan(actions=[_schedule_update(i) for i in range(200)])
    comment = plan_markdown.render(plan, now=NOW)
    assert len(comment) < 60_000
    assert sum(1 for line in comment.splitlines() if line.startswith("| `~`")) == 200
    shown = comment.count("<details>")
    assert 0 < shown < 200
    assert "<b>Task 0000</b>" in comment
    assert f"<b>Task {shown - 1:04d}</b>" in comment
    assert f"<b>Task {shown:04d}</b>" not in comment
    assert (
        f"… details of {200 - shown} more changes are not shown: see the plan.json artifact."
        in comment
    )
    assert "```mermaid" in comment


def test_markdown_of_2000_updates_stays_under_the_limit() -> None:
    plan = Plan(
        actions=[_schedule_update(i) for i in range(2000)],
        unmanaged=[RemoteTask(f"u{i}", f"Unmanaged {i}", "app ?") for i in range(3000)],
    )
    started = time.perf_counter()
    comment = plan_markdown.render(plan, now=NOW, artifact_hint="the `plan.json` artifact")
    assert time.perf_counter() - started < 3
    assert len(comment) < 60_000
    assert comment.splitlines()[1] == (
        "**Plan: 0 to create, 2000 to update, 0 to delete, 0 to migrate.**"
    )
    shown = sum(1 for line in comment.splitlines() if line.startswith("| `~`"))
    assert 0 < shown < 2000
    assert f"… {2000 - shown} more changes are not shown: see the `plan.json` artifact." in (
        comment
    )
    assert "… the 3000 unmanaged tasks are not shown: see the `plan.json` artifact." in comment
    assert "… details of the 2000 changes are not shown" in comment
    smaller = plan_markdown.render(plan, now=NOW, limit=5_000)
    assert len(smaller) < 5_000
