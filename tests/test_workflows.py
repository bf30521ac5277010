"""The GitHub workflows of a tasks repository (the template's, examples/tasks-repo/) and of this
repository: triggers, permissions, secrets, markers; and the workflow and action schemas and
zizmor's security audit, when those tools are installed (they are in CI)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.report import drift_markdown, plan_markdown
from tests.conftest import REPO

TEMPLATE = REPO / "examples" / "tasks-repo"
OWN = REPO / ".github" / "workflows"
TASKS_REPO = TEMPLATE / ".github" / "workflows"
WORKFLOWS = {
    "ci.yml": OWN,
    "newest.yml": OWN,
    "plan.yml": TASKS_REPO,
    "apply.yml": TASKS_REPO,
    "drift.yml": TASKS_REPO,
}
NAMES = tuple(WORKFLOWS)
SECRETS = ("QLIK_API_KEY", "QLIK_CLIENT_ID", "QLIK_CLIENT_SECRET")
ACTION = re.compile(r"qlik-task-reconciler/qlik-task-reconciler@v\d+\.\d+\.\d+")


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((WORKFLOWS[name] / name).read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as true
        doc["on"] = doc.pop(True)
    return doc


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = doc["jobs"]
    return found


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = job.get("steps", [])
    return found


def scripts(job: dict[str, Any]) -> str:
    """Every shell script and github-script of a job, joined."""
    parts = [s.get("run", "") for s in steps(job)]
    parts += [s.get("with", {}).get("script", "") for s in steps(job)]
    return "\n".join(parts)


def commands(job: dict[str, Any]) -> str:
    """What the job runs of the tool: each use of the action as the command line it stands for."""
    lines = []
    for step in steps(job):
        if ACTION.fullmatch(step.get("uses", "")):
            given = step["with"]
            lines.append(" ".join(["reconciler", given["command"], given.get("args", "")]))
    return "\n".join(lines)


def test_tasks_repository_workflows_live_only_in_the_template() -> None:
    assert sorted(p.name for p in OWN.glob("*.yml")) == ["ci.yml", "newest.yml"]
    assert sorted(p.name for p in TASKS_REPO.glob("*.yml")) == [
        "apply.yml",
        "drift.yml",
        "plan.yml",
    ]


def text_of(job: dict[str, Any]) -> str:
    return yaml.safe_dump(job)


@pytest.mark.parametrize("name", NAMES)
def test_every_workflow_is_locked_down(name: str) -> None:
    doc = load(name)
    assert "permissions" in doc, "a workflow states its token's permissions"
    for job_name, job in jobs(doc).items():
        if WORKFLOWS[name] == TASKS_REPO:
            assert "permissions" in job, job_name
        for step in steps(job):
            uses = step.get("uses", "")
            if uses:
                assert re.fullmatch(r"actions/[a-z-]+@v\d+", uses) or ACTION.fullmatch(uses), uses
            if uses.startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
        # untrusted values reach scripts only through env:, never as ${{ }} in the script text
        assert "${{" not in scripts(job), job_name


@pytest.mark.parametrize("name", ["plan.yml", "apply.yml", "drift.yml"])
def test_secrets_come_from_an_environment_and_only_to_the_steps_that_call_the_tenant(
    name: str,
) -> None:
    for job_name, job in jobs(load(name)).items():
        uses_secrets = "secrets." in text_of(job)
        if not uses_secrets:
            continue
        assert job.get("environment") == "${{ matrix.environment }}", job_name
        assert "secrets." not in yaml.safe_dump(job.get("env", {})), "not job-wide"
        for step in steps(job):
            env = step.get("env", {})
            if any("secrets." in str(v) for v in env.values()):
                assert ACTION.fullmatch(step.get("uses", "")), "only the tool gets the secrets"
                assert step["with"]["command"] in ("plan", "apply", "drift")
                assert {k for k, v in env.items() if "secrets." in str(v)} == set(SECRETS)
        writes = {k: v for k, v in job["permissions"].items() if v == "write"}
        assert not writes, "a job with tenant credentials gets no write token"


def _writers(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: j for n, j in jobs(doc).items() if "write" in (j.get("permissions") or {}).values()}


def test_plan_comments_on_pull_requests_that_touch_task_files() -> None:
    doc = load("plan.yml")
    assert set(doc["on"]) == {"pull_request"}
    assert set(doc["on"]["pull_request"]["paths"]) == {"tasks/**", "reconciler.yaml"}
    plan = jobs(doc)["plan"]
    run = commands(plan)
    assert "reconciler validate --format github" in run
    assert "reconciler plan --format markdown --out plan.json" in run
    assert '>> "$GITHUB_STEP_SUMMARY"' in scripts(plan)
    assert "matrix" in plan["strategy"]
    uploads = [s for s in steps(plan) if s.get("uses", "").startswith("actions/upload-artifact")]
    assert uploads and "plan.json" in uploads[0]["with"]["path"]
    writers = _writers(doc)
    assert list(writers) == ["comment"]
    assert writers["comment"]["permissions"] == {"pull-requests": "write"}
    script = scripts(writers["comment"])
    assert f"'{plan_markdown.COMMENT_MARKER}'" in script
    assert "updateComment" in script and "createComment" in script


def test_apply_is_serialised_per_environment_and_auto_approved() -> None:
    doc = load("apply.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "tasks/**" in doc["on"]["push"]["paths"]
    assert "workflow_dispatch" in doc["on"]
    apply = jobs(doc)["apply"]
    assert apply["concurrency"] == {
        "group": "reconciler-apply-${{ matrix.environment }}",
        "cancel-in-progress": False,
    }
    assert apply["environment"] == "${{ matrix.environment }}"
    run = commands(apply)
    assert "reconciler plan --format markdown --out plan.json" in run
    assert "reconciler apply plan.json" in run and "--auto-approve" in run
    assert "--allow-mass-delete" in run  # only when asked for by hand
    assert not _writers(doc)


def test_drift_runs_nightly_keeps_one_issue_and_fails_on_drift() -> None:
    doc = load("drift.yml")
    assert doc["on"]["schedule"][0]["cron"]
    assert "workflow_dispatch" in doc["on"]
    drift = jobs(doc)["drift"]
    run = commands(drift)
    assert "reconciler drift" in run and "--detailed-exitcode" in run
    assert "--format markdown" in run and '>> "$GITHUB_STEP_SUMMARY"' in scripts(drift)
    assert "exit 1" in scripts(drift), "the job fails on drift"
    writers = _writers(doc)
    assert list(writers) == ["issue"]
    assert writers["issue"]["permissions"] == {"issues": "write"}
    script = scripts(writers["issue"])
    assert f"'{drift_markdown.REPORT_MARKER}'" in script
    for call in ("issues.create", "issues.update", "state: 'closed'"):
        assert call in script


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def _check(*args: str, cwd: Path = REPO) -> None:
    tool = _tool(args[0])
    if tool is None:
        pytest.skip(f"{args[0]} is not installed")
    result = subprocess.run(
        [tool, *args[1:]], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.tooling
def test_workflows_pass_the_github_workflow_schema() -> None:
    files = [str(WORKFLOWS[n] / n) for n in NAMES]
    _check("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)


@pytest.mark.tooling
def test_the_action_passes_the_github_action_schema() -> None:
    _check(
        "check-jsonschema", "--builtin-schema", "vendor.github-actions", str(REPO / "action.yml")
    )


@pytest.mark.tooling
def test_workflows_and_the_action_pass_zizmor() -> None:
    _check("zizmor", "--offline", str(OWN), str(REPO / "action.yml"))


@pytest.mark.tooling
def test_the_template_workflows_pass_zizmor_once_copied_as_they_are(tmp_path: Path) -> None:
    """Copied out of this repository, the template's own zizmor.yml is the one that applies."""
    copy = tmp_path / "tasks-repo"
    shutil.copytree(TEMPLATE, copy)
    _check("zizmor", "--offline", ".", cwd=copy)
