"""The benchmark script works: `benchmarks/run.py --quick` runs every workload and writes its results.

Nothing here looks at a time or a rate: performance is reported by the benchmark, never asserted by
a test (a shared CI machine is not a stopwatch).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

WORKLOADS = {
    "plan-scale",
    "plan-latency",
    "apply-throughput",
    "rate-limit",
    "scaling",
    "floors",
    "enabled-create",
}


@pytest.mark.slow
def test_quick_benchmark_runs_every_workload(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--results", str(results)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(results.read_text())
    assert data["quick"] is True
    assert set(data["workloads"]) == WORKLOADS
    assert {"cpus", "cpu_model", "python"} <= set(data["machine"])
    # The table is printed, one row per measured figure, each row with its workload.
    assert {row["workload"] for row in data["rows"]} == WORKLOADS
    for row in data["rows"]:
        assert row["workload"] in done.stdout
    # Request economy is a count, not a time: the plans read one page per 100 tasks, the legacy
    # reload-tasks once (an app's tasks count them), and ask the users API who the caller is and
    # who the one owner of the generated tasks is; a plan in sync reads no app.
    scale = data["workloads"]["plan-scale"]
    assert scale["requests"] == -(-scale["tasks"] // 100) + 1 + 2
    # Every apply converged: a plan right after it finds nothing to change.
    assert data["workloads"]["apply-throughput"]["converged"] is True
    assert data["workloads"]["rate-limit"]["converged"] is True
    # The floors are measured in the same run, each ratio a median over interleaved rounds.
    floors = data["workloads"]["floors"]
    assert set(floors["ratios_wall"]) == {
        "validate_over_floor",
        "plan_over_floor",
        "one_task_validate_over_import_floor",
    }
    assert all(len(runs) == floors["rounds"] for runs in floors["runs"].values())
    # A service that honours `enabled` on create gets one write per enabled create, no PATCH.
    created = data["workloads"]["enabled-create"]
    assert created["enabled"] > 0
    assert created["writes_per_enabled_create"] == 1
