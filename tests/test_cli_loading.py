"""Each command loads what it uses: run as a user runs it, `validate` never imports the HTTP client,
the emulator, the reports' diff library or the terminal renderer, while `--help` still lists every
command of the registry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli.commands import COMMANDS
from reconciler.emulator import Emulator, EmulatorConfig
from tests.conftest import APP_A
from tests.processes import clean_env, run_python

PROBE = """
import json, runpy, sys
sys.argv = ["reconciler", *sys.argv[1:]]
try:
    runpy.run_module("reconciler", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
loaded = sorted(name for name, module in sys.modules.items() if module is not None)
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": loaded}) + "\\n")
"""

NOT_FOR_VALIDATE = (
    "httpx",
    "httpcore",
    "rich",
    "deepdiff",
    "asyncio",
    "tenacity",
    "reconciler.qlik",
    "reconciler.emulator",
    "reconciler.report.plan_text",
    "reconciler.apply",
    "typer.rich_utils",
)


def _run(cwd: Path, *args: str, probe: str = PROBE) -> tuple[int, set[str], str]:
    done = run_python(cwd, "-c", probe, *args, env=clean_env())
    _, _, tail = done.stderr.rpartition("\nMODULES ")
    assert tail, done.stderr
    found = json.loads(tail)
    return found["code"], set(found["modules"]), done.stdout


NOT_FOR_A_PLAN = (
    "reconciler.emulator",  # the tenant is a real one
    "httpx._main",  # httpx's own command line, and what it loads
    "click",
    "pygments",
    "rich.progress",
    "reconciler.report.drift_text",
)
REPORTS = {
    "json": set(),
    "text": {"reconciler.report.plan_text"},
    "markdown": {"reconciler.report.plan_text", "reconciler.report.plan_markdown"},
}


@pytest.fixture
def one_task(tmp_path: Path) -> Path:
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "one.yaml").write_text(
        f"name: Nightly\nreload: {{appId: {APP_A}}}\n"
        "schedule: {cron: '0 2 * * *', timezone: Europe/Zurich}\n"
    )
    return tmp_path


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_validate_loads_neither_the_client_nor_the_terminal_renderer(
    one_task: Path, fmt: str
) -> None:
    code, modules, out = _run(one_task, "validate", "--tasks", "tasks", "--format", fmt)
    assert code == 0, out
    loaded = sorted(
        m
        for m in modules
        for banned in NOT_FOR_VALIDATE
        if m == banned or m.startswith(banned + ".")
    )
    assert loaded == []
    # The command's own module is loaded, the other commands' are not.
    assert "reconciler.cli.validate" in modules
    assert not {"reconciler.cli.plan", "reconciler.cli.drift", "reconciler.cli.apply"} & modules


def test_validate_with_problems_still_loads_nothing_else(one_task: Path) -> None:
    (one_task / "tasks" / "one.yaml").write_text("name: Nightly\nreload: {appId: nope}\n")
    code, modules, _ = _run(one_task, "validate", "--tasks", "tasks")
    assert code == 1
    assert not {"httpx", "rich", "deepdiff", "asyncio"} & modules


def test_help_lists_every_command_of_the_registry(tmp_path: Path) -> None:
    code, _, out = _run(tmp_path, "--help")
    assert code == 0
    listed = [line.split()[1] for line in out.splitlines() if line.startswith("│ ")]
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)


@pytest.mark.parametrize(
    ("schedule", "cron_loaded"),
    [
        ("{cron: '0 2 * * *', timezone: Europe/Zurich}", True),
        ("{recurrence: 'RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=0;BYSECOND=0'}", False),
        ("{interval: R/2026-01-01T06:00:00Z/P1D}", False),
    ],
)
def test_validate_loads_the_cron_library_only_for_a_cron_schedule(
    one_task: Path, schedule: str, cron_loaded: bool
) -> None:
    (one_task / "tasks" / "one.yaml").write_text(
        f"name: Nightly\nreload: {{appId: {APP_A}}}\nschedule: {schedule}\n"
    )
    code, modules, out = _run(one_task, "validate", "--tasks", "tasks")
    assert code == 0, out
    assert ("croniter" in modules) is cron_loaded


def test_validate_builds_only_the_models_of_the_forms_it_reads(one_task: Path) -> None:
    """The task models are built when first used: a short-form tree without reconciler.yaml
    builds neither the full form nor the configuration's models."""
    probe = PROBE.replace(
        'sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": loaded}) + "\\n")',
        "from pydantic import BaseModel\n"
        "from reconciler import config, model, profile\n"
        "built = sorted(name for module in (config, model, profile) for name, value in vars(module).items()\n"
        "    if isinstance(value, type) and issubclass(value, BaseModel) and value.__pydantic_complete__)\n"
        'sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": built}) + "\\n")',
    )
    assert probe != PROBE
    code, built, out = _run(one_task, "validate", "--tasks", "tasks", probe=probe)
    assert code == 0, out
    assert "FullTask" not in built and "Config" not in built and "Profile" not in built
    assert "ShortTask" in built


@pytest.fixture
def tenant_url() -> Iterator[str]:
    emulator = Emulator(EmulatorConfig(api_key="key"), seed={"apps": [{"id": APP_A, "name": "A"}]})
    with emulator.serve(host="127.0.0.1", port=0) as server:
        yield server.url


@pytest.mark.parametrize("fmt", list(REPORTS))
def test_plan_loads_the_report_of_its_format_and_not_the_local_tenant(
    one_task: Path, tenant_url: str, fmt: str
) -> None:
    done = run_python(
        one_task,
        "-c",
        PROBE,
        *("plan", "--tasks", "tasks", "--tenant", tenant_url, "--format", fmt),
        env=clean_env(QLIK_API_KEY="key"),
    )
    _, _, tail = done.stderr.rpartition("\nMODULES ")
    found = json.loads(tail)
    assert found["code"] == 0, done.stderr
    modules = set(found["modules"])
    loaded = sorted(
        m for m in modules for banned in NOT_FOR_A_PLAN if m == banned or m.startswith(banned + ".")
    )
    assert loaded == []
    reports = {m for m in modules if m.startswith("reconciler.report.plan_")}
    assert (
        reports - {"reconciler.report.plan_json", "reconciler.report.plan_insight"} == REPORTS[fmt]
    )
