"""plan and apply end to end: the CLI in a subprocess against the emulator over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from reconciler.emulator import Reply
from reconciler.emulator.replies import json_reply
from reconciler.model import MARKER
from tests.conftest import APP_A
from tests.e2e.conftest import Cli, LiveTenant

pytestmark = pytest.mark.e2e
EXAMPLE_TASKS = 9


def _plan(cli: Cli, *args: str) -> dict[str, Any]:
    result = cli("plan", "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def _by_name(tenant: LiveTenant) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in tenant.emulator.tasks()}


def _applied(cli: Cli) -> None:
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr


def test_empty_tenant_plans_a_create_per_task_with_one_listing_each_and_one_read_per_app(
    cli: Cli,
) -> None:
    plan = _plan(cli)
    assert plan["format_version"] == "1"
    assert plan["summary"]["create"] == EXAMPLE_TASKS
    assert [c["action"] for c in plan["changes"]] == ["create"] * EXAMPLE_TASKS
    apps = {
        c["after"]["states"][0]["onEvents"][0]["actions"][0]["functionRef"]["arguments"]["appId"]
        for c in plan["changes"]
    }
    assert len(apps) < EXAMPLE_TASKS  # two tasks share an app: it is read once
    assert plan["requests"] == {
        "list_tasks": 1,
        "users_me": 1,  # who we are
        "list_legacy_reload_tasks": 1,
        "get_app": len(apps),
    }
    assert plan["problems"] == []
    assert cli("plan", "--detailed-exitcode").returncode == 2


def test_apply_creates_everything_and_the_next_plan_is_empty(cli: Cli, tenant: LiveTenant) -> None:
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Apply complete: 9 done, 0 failed, 0 skipped." in result.stdout

    live = _by_name(tenant)
    assert len(live) == EXAMPLE_TASKS
    assert all(MARKER in t["annotations"] for t in live.values())
    assert live["Campaign results (hourly, on demand)"]["enabled"] is False
    assert all(t["enabled"] for n, t in live.items() if n != "Campaign results (hourly, on demand)")
    dashboard = live["Finance dashboard"]
    upstream_ids = {
        c["contextAttributeValue"]
        for e in dashboard["events"]
        for c in e["correlation"]
        if c["contextAttributeName"] == "id"
    }
    assert upstream_ids == {live["Sales ETL"]["id"], live["Budget load"]["id"]}

    again = cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout
    assert "No changes. The tenant matches git." in again.stdout


def test_an_out_of_band_edit_plans_exactly_one_update(cli: Cli, tenant: LiveTenant) -> None:
    _applied(cli)
    etl = _by_name(tenant)["Sales ETL"]

    def edit(doc: dict[str, Any]) -> None:
        doc["start"]["schedule"]["recurrence"] = "RRULE:FREQ=DAILY;BYHOUR=9"

    tenant.emulator.edit_task(etl["id"], edit)
    plan = _plan(cli)
    assert plan["summary"] == {
        "create": 0,
        "update": 1,
        "delete": 0,
        "migrate": 0,
        "conflict": 0,
        "ignored": 0,
    }
    (change,) = plan["changes"]
    assert change["task_id"] == etl["id"]
    assert [op["path"] for op in change["patch"]] == ["/start"]
    assert change["patch"][0]["value"]["schedule"]["recurrence"].endswith(
        "BYHOUR=6;BYMINUTE=0;BYSECOND=0"
    )
    assert cli("plan", "--detailed-exitcode").returncode == 2

    _applied(cli)
    assert _plan(cli)["summary"]["update"] == 0


def test_an_unmanaged_task_of_the_same_name_is_a_conflict_until_adopted(
    cli: Cli, tenant: LiveTenant
) -> None:
    tenant.emulator.put_task_raw(
        {
            "name": "Sales ETL",
            "enabled": True,
            "specVersion": "0.8",
            "states": [
                {
                    "name": "reload",
                    "type": "event",
                    "onEvents": [
                        {
                            "eventRefs": [],
                            "actions": [
                                {
                                    "name": "reload-action",
                                    "functionRef": {
                                        "refName": "app.reload",
                                        "arguments": {"appId": APP_A},
                                    },
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    )
    plan = _plan(cli)
    assert [c["name"] for c in plan["conflicts"]] == ["Sales ETL"]
    assert plan["summary"]["conflict"] == 1
    applied = cli("apply", "--auto-approve")
    assert "conflict" in applied.stdout
    unmanaged = [t for t in tenant.emulator.tasks() if t["name"] == "Sales ETL"]
    assert len(unmanaged) == 1
    assert MARKER not in (unmanaged[0].get("annotations") or [])

    adopted = cli("apply", "--auto-approve", "--adopt")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    (task,) = [t for t in tenant.emulator.tasks() if t["name"] == "Sales ETL"]
    assert MARKER in task["annotations"]
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_a_failed_page_fails_the_plan_and_shows_no_deletes(cli: Cli, tenant: LiveTenant) -> None:
    _applied(cli)
    for i in range(150):  # enough managed tasks for two pages
        tenant.emulator.put_task_raw(
            {**_by_name(tenant)["Sales ETL"], "id": None, "name": f"Extra {i}"}
        )
    original = tenant.emulator.handle

    def failing_second_page(
        method: str, path: str, query: Any = "", *args: Any, **kw: Any
    ) -> Reply:
        if method == "GET" and path.endswith("/api/scheduling/tasks") and "page=" in str(query):
            return json_reply(500, {"errors": [{"code": "HTTP-500", "title": "boom"}]})
        return original(method, path, query, *args, **kw)

    tenant.emulator.handle = failing_second_page  # type: ignore[method-assign]
    result = cli("plan", "--format", "json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "HTTP 500" in result.stderr
    assert "delete" not in result.stderr
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 1
    assert len(tenant.emulator.tasks()) == EXAMPLE_TASKS + 150


def test_removing_a_file_deletes_that_task_only(cli: Cli, tenant: LiveTenant) -> None:
    _applied(cli)
    cli.project.remove("tasks/ops/etl-failure-alert.yaml")
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deleted 'Sales ETL failure alert'" in result.stdout
    assert set(_by_name(tenant)) == {
        "HR headcount",
        "Campaign results (morning)",
        "Campaign results (hourly, on demand)",
        "Sales ETL",
        "Budget load",
        "Stock refresh on new data",
        "Finance dashboard",
        "Board pack",
    }


def test_a_change_to_one_file_applies_one_patch(cli: Cli, tenant: LiveTenant) -> None:
    _applied(cli)
    path = cli.project.root / "tasks" / "sales" / "budget-load.yaml"
    path.write_text(path.read_text().replace('"30 5 * * 1-5"', '"0 4 * * 1-5"'))
    before = len(tenant.emulator.request_log)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    writes = [r for r in tenant.emulator.request_log[before:] if r.method != "GET"]
    assert [(w.method, w.status) for w in writes] == [("PATCH", 200)]
    assert _by_name(tenant)["Budget load"]["start"]["schedule"]["cron"] == "0 4 * * 1-5"


def test_mass_delete_is_refused_unless_allowed(cli: Cli, tenant: LiveTenant) -> None:
    _applied(cli)
    for name in (
        "ops/etl-failure-alert.yaml",
        "finance/board-pack.yaml",
        "stock/stock-refresh.yaml",
    ):
        cli.project.remove(f"tasks/{name}")
    refused = cli("apply", "--auto-approve")
    assert refused.returncode == 4
    assert "--allow-mass-delete" in refused.stderr
    assert len(tenant.emulator.tasks()) == EXAMPLE_TASKS
    allowed = cli("apply", "--auto-approve", "--allow-mass-delete")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert len(tenant.emulator.tasks()) == EXAMPLE_TASKS - 3


def test_a_saved_plan_is_applied_exactly_or_refused_when_stale(
    cli: Cli, tenant: LiveTenant
) -> None:
    _applied(cli)
    path = cli.project.root / "tasks" / "sales" / "sales-etl.yaml"
    path.write_text(path.read_text().replace("BYHOUR=6", "BYHOUR=5"))
    assert cli("plan", "--out", "plan.json").returncode == 0
    etl = _by_name(tenant)["Sales ETL"]
    tenant.emulator.edit_task(etl["id"], lambda d: d.update(description="edited in the hub"))
    before = len(tenant.emulator.request_log)
    stale = cli("apply", "plan.json")
    assert stale.returncode == 3, stale.stdout + stale.stderr
    assert "Sales ETL" in stale.stderr
    assert all(r.method == "GET" for r in tenant.emulator.request_log[before:])

    assert cli("plan", "--out", "plan.json").returncode == 0
    fresh = cli("apply", "plan.json")
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    assert _by_name(tenant)["Sales ETL"]["start"]["schedule"]["recurrence"].startswith(
        "RRULE:FREQ=DAILY;BYHOUR=5"
    )


def test_apply_without_a_terminal_needs_auto_approve(cli: Cli, tenant: LiveTenant) -> None:
    result = cli("apply")
    assert result.returncode == 1
    assert "--auto-approve" in result.stderr
    assert tenant.emulator.tasks() == []


def test_ci_without_a_tenant_is_an_error(cli: Cli) -> None:
    result = cli("plan", QLIK_TENANT_URL="", QLIK_API_KEY="", CI="true")
    assert result.returncode == 1
    assert "CI=true" in result.stderr


def test_rate_limit_429s_from_the_tenant_are_absorbed(cli: Cli, tenant: LiveTenant) -> None:
    # The tenant allows 6 writes per 2 s window while the client believes it may go much faster.
    tenant.emulator.config.rate_window_s = 2.0
    tenant.emulator.set_rate_limits(writes=6)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert tenant.emulator.throttled_count() > 0
    assert "retrying" in result.stdout
    assert len(tenant.emulator.tasks()) == EXAMPLE_TASKS
    assert cli("plan", "--detailed-exitcode").returncode == 0


def _intercept(tenant: LiveTenant, decide: Any) -> None:
    """Let `decide(method, path, body, answer)` replace the tenant's answer to some requests."""
    original = tenant.emulator.handle

    def handle(
        method: str, path: str, query: Any = "", headers: Any = None, body: bytes = b""
    ) -> Reply:
        reply = decide(method, path, body, lambda: original(method, path, query, headers, body))
        return reply if reply is not None else original(method, path, query, headers, body)

    tenant.emulator.handle = handle  # type: ignore[method-assign]


def test_one_failed_create_skips_its_dependents_and_a_second_apply_converges(
    cli: Cli, tenant: LiveTenant
) -> None:
    original = tenant.emulator.handle

    def decide(method: str, path: str, body: bytes, answer: Any) -> Reply | None:
        if method == "POST" and path.endswith("/tasks") and b'"Finance dashboard"' in body:
            return json_reply(500, {"errors": [{"code": "HTTP-500", "title": "injected failure"}]})
        return None

    _intercept(tenant, decide)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 1
    assert "FAILED create 'Finance dashboard'" in result.stdout
    assert "SKIPPED create 'Board pack'" in result.stdout
    assert "Apply incomplete: 7 done, 1 failed, 1 skipped." in result.stdout
    assert len(tenant.emulator.tasks()) == EXAMPLE_TASKS - 2

    tenant.emulator.handle = original  # type: ignore[method-assign]
    again = cli("apply", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_a_task_is_kept_while_a_chain_after_it_could_not_be_moved_off_it(
    cli: Cli, tenant: LiveTenant
) -> None:
    _applied(cli)
    original = tenant.emulator.handle
    cli.project.remove("tasks/finance/finance-dashboard.yaml")
    cli.project.write(
        "tasks/finance/board-inputs.yaml",
        "name: Board inputs\nreload:\n  appId: ${var.board_app}\nafter: [Sales ETL]\n",
    )
    board_pack = cli.project.root / "tasks" / "finance" / "board-pack.yaml"
    board_pack.write_text(board_pack.read_text().replace("[Finance dashboard]", "[Board inputs]"))

    def decide(method: str, path: str, body: bytes, answer: Any) -> Reply | None:
        if method == "POST" and path.endswith("/tasks") and b'"Board inputs"' in body:
            return json_reply(500, {"errors": [{"code": "HTTP-500", "title": "injected failure"}]})
        return None

    _intercept(tenant, decide)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 1
    assert "FAILED create 'Board inputs'" in result.stdout
    assert "SKIPPED update 'Board pack'" in result.stdout
    assert "SKIPPED delete 'Finance dashboard'" in result.stdout
    assert "kept: Board pack still runs after it" in result.stdout
    tasks = _by_name(tenant)
    assert "Finance dashboard" in tasks  # Board pack still runs after it

    tenant.emulator.handle = original  # type: ignore[method-assign]
    again = cli("apply", "--auto-approve")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Finance dashboard" not in _by_name(tenant)
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_a_connection_dropped_after_post_creates_no_duplicate(cli: Cli, tenant: LiveTenant) -> None:
    dropped: list[str] = []
    lock = threading.Lock()  # the server answers in parallel threads

    def decide(method: str, path: str, body: bytes, answer: Any) -> Reply | None:
        with lock:
            if method != "POST" or not path.endswith("/tasks") or len(dropped) >= 3:
                return None
            dropped.append("pending")
            index = len(dropped) - 1
        reply = answer()  # the write happens ...
        dropped[index] = str(reply.status)
        return Reply(0, dropped=True)  # ... but its answer is lost

    _intercept(tenant, decide)
    result = cli("apply", "--auto-approve")
    assert result.returncode == 0, result.stdout + result.stderr
    assert dropped == ["201", "201", "201"]
    names = [t["name"] for t in tenant.emulator.tasks()]
    assert sorted(names) == sorted(set(names))
    assert len(names) == EXAMPLE_TASKS
    assert cli("plan", "--detailed-exitcode").returncode == 0
