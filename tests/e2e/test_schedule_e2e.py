"""`reconciler schedule` over HTTP: the whole tenant (git, unmanaged, legacy) in one time zone,
reloads per hour, and with --runs the measured durations that show reloads overlapping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from reconciler import apidoc
from reconciler.cli.connect import EXAMPLE_APPS
from reconciler.emulator import Emulator, EmulatorConfig, ManualClock
from tests.e2e.conftest import API_KEY, Cli, LiveTenant, Project

SALES_APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
AUTH = {"authorization": f"Bearer {API_KEY}"}
RUN_SECONDS = 600


@pytest.fixture
def timed(project: Project) -> Iterator[tuple[Cli, Emulator, ManualClock]]:
    """A tenant whose runs take 10 minutes on a clock the test moves."""
    clock = ManualClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC).timestamp())
    emulator = Emulator(
        EmulatorConfig(api_key=API_KEY, run_duration_s=RUN_SECONDS),
        seed={"apps": list(EXAMPLE_APPS)},
        clock=clock,
    )
    with emulator.serve(host="127.0.0.1", port=0) as server:
        yield Cli(project, LiveTenant(emulator, server.url)), emulator, clock


def _tenant_with_hub_and_legacy_tasks(cli: Cli, emulator: Emulator) -> None:
    assert cli("apply", "--auto-approve").returncode == 0
    emulator.put_task_raw(
        {
            "name": "Sales at six (hub)",
            "enabled": True,
            "start": {
                "stateName": "reload",
                "schedule": {
                    "recurrence": "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
                    "timezone": "Europe/Zurich",
                    "startDateTime": "2026-01-01T06:00:00",
                },
            },
            "states": [apidoc.reload_state(SALES_APP)],
        }
    )
    emulator.add_legacy(
        {
            "appId": "3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718",
            "partial": False,
            "timeZone": "America/New_York",
            "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0"],
            "startDateTime": "2026-01-01T00:00:00",
            "state": "Enabled",
            "type": "scheduled_reload",
        }
    )


def _slot_line(out: str, hour: str) -> str:
    slots = out.split("Reloads starting per hour")[1]
    return next(ln for ln in slots.splitlines() if ln.startswith(f"  2026-12-02 Wed {hour}:00 "))


def _slot(out: str, hour: str) -> int:
    return int(_slot_line(out, hour).split()[3])


def test_schedule_spans_the_tenant_in_one_time_zone(
    timed: tuple[Cli, Emulator, ManualClock],
) -> None:
    cli, emulator, _ = timed
    _tenant_with_hub_and_legacy_tasks(cli, emulator)
    result = cli(
        "schedule", "--from", "2026-12-02T00:00:00+01:00", "--days", "1", "--tz", "Europe/Zurich"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "(Europe/Zurich), every task of the tenant" in out
    assert "Sales at six (hub) [unmanaged]" in out
    # The legacy task runs at midnight in New York: 06:00 in Zurich.
    assert "2026-12-02 Wed 06:00  legacy reload-task" in out
    # 06:00 Zurich: Sales ETL, its chain (Finance dashboard, then Board pack), the hub task, and
    # the legacy task start in that hour.
    assert _slot(out, "06") == 5
    assert _slot(out, "05") == 1  # Budget load at 05:30
    same_app = [ln for ln in out.splitlines() if "two reloads of app" in ln]
    assert same_app and '"Sales"' in same_app[0] and "Sales at six (hub)" in same_app[0]


def test_schedule_runs_uses_measured_durations_to_move_chains_and_show_overlaps(
    timed: tuple[Cli, Emulator, ManualClock],
) -> None:
    cli, emulator, clock = timed
    _tenant_with_hub_and_legacy_tasks(cli, emulator)
    sales = next(t for t in emulator.tasks() if t["name"] == "Sales ETL")
    for _ in range(3):
        started = emulator.handle(
            "POST", f"/api/scheduling/tasks/{sales['id']}/actions/start", headers=AUTH
        )
        assert started.status in (200, 201)
        clock.advance(RUN_SECONDS + 60)
        emulator.handle("GET", "/api/scheduling/tasks", headers=AUTH)  # lets the run finish
    args = (
        "schedule",
        "--from",
        "2026-12-02T00:00:00+01:00",
        "--days",
        "1",
        "--tz",
        "Europe/Zurich",
    )
    result = cli(*args, "--runs", "--max-concurrent", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "  Sales ETL: 10m 00s / 10m 00s (3 runs)" in out
    # Finance dashboard waits for Sales ETL to finish: 10 minutes after it starts.
    assert "2026-12-02 Wed 06:10  Finance dashboard  (after Sales ETL)" in out
    assert "running at once: 3" in _slot_line(out, "06")
    assert any("reloads at once, more than 2" in ln for ln in out.splitlines())
    without = cli(*args)
    assert "2026-12-02 Wed 06:00  Finance dashboard  (after Sales ETL)" in without.stdout
