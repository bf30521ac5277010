"""migrate and import end to end: the CLI in a subprocess against the emulator over HTTP."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import apidoc
from reconciler.chains import desired_graph
from reconciler.emulator import Reply
from reconciler.load import load_tree
from reconciler.model import MARKER
from tests.e2e.conftest import Cli, LiveTenant

pytestmark = pytest.mark.e2e

INVENTORY = "9c8b7a65-4321-4fed-8cba-987654321000"
ABSENCE = "1f2e3d4c-5b6a-4798-8877-665544332211"
LEGACY = [
    {
        "id": "64e5f6a7b8c9d0e1f2a3b4c5",
        "appId": INVENTORY,
        "timeZone": "America/Toronto",
        "recurrence": [
            "RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=8;BYMINUTE=0;BYSECOND=0",
            "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;BYHOUR=20;BYMINUTE=0;BYSECOND=0",
        ],
        "startDateTime": "2026-01-01T08:00:00",
        "state": "Enabled",
    },
    {
        "id": "64e5f6a7b8c9d0e1f2a3b4c6",
        "appId": ABSENCE,
        "timeZone": "Europe/Berlin",
        "autoReload": True,
        "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=5;BYMINUTE=30"],
        "startDateTime": "2026-01-01T05:30:00",
        "endDateTime": "2030-01-01T00:00:00",
        "state": "Disabled",
    },
]


def _seed_legacy(tenant: LiveTenant) -> None:
    tenant.emulator.add_app(INVENTORY, "Inventory Monitor")
    tenant.emulator.add_app(ABSENCE, "HR Absence")
    for doc in LEGACY:
        tenant.emulator.add_legacy(doc)


def _ok(result: Any) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(result.stdout)


def _migrated(tenant: LiveTenant) -> dict[str, str]:
    """Live tasks migrated from legacy ones: legacy id -> task name."""
    return {
        t["metadata"]["migratedFrom"]: t["name"]
        for t in tenant.emulator.tasks()
        if t.get("metadata", {}).get("migratedFrom")
    }


def test_migrate_then_apply_replaces_the_legacy_tasks(cli: Cli, tenant: LiveTenant) -> None:
    _seed_legacy(tenant)
    out = _ok(cli("migrate", "--out", "tasks/migrated"))
    assert "wrote tasks/migrated/inventory-monitor.yaml" in out
    assert "wrote tasks/migrated/hr-absence.yaml" in out
    # A first apply of more than 10 new tasks: the mass-create guard wants it said.
    applied = _ok(cli("apply", "--auto-approve", "--allow-mass-create"))  # it prints the plan first
    assert '> migrate "Inventory Monitor (reload)"' in applied
    assert '> migrate "HR Absence (reload)"' in applied
    assert '+ create "Inventory Monitor (reload, rule 2 of 2)"' in applied
    assert _migrated(tenant) == {
        "64e5f6a7b8c9d0e1f2a3b4c5": "Inventory Monitor (reload)",
        "64e5f6a7b8c9d0e1f2a3b4c6": "HR Absence (reload)",
    }
    live = {t["name"]: t for t in tenant.emulator.tasks()}
    assert live["Inventory Monitor (reload)"]["enabled"] is True
    assert live["Inventory Monitor (reload, rule 2 of 2)"]["enabled"] is True
    assert live["HR Absence (reload)"]["enabled"] is False  # the legacy task was Disabled
    assert live["HR Absence (on data update)"]["enabled"] is False
    assert tenant.emulator.legacy_tasks() == []
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_keep_legacy_leaves_them_flagged_migrated(cli: Cli, tenant: LiveTenant) -> None:
    _seed_legacy(tenant)
    shutil.rmtree(cli.project.root / "tasks")  # only the migrated tasks: a faster apply
    _ok(cli("migrate", "--out", "tasks/migrated"))
    _ok(cli("apply", "--auto-approve", "--keep-legacy"))
    assert set(_migrated(tenant)) == {d["id"] for d in LEGACY}
    legacy = tenant.emulator.legacy_tasks()
    assert {d["id"] for d in legacy} == {d["id"] for d in LEGACY}
    assert all(d["migrated"] is True for d in legacy)
    assert cli("plan", "--keep-legacy", "--detailed-exitcode").returncode == 0

    again = _ok(cli("migrate", "--out", "tasks/again"))
    assert "already migrated to task 'Inventory Monitor (reload)'" in again
    assert "Nothing to migrate" in again
    assert not (cli.project.root / "tasks" / "again").exists()


def test_a_tenant_without_legacy_reload_tasks_has_nothing_to_migrate(
    cli: Cli, tenant: LiveTenant
) -> None:
    original = tenant.emulator.handle

    def without_legacy(method: str, path: str, *args: Any, **kwargs: Any) -> Reply:
        if path.startswith("/api/v1/reload-tasks"):
            return Reply(404, {"content-type": "application/json"}, b'{"errors":[]}')
        return original(method, path, *args, **kwargs)

    tenant.emulator.handle = without_legacy  # type: ignore[method-assign]
    out = _ok(cli("migrate", "--out", "tasks/migrated"))
    assert "Nothing to migrate: this tenant has no legacy reload-tasks" in out
    assert not (cli.project.root / "tasks" / "migrated").exists()


def _made_by_hand(tenant: LiveTenant, tasks_dir: Path) -> None:
    """The example tree in the tenant as if made in the hub: real ids, chains, no marker."""
    config = yaml.safe_load((tasks_dir.parent / "reconciler.yaml").read_text())
    loaded = load_tree(tasks_dir, config["environments"]["dev"]["vars"], root=tasks_dir.parent)
    by_name = {t.name: t for t in loaded.tasks}
    ids: dict[str, str] = {}
    for name in desired_graph(loaded.tasks).order():
        doc = apidoc.build(by_name[name], ids, MARKER)
        doc["annotations"].remove(MARKER)
        ids[name] = tenant.emulator.put_task_raw(doc)["id"]


def test_import_then_adopt_leaves_nothing_to_change(cli: Cli, tenant: LiveTenant) -> None:
    _made_by_hand(tenant, cli.project.root / "tasks")
    hub = {**tenant.emulator.tasks()[0], "id": None, "name": "Made in the hub", "keepActive": True}
    tenant.emulator.put_task_raw(hub)
    shutil.rmtree(cli.project.root / "tasks")

    out = _ok(cli("import", "--out", "tasks/imported"))
    assert "Imported 10 task(s): 9 in the short form, 1 in the full form." in out
    assert "'Made in the hub' (full form)" in out
    _ok(cli("apply", "--adopt", "--auto-approve"))
    assert all(MARKER in t["annotations"] for t in tenant.emulator.tasks())
    assert cli("plan", "--detailed-exitcode").returncode == 0


def test_a_legacy_task_is_kept_until_every_task_replacing_it_exists(
    cli: Cli, tenant: LiveTenant
) -> None:
    _seed_legacy(tenant)
    shutil.rmtree(cli.project.root / "tasks")  # only the migrated tasks
    _ok(cli("migrate", "--out", "tasks/migrated"))
    # Every create that is not a migration fails: the second rule's task cannot be made.
    tenant.emulator.add_fault_rule(
        lambda method, path, query: (
            method == "POST"
            and path.endswith("/api/scheduling/tasks")
            and not any(k == "migrateFrom" for k, _ in query)
        ),
        status=400,
    )
    failed = cli("apply", "--auto-approve")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "kept legacy reload-task 64e5f6a7b8c9d0e1f2a3b4c5 until every change is done" in (
        failed.stdout
    )
    assert {d["id"] for d in tenant.emulator.legacy_tasks()} == {d["id"] for d in LEGACY}
    assert set(_migrated(tenant)) == {d["id"] for d in LEGACY}

    tenant.emulator.clear_fault_rules()
    _ok(cli("apply", "--auto-approve"))
    assert tenant.emulator.legacy_tasks() == []
    names = {t["name"] for t in tenant.emulator.tasks()}
    assert len(names) == 4
    assert cli("plan", "--detailed-exitcode").returncode == 0
