"""The tasks-repository template (examples/tasks-repo/) and the GitHub Action (action.yml), run as
they run for a user: the template copied as it is, validated and planned against the emulator over
HTTP; and the action's steps run as the shell scripts they are, with the inputs that the template's
workflows give them, against the same emulator."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.e2e.conftest import API_KEY, LiveTenant
from tests.processes import clean_env, run_python

TEMPLATE = REPO / "examples" / "tasks-repo"
ACTION = REPO / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@pytest.fixture
def tasks_repo(tmp_path: Path) -> Path:
    copy = tmp_path / "tasks-repo"
    shutil.copytree(TEMPLATE, copy)
    return copy


def _reconciler(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    result = run_python(root, "-m", "reconciler", *args, env=clean_env(**env), timeout=120)
    assert API_KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_the_template_as_copied_validates_and_plans_against_a_tenant(
    tasks_repo: Path, tenant: LiveTenant
) -> None:
    assert _reconciler(tasks_repo, "validate").returncode == 0
    env = {"QLIK_TENANT_URL": tenant.url, "QLIK_API_KEY": API_KEY, "CI": "true"}
    plan = _reconciler(tasks_repo, "plan", "--detailed-exitcode", **env)
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert "Plan: 2 to create" in plan.stdout
    assert _reconciler(tasks_repo, "apply", "--auto-approve", **env).returncode == 0
    assert _reconciler(tasks_repo, "plan", "--detailed-exitcode", **env).returncode == 0
    names = {t["name"] for t in tenant.emulator.tasks()}
    assert {"Sales ETL", "Finance dashboard"} <= names


# -- the action, step by step --------------------------------------------------------------------


@dataclass
class Runner:
    """Just enough of a GitHub runner to run a composite action's `run:` steps: inputs with their
    defaults, `${{ }}` expressions of the inputs and the action's path, RUNNER_TEMP, GITHUB_OUTPUT."""

    workspace: Path
    temp: Path
    env: dict[str, str]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)

    def evaluate(self, text: str, inputs: dict[str, str]) -> str:
        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name == "github.action_path":
                return str(REPO)
            if name.startswith("inputs."):
                return inputs[name.removeprefix("inputs.")]
            raise AssertionError(f"the test runner does not know ${{{{ {name} }}}}")

        return EXPRESSION.sub(one, text)

    def use(self, given: dict[str, str]) -> subprocess.CompletedProcess[str]:
        """Run the action with the inputs of a workflow's `with:`; the result of the last step."""
        action = yaml.safe_load(ACTION.read_text())
        declared: dict[str, dict[str, Any]] = action["inputs"]
        assert set(given) <= set(declared), set(given) - set(declared)
        inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
        inputs.update(given)
        for name, spec in declared.items():
            assert not spec.get("required") or inputs[name], f"input {name} is required"
        result: subprocess.CompletedProcess[str] | None = None
        for step in action["runs"]["steps"]:
            if "run" not in step:
                assert step["uses"].startswith("actions/setup-python@")  # Python is ours
                continue
            assert step["shell"] == "bash"
            output = self.temp / f"output-{step['id']}"
            output.write_text("")
            env = dict(self.env)
            env.update({k: self.evaluate(str(v), inputs) for k, v in step.get("env", {}).items()})
            env.update(GITHUB_OUTPUT=str(output), RUNNER_TEMP=str(self.temp))
            script = self.temp / f"step-{step['id']}.sh"
            script.write_text(step["run"])
            result = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],  # as GitHub does
                cwd=self.workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert API_KEY not in result.stdout + result.stderr
            self.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output.read_text().splitlines()
            )
            if result.returncode != 0:
                break
        assert result is not None
        return result


def _action_uses(workflow: str) -> list[dict[str, str]]:
    """The inputs of each use of the action in a template workflow, for the environment `prod`
    and a run that was not started by hand."""
    doc = yaml.safe_load((TEMPLATE / ".github" / "workflows" / workflow).read_text())
    uses = []
    for job in doc["jobs"].values():
        for step in job["steps"]:
            if step.get("uses", "").startswith("qlik-task-reconciler/qlik-task-reconciler@"):
                given = {
                    k: EXPRESSION.sub(
                        lambda m: "prod" if m.group(1) == "matrix.environment" else "", str(v)
                    )
                    for k, v in step["with"].items()
                }
                uses.append(given)
    return uses


def _runner_env(**extra: str) -> dict[str, str]:
    # The test environment's Python and uv stand in for the runner's; uv installs from its cache,
    # which installing the lock fills (the tests use no network but the loopback).
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = clean_env(PATH=path, UV_OFFLINE="1", CI="true", **extra)
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """RUNNER_TEMP with the tool installed by the action's install step, once for this module
    (a second use of the action in a job finds it installed, as each test below does)."""
    temp = tmp_path_factory.mktemp("runner-temp")
    workspace = tmp_path_factory.mktemp("workspace")
    result = Runner(workspace, temp, _runner_env()).use({"command": "validate"})
    installed = temp / "qlik-task-reconciler" / "bin" / "reconciler"
    locked_ci = os.environ.get("CI") == "true" and "RECONCILER_DEPENDENCIES" not in os.environ
    if not installed.exists() and not locked_ci:
        pytest.skip("uv's cache lacks the locked dependencies; `bash .ci/run` fills it")
    assert installed.exists(), result.stdout + result.stderr
    return temp


@pytest.fixture
def runner(tasks_repo: Path, runner_temp: Path, tenant: LiveTenant) -> Runner:
    env = _runner_env(QLIK_TENANT_URL=tenant.url, QLIK_API_KEY=API_KEY)
    return Runner(workspace=tasks_repo, temp=runner_temp, env=env)


def test_the_template_workflows_run_through_the_action(runner: Runner, tenant: LiveTenant) -> None:
    result = runner.use({"command": "validate"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert runner.outputs["install"] == {}
    assert runner.outputs["run"]["exit-code"] == "0"

    for given in _action_uses("plan.yml"):  # validate, then plan as markdown with plan.json
        result = runner.use(given)
        assert result.returncode == 0, result.stdout + result.stderr
    plan = Path(runner.outputs["run"]["output-file"]).read_text()
    assert "2 to create" in plan
    assert (runner.workspace / "plan.json").exists()
    assert [r for r in tenant.emulator.request_log if r.method != "GET"] == []

    for given in _action_uses("apply.yml"):  # plan, then apply that saved plan
        result = runner.use(given)
        assert result.returncode == 0, result.stdout + result.stderr
    assert {"Sales ETL", "Finance dashboard"} <= {t["name"] for t in tenant.emulator.tasks()}

    (drift,) = _action_uses("drift.yml")
    result = runner.use(drift)
    assert result.returncode == 0, result.stdout + result.stderr
    assert runner.outputs["run"]["exit-code"] == "0"  # no drift after apply

    (sales,) = [t for t in tenant.emulator.tasks() if t["name"] == "Sales ETL"]
    tenant.emulator.edit_task(sales["id"], lambda doc: {**doc, "description": "changed in the hub"})
    result = runner.use(drift)
    assert result.returncode == 2
    assert runner.outputs["run"]["exit-code"] == "2"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"command": "delete-everything"}, "command must be"),
        ({"command": "plan", "args": "--out 'plan.json"}, "cannot be split"),
    ],
    ids=["unknown-command", "unclosed-quote"],
)
def test_the_action_refuses_bad_inputs_in_one_annotation(
    runner: Runner, given: dict[str, str], message: str
) -> None:
    result = runner.use(given)
    assert result.returncode == 1
    assert runner.outputs["run"]["exit-code"] == "1"
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("::error::")]
    assert message in line
    assert [r for r in runner.env if r.startswith("QLIK_")]  # credentials were there, unused


def test_the_action_passes_the_environment_to_the_tool(runner: Runner) -> None:
    result = runner.use({"command": "validate", "environment": "no-such-environment"})
    assert result.returncode == 1
    assert "no-such-environment" in result.stdout + result.stderr
