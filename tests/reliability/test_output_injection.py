"""Output formats cannot be steered by data (DESIGN 19.5): file names, task names and messages are
escaped in GitHub workflow commands, text, markdown and JUnit, so no data starts a line of its own,
closes a block, or becomes markup."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.commands import app
from reconciler.cli.connect import EXAMPLE_APPS
from reconciler.report import workflow_commands

INJECTED = "::error file=x.yaml,line=1::pwned"
# Apps the local tenant has (plan checks that a task's app exists before anything is written).
SALES_APP, BUDGET_APP = (app["id"] for app in EXAMPLE_APPS[:2])
EVIL_FILE = f"bad\n{INJECTED}\n.yaml"
EVIL_NAME = (
    f"Evil </details></summary>\n\n{INJECTED}\n<img src=x onerror=alert(1)> `code` ]]><x/>"
    "\x07 | cell"
)


def _commands(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("::")]


@pytest.fixture
def evil_tree(workdir: Path) -> Path:
    tasks = workdir / "tasks"
    tasks.mkdir()
    (tasks / EVIL_FILE).write_text("name: [unclosed\n")
    (tasks / "ok.yaml").write_text("name: Fine\nreload: {appId: nope}\nwhat: 1\n")
    return workdir


def test_a_file_name_cannot_inject_a_workflow_command(evil_tree: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--format", "github"])
    assert result.exit_code == 1
    commands = _commands(result.stdout)
    assert commands, result.stdout
    assert all(c.startswith(("::error file=tasks/", "::warning file=tasks/")) for c in commands)
    assert not any(c.startswith(INJECTED) for c in commands)
    assert len(result.stdout.splitlines()) == len(commands)
    evil = [c for c in commands if "bad" in c]
    assert evil and "%0A" in evil[0] and "%3A%3Aerror file=x.yaml%2Cline=1%3A%3Apwned" in evil[0]


def test_text_problems_stay_one_line_each(evil_tree: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert not _commands(result.output)
    assert all(line.startswith(("tasks/", "error:")) for line in result.output.splitlines())


def test_a_config_error_is_one_escaped_command(workdir: Path, runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["validate", "--format", "github", "--tasks", f"nope\n{INJECTED}%0A"]
    )
    assert result.exit_code == 1
    assert len(_commands(result.stdout)) == 1
    (command,) = _commands(result.stdout)
    assert command.startswith("::error::") and "%250A" in command
    assert not _commands(result.stderr)


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (
            {"file": "a,b:c.yaml", "line": 3, "col": 1},
            "::error file=a%2Cb%3Ac.yaml,line=3,col=1::m",
        ),
        ({}, "::error::m"),
    ],
)
def test_workflow_command_properties_are_escaped(props: dict[str, object], expected: str) -> None:
    assert workflow_commands.command("error", "m", **props) == expected  # type: ignore[arg-type]
    assert workflow_commands.escape_data("50%\r\n") == "50%25%0D%0A"


@pytest.fixture
def evil_tenant(workdir: Path, runner: CliRunner) -> Path:
    """The local tenant, holding a hand-made task with a hostile name."""
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / "a.yaml").write_text(
        "name: A\nreload: {appId: 116dbfae-7fb9-4983-8e23-5ccd8c508722}\n"
        "schedule: {recurrence: RRULE:FREQ=DAILY, timezone: UTC, "
        "startDateTime: '2026-01-01T00:00:00'}\n"
    )
    assert runner.invoke(app, ["plan"]).exit_code == 0
    state = workdir / ".reconciler" / "local-tenant.json"
    data = json.loads(state.read_text())
    data["tasks"][0]["name"] = EVIL_NAME
    state.write_text(json.dumps(data))
    return workdir


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--format", "markdown"],
        ["drift", "--format", "markdown"],
        ["plan"],
        ["drift"],
    ],
)
def test_a_hostile_task_name_does_not_steer_markdown_or_text(
    evil_tenant: Path, runner: CliRunner, args: list[str]
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), result.output
    assert "Evil" in result.stdout
    assert not _commands(result.stdout)
    lines = [line for line in result.stdout.splitlines() if "Evil" in line]
    assert len(lines) == 1
    if "markdown" in args:
        assert "</details>" not in lines[0] and "<img" not in lines[0]


def test_a_hostile_task_name_does_not_steer_junit(evil_tenant: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["drift", "--format", "junit"])
    assert result.exit_code == 0, result.output
    assert not _commands(result.stdout)
    root = ET.fromstring(result.stdout)
    names = [case.get("name") or "" for case in root.iter("testcase")]
    (evil,) = [n for n in names if n.startswith("Evil")]
    assert evil == EVIL_NAME.replace("\x07", "\\u0007")
    assert not root.findall(".//x")


def test_a_carriage_return_in_a_chained_name_stays_inside_its_diagram_line(
    workdir: Path, runner: CliRunner
) -> None:
    name = "Up\r```\r# PWNED\r\u2028x"
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / "a.yaml").write_text(
        f"name: {json.dumps(name)}\nreload: {{appId: {SALES_APP}}}\n"
        "schedule: {recurrence: 'RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0', "
        "timezone: UTC, startDateTime: '2026-01-01T06:00:00'}\n---\n"
        f"name: Down\nreload: {{appId: {BUDGET_APP}}}\n"
        f"after: {json.dumps(name)}\n"
    )
    for args in (["plan", "--format", "markdown"], ["graph"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        # markdown reads CR as a line break; U+2028 is one in the diagram (in JSON blocks it is not)
        assert "\r" not in result.stdout
        diagram = [line for line in result.stdout.split("\n") if line.startswith("  t0[")]
        assert diagram and all("\u2028" not in line for line in diagram)
        assert not [line for line in result.stdout.splitlines() if line.startswith("# PWNED")]
