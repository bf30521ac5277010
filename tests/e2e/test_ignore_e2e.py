"""ignoreDifferences end to end: an out-of-band edit that reconciler.yaml says to ignore is not a
change (exit 0), and every format of the plan says how many differences were ignored."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.conftest import Cli, LiveTenant

pytestmark = pytest.mark.e2e

RULES = """
ignoreDifferences:
  - fields: [/description]
    tasks: ["Sales *"]
"""


def _edited(doc: dict[str, Any]) -> None:
    doc["description"] = "edited in the hub"


def test_an_ignored_out_of_band_edit_is_counted_not_planned(cli: Cli, tenant: LiveTenant) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    task = next(t for t in tenant.emulator.tasks() if t["name"] == "Sales ETL")
    tenant.emulator.edit_task(task["id"], _edited)
    assert cli("plan", "--detailed-exitcode").returncode == 2

    config = cli.project.root / "reconciler.yaml"
    config.write_text(config.read_text() + RULES)
    text = cli("plan", "--detailed-exitcode")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "1 difference(s) ignored (ignoreDifferences)" in text.stdout
    doc = json.loads(cli("plan", "--format", "json").stdout)
    assert doc["summary"]["ignored"] == 1
    assert doc["changes"] == []
    markdown = cli("plan", "--format", "markdown").stdout
    assert "1 difference(s) ignored" in markdown
    drift = cli("drift", "--detailed-exitcode")
    assert drift.returncode == 0, drift.stdout
    # apply leaves the ignored edit alone
    assert cli("apply", "--auto-approve").returncode == 0
    assert tenant.emulator.get(task["id"])["description"] == "edited in the hub"  # type: ignore[index]


def test_a_bad_rule_is_a_located_error(cli: Cli) -> None:
    config = cli.project.root / "reconciler.yaml"
    config.write_text(config.read_text() + "ignoreDifferences:\n  - fields: [description]\n")
    result = cli("plan")
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "reconciler.yaml:" in line]
    assert lines and "ignoreDifferences" in lines[0], result.stderr
