"""The pre-commit hook (.pre-commit-hooks.yaml), run the way pre-commit runs it: its `entry` as a
command line in a tasks repository (a copy of examples/tasks-repo/), for the files its `files`
pattern selects, with no file names passed (the whole tree is checked: chains cross files)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO
from tests.processes import run_python

TEMPLATE = REPO / "examples" / "tasks-repo"


def _hook() -> dict[str, Any]:
    hooks: list[dict[str, Any]] = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "reconciler-validate"]
    return hook


def _run_hook(root: Path, changed: list[str]) -> subprocess.CompletedProcess[str] | None:
    """What `pre-commit run` does for a commit of `changed`: nothing when no file matches."""
    hook = _hook()
    if not any(re.search(hook["files"], name) for name in changed):
        return None
    argv = shlex.split(hook["entry"]) + hook.get("args", [])
    assert argv[0] == "reconciler"  # the console script the package installs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QLIK_", "RECONCILER_"))}
    return run_python(root, "-m", "reconciler", *argv[1:], env=env)


@pytest.fixture
def tasks_repo(tmp_path: Path) -> Path:
    copy = tmp_path / "tasks-repo"
    shutil.copytree(TEMPLATE, copy)
    return copy


def test_the_hook_is_a_python_hook_that_checks_the_whole_tree() -> None:
    hook = _hook()
    assert hook["language"] == "python"  # pre-commit installs this repository to run it
    assert hook["pass_filenames"] is False
    assert shlex.split(hook["entry"])[:2] == ["reconciler", "validate"]


def test_the_hook_passes_on_the_template(tasks_repo: Path) -> None:
    result = _run_hook(tasks_repo, ["tasks/sales/sales-etl.yaml"])
    assert result is not None
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_hook_fails_a_broken_task_file_with_its_location(tasks_repo: Path) -> None:
    broken = tasks_repo / "tasks" / "sales" / "sales-etl.yaml"
    broken.write_text(broken.read_text().replace("${var.sales_app}", "${var.no_such_app}"))
    result = _run_hook(tasks_repo, ["tasks/sales/sales-etl.yaml"])
    assert result is not None
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert re.search(r"^tasks/sales/sales-etl\.yaml:\d+:\d+: .*no_such_app", output, re.M), output


@pytest.mark.parametrize(
    ("changed", "runs"),
    [
        (["tasks/finance/finance-dashboard.yaml"], True),
        (["tasks/new.yml"], True),
        (["reconciler.yaml"], True),
        (["README.md"], False),
        (["scripts/load.py", "docs/notes.txt"], False),
    ],
)
def test_the_hook_runs_when_yaml_changes(tasks_repo: Path, changed: list[str], runs: bool) -> None:
    assert (_run_hook(tasks_repo, changed) is not None) is runs
