"""Preflight over HTTP: each problem the tenant would refuse fails plan (exit 1) at its task file's
line, in text and in the JSON plan's `problems`, and apply writes nothing; each warning leaves the
plan green."""

from __future__ import annotations

import json
from typing import Any

from reconciler import apidoc
from tests.e2e.conftest import Cli, LiveTenant

SALES_APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
STOCK_APP = "0a6e3c9b-2d4f-4a8e-9c1b-7f6e5d4c3b2a"
UNKNOWN_APP = "0b7f3c2e-1d4a-4e5f-8a9b-0c1d2e3f4a5b"
LOCKED_APP = "2c4e6a8b-0d1f-4a3c-9e5b-7d9f1b3d5f7a"


def _plan_json(cli: Cli) -> tuple[int, dict[str, Any]]:
    result = cli("plan", "--format", "json")
    return result.returncode, json.loads(result.stdout)


def _hand_made(name: str, app: str, **extra: Any) -> dict[str, Any]:
    """A task made in the hub: no marker."""
    return {
        "name": name,
        "enabled": True,
        "specVersion": "0.8",
        "states": [apidoc.reload_state(app)],
        **extra,
    }


def _refused(cli: Cli, tenant: LiveTenant, source: str, line: int, task: str, words: str) -> None:
    """Plan fails with the problem at source:line, in text and JSON; apply writes nothing."""
    text = cli("plan")
    assert text.returncode == 1, text.stdout + text.stderr
    located = [ln.strip() for ln in text.stdout.splitlines() if ln.strip().startswith(source)]
    assert any(ln.startswith(f"{source}:{line}: ") and words in ln for ln in located), text.stdout
    assert "nothing was written" in text.stderr
    code, plan = _plan_json(cli)
    assert code == 1
    assert {"source": source, "line": line, "task": task} in [
        {k: p[k] for k in ("source", "line", "task")} for p in plan["problems"]
    ], plan["problems"]
    before = tenant.emulator.tasks()
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 1
    assert tenant.emulator.tasks() == before


def test_an_app_that_does_not_exist_is_a_problem_at_its_line(cli: Cli, tenant: LiveTenant) -> None:
    cli.project.write(
        "tasks/extra/ghost.yaml",
        f"""\
        name: Ghost reload
        reload:
          appId: {UNKNOWN_APP}
        """,
    )
    _refused(cli, tenant, "tasks/extra/ghost.yaml", 3, "Ghost reload", "does not exist")


def test_an_app_the_caller_may_not_reload_is_a_problem(cli: Cli, tenant: LiveTenant) -> None:
    tenant.emulator.add_app(LOCKED_APP, "Locked finance", privileges=["read"])
    cli.project.write(
        "tasks/extra/locked.yaml",
        f"""\
        name: Locked reload
        description: the caller may only read this app
        reload: {{appId: {LOCKED_APP}}}
        """,
    )
    _refused(cli, tenant, "tasks/extra/locked.yaml", 3, "Locked reload", '"Locked finance"')


def test_an_app_over_ten_tasks_counts_unmanaged_and_legacy_tasks(
    cli: Cli, tenant: LiveTenant
) -> None:
    for i in range(8):
        tenant.emulator.put_task_raw(_hand_made(f"Hand-made {i}", SALES_APP))
    tenant.emulator.add_legacy(
        {
            "appId": SALES_APP,
            "partial": False,
            "timeZone": "UTC",
            "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=3;BYMINUTE=0;BYSECOND=0"],
            "startDateTime": "2026-01-01T03:00:00",
            "state": "Enabled",
            "type": "scheduled_reload",
        }
    )
    cli.project.write(
        "tasks/extra/sales-noon.yaml",
        f"""\
        name: Sales at noon
        reload: {{appId: {SALES_APP}}}
        schedule: {{recurrence: "RRULE:FREQ=DAILY;BYHOUR=12;BYMINUTE=0;BYSECOND=0"}}
        """,
    )
    # 8 unmanaged + 1 legacy + Sales ETL + Sales at noon = 11 on one app.
    _refused(cli, tenant, "tasks/extra/sales-noon.yaml", 2, "Sales at noon", "8 unmanaged")
    _, plan = _plan_json(cli)
    message = next(p["message"] for p in plan["problems"] if p["task"] == "Sales at noon")
    assert "11 tasks" in message and "1 legacy" in message and '"Sales"' in message


def test_a_second_data_update_task_on_an_app_is_a_problem(cli: Cli, tenant: LiveTenant) -> None:
    events = [
        {
            "name": "data-updated",
            "type": "com.qlik/active-analytics-orch",
            "source": "dataset.updated",
            "correlation": [{"contextAttributeName": "appId", "contextAttributeValue": STOCK_APP}],
        }
    ]
    tenant.emulator.put_task_raw(_hand_made("Stock on upload (hub)", STOCK_APP, events=events))
    _refused(
        cli,
        tenant,
        "tasks/stock/stock-refresh.yaml",
        5,
        "Stock refresh on new data",
        "Stock on upload (hub)",
    )


EXPIRED = f"""\
name: Expired campaign
reload: {{appId: {SALES_APP}}}
schedule:
  recurrence: RRULE:FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0
  startDateTime: 2024-01-01T09:00:00
  endDateTime: 2024-06-01T00:00:00
"""
"""A task file whose schedule ended in the past (its endDateTime on line 6)."""


def test_an_end_in_the_past_on_a_task_to_create_is_a_problem(cli: Cli, tenant: LiveTenant) -> None:
    cli.project.write(
        "tasks/extra/expired.yaml",
        EXPIRED,
    )
    _refused(cli, tenant, "tasks/extra/expired.yaml", 6, "Expired campaign", "CHO-017")


def test_an_end_in_the_past_is_said_once_as_the_problem(cli: Cli, tenant: LiveTenant) -> None:
    """The task files' warning of the same end is not printed beside the preflight problem."""
    cli.project.write(
        "tasks/extra/expired.yaml",
        EXPIRED,
    )
    text = cli("plan")
    assert text.returncode == 1
    said = [ln for ln in (text.stdout + text.stderr).splitlines() if "expired.yaml:6" in ln]
    assert len(said) == 1 and "CHO-017" in said[0], "\n".join(said)
    code, plan = _plan_json(cli)
    assert code == 1
    assert not [w for w in plan["warnings"] if "expired.yaml:6" in w], plan["warnings"]
    assert [p["line"] for p in plan["problems"] if p["task"] == "Expired campaign"] == [6]


def test_deleting_a_task_that_unmanaged_tasks_run_after_is_a_warning_naming_both(
    cli: Cli, tenant: LiveTenant
) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    upstream = next(t for t in tenant.emulator.tasks() if t["name"] == "HR headcount")
    chained = _hand_made(
        "HR report (hub)",
        SALES_APP,
        events=[
            {
                "name": "after-hr",
                "type": "com.qlik.v1.task.run.finished",
                "source": "system-events.task",
                "correlation": [
                    {"contextAttributeName": "id", "contextAttributeValue": upstream["id"]},
                    {"contextAttributeName": "status", "contextAttributeValue": "succeeded"},
                ],
            }
        ],
    )
    tenant.emulator.put_task_raw(chained)
    cli.project.remove("tasks/hr/headcount.yaml")
    result = cli("plan", "--detailed-exitcode")
    assert result.returncode == 2, result.stdout + result.stderr
    warning = [
        ln for ln in result.stdout.splitlines() if "HR report (hub)" in ln and "breaks" in ln
    ]
    assert len(warning) == 1 and '"HR headcount"' in warning[0], result.stdout
    code, plan = _plan_json(cli)
    assert code == 0 and plan["problems"] == []
    assert any("HR report (hub)" in w and "HR headcount" in w for w in plan["warnings"])


def test_a_plan_the_mass_delete_guard_will_refuse_is_a_warning_naming_the_flag(
    cli: Cli, tenant: LiveTenant
) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    cli.project.remove("tasks/marketing/campaigns.yaml")
    cli.project.remove("tasks/hr/headcount.yaml")
    result = cli("plan")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--allow-mass-delete" in result.stdout.split("Warnings:")[1]
    refused = cli("apply", "--auto-approve")
    assert refused.returncode == 4
    cli.project.write(
        "tasks/hr/headcount.yaml",
        """\
        name: HR headcount
        reload: {appId: 4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d}
        """,
    )
    cli.project.write(
        "tasks/marketing/campaigns.yaml",
        """\
        name: Campaign results (morning)
        reload: {appId: 8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d}
        """,
    )
    calm = cli("plan")
    assert calm.returncode == 0
    assert "--allow-mass-delete" not in calm.stdout
