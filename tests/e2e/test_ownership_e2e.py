"""Ownership on every path into a write (DESIGN 19.1): a task without the marker is never written
or deleted unless --adopt names it adoptable, whatever a task file or a saved plan says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler import normalize
from reconciler.model import MARKER
from tests.conftest import APP_A
from tests.e2e.conftest import Cli, LiveTenant

pytestmark = pytest.mark.e2e

LEGACY_ID = "64e5f6a7b8c9d0e1f2a3b4ff"


def _hand_made(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": "made in the hub",
        "enabled": True,
        "specVersion": "0.8",
        "annotations": ["team:finance"],
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
        **extra,
    }


def _writes(tenant: LiveTenant, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in tenant.emulator.request_log[since:] if r.method != "GET"]


def _save(cli: Cli, *args: str) -> tuple[Path, dict[str, Any]]:
    path = cli.project.root / "plan.json"
    result = cli("plan", "--out", str(path), *args)
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(path.read_text())
    return path, doc


def _rewrite(path: Path, doc: dict[str, Any]) -> None:
    counts = dict.fromkeys(("create", "update", "delete", "migrate", "conflict"), 0)
    for change in doc["changes"] + doc["conflicts"]:
        counts[change["action"]] += 1
    doc["summary"] = counts
    path.write_text(json.dumps(doc))


def test_migrate_from_never_takes_over_a_task_migrated_by_hand(
    cli: Cli, tenant: LiveTenant
) -> None:
    tenant.emulator.add_legacy(
        {
            "id": LEGACY_ID,
            "appId": APP_A,
            "state": "Enabled",
            "migrated": True,
            "recurrence": ["RRULE:FREQ=DAILY"],
        }
    )
    hand = tenant.emulator.put_task_raw(
        _hand_made("Sales ETL, by hand", metadata={"migratedFrom": LEGACY_ID})
    )
    etl = cli.project.root / "tasks" / "sales" / "sales-etl.yaml"
    etl.write_text(etl.read_text() + f"migrateFrom: {LEGACY_ID}\n")
    before = len(tenant.emulator.request_log)

    plan = json.loads(cli("plan", "--format", "json").stdout)
    (conflict,) = plan["conflicts"]
    assert conflict["name"] == "Sales ETL" and conflict["task_id"] == hand["id"]
    assert "already migrated" in conflict["reason"]
    cli("apply", "--auto-approve")
    assert tenant.emulator.get(hand["id"]) == hand
    assert [t["id"] for t in tenant.emulator.legacy_tasks()] == [LEGACY_ID]
    assert not [w for w in _writes(tenant, before) if hand["id"] in w[1] or "reload-tasks" in w[1]]

    adopted = cli("apply", "--auto-approve", "--adopt")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    task = tenant.emulator.get(hand["id"])
    assert task is not None and MARKER in task["annotations"] and task["name"] == "Sales ETL"
    assert tenant.emulator.legacy_tasks() == []


def test_a_tampered_saved_plan_never_deletes_an_unmanaged_task(
    cli: Cli, tenant: LiveTenant
) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    hand = tenant.emulator.put_task_raw(_hand_made("Made in the UI"))
    path, doc = _save(cli)
    assert doc["changes"] == []
    doc["changes"].append(
        {
            "action": "delete",
            "name": "Made in the UI",
            "task_id": hand["id"],
            "reason": "managed by this tool, but no task file declares it any more",
            "before": {**normalize.normalize(hand), "annotations": [MARKER]},
            "remote_fingerprint": normalize.fingerprint(hand),
        }
    )
    _rewrite(path, doc)
    before = len(tenant.emulator.request_log)
    result = cli("apply", str(path))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "not managed" in result.stderr
    assert _writes(tenant, before) == []
    assert tenant.emulator.get(hand["id"]) == hand


def test_a_saved_plan_without_a_fingerprint_is_stale(cli: Cli, tenant: LiveTenant) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    budget = cli.project.root / "tasks" / "sales" / "budget-load.yaml"
    budget.write_text(budget.read_text().replace('"30 5 * * 1-5"', '"0 4 * * 1-5"'))
    path, doc = _save(cli)
    (change,) = doc["changes"]
    change["remote_fingerprint"] = None
    _rewrite(path, doc)

    def edit(task: dict[str, Any]) -> None:
        task["description"] = "changed in the hub after the plan was made"

    tenant.emulator.edit_task(change["task_id"], edit)
    before = len(tenant.emulator.request_log)
    result = cli("apply", str(path))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "remote_fingerprint" in result.stderr
    assert _writes(tenant, before) == []


def test_a_saved_plan_that_adopts_needs_adopt_at_apply(cli: Cli, tenant: LiveTenant) -> None:
    hand = tenant.emulator.put_task_raw(_hand_made("Sales ETL"))
    path, doc = _save(cli, "--adopt")
    assert [c["task_id"] for c in doc["changes"] if c["action"] == "update"] == [hand["id"]]
    before = len(tenant.emulator.request_log)
    refused = cli("apply", str(path))
    assert refused.returncode == 4, refused.stdout + refused.stderr
    assert "--adopt" in refused.stderr
    assert _writes(tenant, before) == []

    applied = cli("apply", str(path), "--adopt")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    task = tenant.emulator.get(hand["id"])
    assert task is not None and MARKER in task["annotations"]
