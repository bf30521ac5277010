"""drift end to end: the CLI in a subprocess against the emulator over HTTP, after the tenant
changed behind git's back in every way drift reports. Drift only reads."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from reconciler.model import MARKER
from tests.conftest import APP_A
from tests.e2e.conftest import API_KEY, Cli, LiveTenant

pytestmark = pytest.mark.e2e
AUTH = {"authorization": f"Bearer {API_KEY}"}


def _by_name(tenant: LiveTenant) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in tenant.emulator.tasks()}


def _drift_behind_gits_back(tenant: LiveTenant) -> None:
    """One of each: modified, missing, unmanaged, removed from git, conflict, disabled, failing,
    legacy."""
    emu = tenant.emulator
    live = _by_name(tenant)
    emu.edit_task(live["HR headcount"]["id"], lambda d: d.update(description="edited in the hub"))
    gone = emu.handle("DELETE", f"/api/scheduling/tasks/{live['Board pack']['id']}", headers=AUTH)
    assert gone.status == 204
    hand_made = copy.deepcopy(live["Budget load"])
    for key in ("id", "metadata", "resourceId"):
        hand_made.pop(key, None)
    emu.put_task_raw({**hand_made, "name": "Made in the hub", "annotations": []})
    emu.put_task_raw({**hand_made, "name": "Dropped from git", "annotations": [MARKER]})
    emu.edit_task(live["Stock refresh on new data"]["id"], lambda d: d.update(annotations=[]))
    emu.set_disabled(live["Budget load"]["id"], "CONSECUTIVE-FAILURES")
    emu.fail_app(APP_A)
    run = emu.handle(
        "POST", f"/api/scheduling/tasks/{live['Sales ETL']['id']}/actions/start", headers=AUTH
    )
    assert run.status in (200, 201)
    emu.add_legacy(
        {
            "appId": APP_A,
            "partial": False,
            "timeZone": "Europe/Zurich",
            "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=3;BYMINUTE=0;BYSECOND=0"],
            "startDateTime": "2026-01-01T03:00:00",
            "state": "Enabled",
            "type": "scheduled_reload",
        }
    )


EXPECTED = {
    "modified": "HR headcount",
    "missing": "Board pack",
    "unmanaged": "Made in the hub",
    "removed": "Dropped from git",
    "conflict": "Stock refresh on new data",
    "disabled": "Budget load",
    "failing": "Sales ETL",
}


def test_drift_reports_every_category_in_every_format_and_only_reads(
    cli: Cli, tenant: LiveTenant
) -> None:
    applied = cli("apply", "--auto-approve", "--adopt")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    clean = cli("drift", "--detailed-exitcode")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No drift. The tenant matches git." in clean.stdout

    _drift_behind_gits_back(tenant)
    before = len(tenant.emulator.request_log)
    stored = tenant.emulator.tasks()

    text = cli("drift", "--detailed-exitcode")
    assert text.returncode == 2, text.stdout + text.stderr
    as_json = cli("drift", "--format", "json", "--runs", "--out", "drift.json")
    assert as_json.returncode == 0, as_json.stderr
    markdown = cli("drift", "--format", "markdown", "--out", "drift.json")
    junit = cli("drift", "--format", "junit")
    assert markdown.returncode == junit.returncode == 0

    # nothing was written: only GETs reached the tenant, and every task is as it was
    methods = {entry.method for entry in tenant.emulator.request_log[before:]}
    assert methods == {"GET"}
    assert tenant.emulator.tasks() == stored

    for category, name in EXPECTED.items():
        header = [line for line in text.stdout.splitlines() if f'"{name}"' in line]
        assert header, (category, text.stdout)
        assert name in markdown.stdout
    assert "CONSECUTIVE-FAILURES" in text.stdout
    assert "edited in the hub" in text.stdout
    assert "legacy reload-task" in text.stdout
    # apps by name beside their ids: the hand-made task's (Budget) and the legacy task's
    assert 'app "Budget" (3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718)' in text.stdout

    doc = json.loads(as_json.stdout)
    saved = json.loads((cli.project.root / "drift.json").read_text())
    assert saved["format_version"] == "1" and saved["drifted"] is True
    assert doc["format_version"] == "1" and doc["runs_checked"] is True
    assert doc["requests"]["last_run"] >= 1
    found = {(f["category"], t["name"]) for t in doc["tasks"] for f in t["findings"]}
    for category, name in EXPECTED.items():
        assert (category, name) in found, (category, found)
    assert any(category == "legacy" for category, _ in found)

    assert markdown.stdout.startswith("<!-- qlik-task-reconciler:drift -->")
    for title in ("Modified in the tenant", "Missing from the tenant", "Unmanaged",
                  "Managed, but no longer in git", "Conflicts", "Disabled by the service", "Failing",
                  "Legacy reload-tasks not migrated"):  # fmt: skip
        assert title in markdown.stdout

    root = ET.fromstring(junit.stdout.encode())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    for category, name in EXPECTED.items():
        case = cases[name]
        outcome = case.find("skipped" if category == "unmanaged" else "failure")
        assert outcome is not None, (category, name)
        assert category in (outcome.get("message") or ""), (category, outcome.get("message"))
    assert cases["Campaign results (morning)"].find("failure") is None


HR_APP = "4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d"


def _reload_hr_from_sales(doc: dict[str, Any]) -> None:
    arguments = doc["states"][0]["onEvents"][0]["actions"][0]["functionRef"]["arguments"]
    arguments["appId"] = APP_A


def test_a_task_moved_to_another_app_is_named_in_each_formats_details(
    cli: Cli, tenant: LiveTenant
) -> None:
    assert cli("apply", "--auto-approve", "--adopt").returncode == 0
    tenant.emulator.edit_task(_by_name(tenant)["HR headcount"]["id"], _reload_hr_from_sales)

    text = cli("drift")
    assert text.returncode == 0, text.stderr
    wanted = f'reload action.app: "Sales" ({APP_A}) → "HR headcount" ({HR_APP})'
    assert wanted in text.stdout, text.stdout
    markdown = cli("drift", "--format", "markdown")
    assert wanted in markdown.stdout, markdown.stdout
    doc = json.loads(cli("drift", "--format", "json").stdout)
    (change,) = [
        c
        for t in doc["tasks"]
        if t["name"] == "HR headcount"
        for f in t["findings"]
        for c in f["changes"]
        if c["path"] == "reload action.app"
    ]
    assert change == {
        "path": "reload action.app",
        "tenant": APP_A,
        "git": HR_APP,
        "tenant_name": "Sales",
        "git_name": "HR headcount",
    }
