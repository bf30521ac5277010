"""`reconciler doctor` end to end: the CLI in a subprocess against the emulator over HTTP, plain and
under each quirk the tenant profile covers. Doctor detects each quirk, suggests the profile that
matches it, and with that profile plan and apply converge. It changes no task but its canary."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.canary import CANARY_TEXT
from reconciler.doctor import PROBED, READ_ONLY
from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.emulator.faults import Fault
from reconciler.model import MARKER
from tests.e2e.conftest import API_KEY, Cli, LiveTenant, Project
from tests.emulator.emulator_docs import task_body

pytestmark = pytest.mark.e2e

SALES = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
FINANCE = "6f67b6f1-3d0a-4c2e-9b1f-1a2b3c4d5e6f"
PROBE_APP = "3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718"
APPS = [
    {"id": a, "name": n} for a, n in ((SALES, "Sales"), (FINANCE, "Finance"), (PROBE_APP, "Probe"))
]
HAND_MADE = task_body(
    "Made by hand", PROBE_APP, description="someone's own task", annotations=["team:ops"]
)
TASK_FILES = f"""
name: Sales ETL
description: Nightly sales extract
reload: {{appId: {SALES}}}
schedule: {{recurrence: "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0", timezone: Europe/Zurich}}
---
name: Finance dashboard
reload: {{appId: {FINANCE}}}
after: [Sales ETL]
---
name: Finance on failure
reload: {{appId: {FINANCE}}}
after: [{{task: Sales ETL, status: failed}}]
"""
CONFIG = "tasks: tasks/\ndefaultEnvironment: test\nenvironments:\n  test: {}\n"

Serve = Callable[..., Cli]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """`serve(*quirks, seed_tasks=[...])`: an emulator with those quirks over HTTP, and a CLI for a
    small tasks repository pointed at it."""
    running: list[tuple[Emulator, Any]] = []

    def start(*quirks: str, seed_tasks: list[dict[str, Any]] | None = None, **config: Any) -> Cli:
        emulator = Emulator(
            EmulatorConfig(api_key=API_KEY, quirks=quirks, **config),
            seed={"apps": APPS, "tasks": [dict(HAND_MADE), *(seed_tasks or [])]},
        )
        context = emulator.serve(host="127.0.0.1", port=0)
        server = context.__enter__()
        running.append((emulator, context))
        project = Project(tmp_path / f"repo-{len(running)}")
        project.write("tasks/tasks.yaml", TASK_FILES)
        project.write("reconciler.yaml", CONFIG)
        return Cli(project, LiveTenant(emulator, server.url))

    yield start
    for emulator, context in running:
        context.__exit__(None, None, None)
        assert not emulator.server_errors(), emulator.server_errors()


def _doctor(cli: Cli, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("doctor", "--format", "json", *args)
    return result.returncode, json.loads(result.stdout)


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def _use_profile(cli: Cli, profile: dict[str, Any]) -> None:
    config = yaml.safe_load((cli.project.root / "reconciler.yaml").read_text())
    config["environments"]["test"]["profile"] = profile
    (cli.project.root / "reconciler.yaml").write_text(yaml.safe_dump(config))


def _others(tenant: LiveTenant) -> list[dict[str, Any]]:
    return [t for t in tenant.emulator.tasks() if not t["name"].startswith("reconciler-doctor-")]


def test_a_plain_tenant_passes_and_nothing_but_the_canary_is_touched(serve: Serve) -> None:
    cli = serve()
    before = cli.tenant.emulator.tasks()
    code, report = _doctor(cli, "--probe", PROBE_APP)
    assert code == 0, report
    assert [c["name"] for c in report["checks"]] == [*READ_ONLY, *PROBED]
    assert all(
        set(c) == {"name", "status", "expected", "observed", "detail"} for c in report["checks"]
    )
    assert all(c["status"] in ("ok", "warn") for c in report["checks"])
    probed = _checks(report)
    assert {n: probed[n]["status"] for n in PROBED} == dict.fromkeys(PROBED, "ok")
    assert probed["identity"]["status"] == "ok" and "API key" in probed["identity"]["detail"]
    assert report["profile"] == {
        "stateType": "event",
        "specVersion": "0.8",
        "statusCase": "lower",
        "pageLimit": 100,
        "markerIn": "annotations",
    }
    assert cli.tenant.emulator.tasks() == before  # the canary is gone, the rest untouched


def test_text_output_is_a_table_and_the_profile_block(serve: Serve) -> None:
    cli = serve("page-limit-20")
    result = cli("doctor")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("check"))
    assert lines[start].split() == ["check", "expected", "observed", "verdict"]
    table = lines[start + 1 : lines.index("", start)]
    assert [row.split()[0] for row in table] == list(READ_ONLY)
    (row,) = [line for line in table if line.startswith("list ")]
    assert row.split()[-1] == "fail"
    block = result.stdout[result.stdout.index("environments:") :]
    block = block[: block.index("\n\n")]
    assert yaml.safe_load(block)["environments"]["test"]["profile"]["pageLimit"] == 20
    assert "--probe APP_ID" in result.stdout


# quirk, the check that detects it, its status and observed value, the profile setting it needs
QUIRKS = [
    ("drop-annotations", "annotations", "fail", "dropped; the description is kept", ("markerIn", "description")),
    ("state-type-upper", "stateType", "warn", "EVENT", ("stateType", "EVENT")),
    ("status-upper", "statusCase", "warn", "SUCCEEDED", ("statusCase", "upper")),
    ("spec-version-1.16.0", "specVersion", "warn", "1.16.0", ("specVersion", "1.16.0")),
    ("enabled-on-create", "enabledOnCreate", "ok", "honoured", None),
    ("patch-204", "patchAnswer", "ok", "204", None),
    ("page-limit-20", "list", "fail", "limit 100 refused; the largest accepted is 20", ("pageLimit", 20)),
]  # fmt: skip


@pytest.mark.parametrize(("quirk", "check", "status", "observed", "setting"), QUIRKS)
def test_doctor_detects_each_quirk_and_its_profile_converges(
    serve: Serve,
    quirk: str,
    check: str,
    status: str,
    observed: str,
    setting: tuple[str, Any] | None,
) -> None:
    cli = serve(quirk)
    code, report = _doctor(cli, "--probe", PROBE_APP)
    found = _checks(report)[check]
    assert (found["status"], found["observed"]) == (status, observed), found
    assert code == (1 if status == "fail" else 0)
    if setting is not None:
        key, value = setting
        assert report["profile"][key] == value
    plain = _checks(_doctor(serve(), "--probe", PROBE_APP)[1])[check]
    assert plain["observed"] != observed  # the plain tenant does not show it

    _use_profile(cli, report["profile"])
    code, again = _doctor(cli, "--probe", PROBE_APP)
    assert code == 0, again
    assert _checks(again)[check]["status"] in ("ok", "warn")
    assert again["profile"] == report["profile"]  # the profile in use now matches

    hand_made = [t for t in _others(cli.tenant) if t["name"] == "Made by hand"]
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert cli("plan", "--detailed-exitcode").returncode == 0
    assert cli("drift", "--detailed-exitcode").returncode == 0
    assert sorted(t["name"] for t in _others(cli.tenant)) == [
        "Finance dashboard",
        "Finance on failure",
        "Made by hand",
        "Sales ETL",
    ]
    assert [t for t in _others(cli.tenant) if t["name"] == "Made by hand"] == hand_made


def test_with_the_marker_in_the_description_users_see_only_their_description(serve: Serve) -> None:
    cli = serve("drop-annotations")
    _use_profile(cli, {"markerIn": "description"})
    assert cli("apply", "--auto-approve").returncode == 0
    stored = {t["name"]: t for t in cli.tenant.emulator.tasks()}
    assert stored["Sales ETL"]["description"] == f"Nightly sales extract\n[{MARKER}]"
    assert cli("plan", "--detailed-exitcode").returncode == 0
    assert cli("drift", "--detailed-exitcode").returncode == 0
    cli.project.write("tasks/tasks.yaml", TASK_FILES.replace("Nightly sales", "Daily sales"))
    plan = json.loads(cli("plan", "--format", "json").stdout)
    (change,) = plan["changes"]
    assert change["before"]["description"] == "Nightly sales extract"
    assert change["after"]["description"] == "Daily sales extract"
    assert cli("apply", "--auto-approve").returncode == 0
    stored = {t["name"]: t for t in cli.tenant.emulator.tasks()}
    assert stored["Sales ETL"]["description"] == f"Daily sales extract\n[{MARKER}]"
    cli.project.write("tasks/tasks.yaml", f"name: Other\nreload: {{appId: {SALES}}}\n")
    imported = cli("import", "--out", "imported", "--all")
    assert imported.returncode == 0, imported.stderr
    sales = (cli.project.root / "imported").rglob("*.yaml")
    text = "\n".join(p.read_text() for p in sales)
    assert "description: Daily sales extract" in text
    assert f"[{MARKER}]" not in text


def test_a_canary_left_by_an_earlier_probe_is_deleted_first(serve: Serve) -> None:
    leftover = {**HAND_MADE, "name": "reconciler-doctor-0badcafe", "description": CANARY_TEXT}
    lookalike = {**HAND_MADE, "name": "reconciler-doctor-12345678", "description": "mine"}
    cli = serve(seed_tasks=[leftover, lookalike])
    result = cli("doctor", "--probe", PROBE_APP)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reconciler-doctor-0badcafe" in result.stdout
    names = sorted(t["name"] for t in cli.tenant.emulator.tasks())
    assert names == ["Made by hand", "reconciler-doctor-12345678"]


def test_the_canary_is_deleted_when_the_probe_fails(serve: Serve) -> None:
    cli = serve()
    cli.tenant.emulator.add_fault_rule(
        lambda method, path, _: method == "PATCH", fault=Fault.FAIL, status=400
    )
    code, report = _doctor(cli, "--probe", PROBE_APP)
    assert code == 1
    assert {_checks(report)[n]["status"] for n in PROBED} == {"fail"}
    assert [t["name"] for t in cli.tenant.emulator.tasks()] == ["Made by hand"]


def test_refused_credentials_fail_auth_and_check_nothing_else(serve: Serve) -> None:
    cli = serve()
    result = cli("doctor", "--format", "json", "--probe", PROBE_APP, QLIK_API_KEY="wrong-key")
    assert result.returncode == 1
    checks = _checks(json.loads(result.stdout))
    assert checks["auth"]["status"] == "fail"
    assert {checks[n]["observed"] for n in [*READ_ONLY[1:], *PROBED]} == {"not checked"}
    assert [t["name"] for t in cli.tenant.emulator.tasks()] == ["Made by hand"]


def test_an_app_that_does_not_exist_fails_apps(serve: Serve) -> None:
    cli = serve()
    cli.project.write(
        "tasks/more.yaml",
        "name: Ghost\nreload: {appId: 99999999-9999-4999-8999-999999999999}\n",
    )
    code, report = _doctor(cli)
    assert code == 1
    apps = _checks(report)["apps"]
    assert apps["status"] == "fail" and "99999999-9999-4999-8999-999999999999" in apps["detail"]


def test_every_quirk_at_once_converges_with_the_profile_doctor_suggests(serve: Serve) -> None:
    cli = serve("all", "drop-annotations", "page-limit-20")
    code, report = _doctor(cli, "--probe", PROBE_APP)
    assert code == 1
    assert {n for n, c in _checks(report).items() if c["status"] == "fail"} == {
        "list",
        "annotations",
    }
    _use_profile(cli, report["profile"])
    code, again = _doctor(cli, "--probe", PROBE_APP)
    assert code == 0, again
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert cli("plan", "--detailed-exitcode").returncode == 0
    assert cli("drift", "--detailed-exitcode").returncode == 0


LEGACY_TASK = {
    "id": "64e5f6a7b8c9d0e1f2a3b4c5",
    "appId": PROBE_APP,
    "timeZone": "Europe/Berlin",
    "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"],
    "startDateTime": "2026-01-01T08:00:00",
    "state": "Enabled",
}


def test_migrate_honours_the_marker_in_the_description(serve: Serve) -> None:
    cli = serve("drop-annotations")
    cli.tenant.emulator.add_legacy(dict(LEGACY_TASK))
    _use_profile(cli, {"markerIn": "description"})
    migrated = cli("migrate", "--out", "tasks/migrated")
    assert migrated.returncode == 0, migrated.stderr
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    (task,) = [
        t for t in cli.tenant.emulator.tasks() if (t.get("metadata") or {}).get("migratedFrom")
    ]
    assert task["metadata"]["migratedFrom"] == LEGACY_TASK["id"]
    assert task["description"].endswith(f"[{MARKER}]")
    assert cli("plan", "--detailed-exitcode").returncode == 0


@pytest.mark.parametrize("allowed", [True, False])
def test_identity_tells_whether_an_oauth_client_may_impersonate(
    serve: Serve, allowed: bool
) -> None:
    cli = serve(impersonation_clients=frozenset({"gitops"} if allowed else set()))
    oauth = {"QLIK_API_KEY": "", "QLIK_CLIENT_ID": "gitops", "QLIK_CLIENT_SECRET": API_KEY}
    result = cli("doctor", "--format", "json", **oauth)
    identity = _checks(json.loads(result.stdout))["identity"]
    assert identity["status"] == ("ok" if allowed else "warn"), identity
    assert ("may not impersonate" in identity["detail"]) is not allowed
