"""Files the tool reads and writes (DESIGN 19.3, 19.6, 19.8): bytes read are bounded before they
are read; files are written atomically through temporary files that cannot be redirected, only
inside the directory named; every bad file ends in one clear line and exit 1."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler import writer
from reconciler.cli.commands import app
from reconciler.errors import ReconcilerError

GOOD_TASK = (
    "name: A\nreload: {appId: 116dbfae-7fb9-4983-8e23-5ccd8c508722}\n"
    "schedule: {recurrence: RRULE:FREQ=DAILY, timezone: UTC, startDateTime: '2026-01-01T00:00:00'}\n"
)


def _one_line_error(result: object, code: int = 1) -> str:
    output = result.output  # type: ignore[attr-defined]
    assert result.exit_code == code, output  # type: ignore[attr-defined]
    assert "Traceback" not in output and "internal error" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


@pytest.fixture
def tree(workdir: Path) -> Path:
    (workdir / "tasks").mkdir()
    (workdir / "tasks" / "a.yaml").write_text(GOOD_TASK)
    return workdir


# -- writing -----------------------------------------------------------------------------------


def test_plan_out_a_directory_is_one_line_and_leaves_nothing(tree: Path, runner: CliRunner) -> None:
    (tree / "out").mkdir()
    line = _one_line_error(runner.invoke(app, ["plan", "--out", "out"]))
    assert "is a directory" in line
    assert sorted(p.name for p in tree.iterdir()) == ["out", "tasks"]  # no out.tmp, no state
    assert list((tree / "out").iterdir()) == []


def test_plan_out_in_a_missing_directory_is_one_line(tree: Path, runner: CliRunner) -> None:
    line = _one_line_error(runner.invoke(app, ["plan", "--out", "/nonexistent/x"]))
    assert "/nonexistent" in line and "does not exist" in line


@pytest.mark.parametrize("planted", [".plan.json.tmp", "plan.json.tmp"])
def test_a_planted_symlink_cannot_redirect_a_write(
    tree: Path, runner: CliRunner, tmp_path_factory: pytest.TempPathFactory, planted: str
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "victim.txt"
    outside.write_text("untouched")
    (tree / planted).symlink_to(outside)
    result = runner.invoke(app, ["plan", "--out", "plan.json"])
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "untouched"
    assert json.loads((tree / "plan.json").read_text())["format_version"] == "1"
    assert not [
        p for p in tree.iterdir() if p.name.startswith(".plan.json.") and p != tree / planted
    ]


def test_the_writer_replaces_a_symlink_and_never_writes_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    target = tmp_path / "dir" / "report.json"
    target.parent.mkdir()
    target.symlink_to(outside)
    writer.write_file(target, "new")
    assert outside.read_text() == "untouched"
    assert not target.is_symlink() and target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


@pytest.mark.parametrize("name", ["../escape.yaml", "sub/x.yaml", "..", "", "a\0b"])
def test_the_writer_writes_only_inside_the_named_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(ReconcilerError, match="not a plain file name"):
        writer.write_into(tmp_path / "out", [("fine.yaml", "x"), (name, "y")])
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.yaml").exists()


# -- import and migrate into the same folder ---------------------------------------------------


def test_import_again_into_the_same_folder_rewrites_nothing_unchanged(
    tree: Path, runner: CliRunner
) -> None:
    (tree / "tasks" / "a.yaml").unlink()
    (tree / "tasks" / "keep.yaml").write_text(GOOD_TASK.replace("name: A", "name: Kept"))
    first = runner.invoke(app, ["import", "--out", "tasks/imported"])
    assert first.exit_code == 0, first.output
    written = sorted((tree / "tasks" / "imported").iterdir())
    assert written
    stamps = {p: p.stat().st_mtime_ns for p in written}
    again = runner.invoke(app, ["import", "--out", "tasks/imported"])
    assert again.exit_code == 0, again.output
    assert "unchanged tasks/imported/" in again.output and "wrote" not in again.output
    assert {p: p.stat().st_mtime_ns for p in written} == stamps

    # A file import wrote and nobody edited is replaced when the tenant changed it.
    state = tree / ".reconciler" / "local-tenant.json"
    data = json.loads(state.read_text())
    for task in data["tasks"]:
        task["description"] = "changed in the hub"
    state.write_text(json.dumps(data))
    third = runner.invoke(app, ["import", "--out", "tasks/imported"])
    assert third.exit_code == 0, third.output
    assert "changed in the hub" in written[0].read_text()

    # A file someone edited is refused, and nothing is written.
    written[0].write_text(written[0].read_text() + "# my note\n")
    data["tasks"][0]["description"] = "changed again"
    state.write_text(json.dumps(data))
    fourth = runner.invoke(app, ["import", "--out", "tasks/imported"])
    assert fourth.exit_code == 1
    assert "refusing to overwrite 1 existing file(s)" in fourth.output
    assert written[0].read_text().endswith("# my note\n")


# -- reading: bounds before bytes ----------------------------------------------------------------


def _limited(limit_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def test_a_huge_task_file_is_refused_before_it_is_read(tree: Path) -> None:
    huge = tree / "tasks" / "huge.yaml"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # 2 GiB, sparse: costs no disk
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate"],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: _limited(1024**3),
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "tasks/huge.yaml:1:1: file is larger than 2 MiB" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


# -- one line, exit 1 -----------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["task file", "reconciler.yaml"])
def test_a_5000_digit_integer_is_a_located_problem(
    tree: Path, runner: CliRunner, where: str
) -> None:
    digits = "9" * 5000
    if where == "task file":
        (tree / "tasks" / "a.yaml").write_text(GOOD_TASK + f"description: {digits}\n")
        shown = "tasks/a.yaml:4:14:"
    else:
        (tree / "reconciler.yaml").write_text(f"tasks: tasks\nmarker: {digits}\n")
        shown = "reconciler.yaml:2:9:"
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert shown in result.output and "a number of 5000 characters" in result.output


@pytest.mark.parametrize(
    "content",
    [
        b'{"tasks": 5',
        b"[1, 2]",
        b'{"tasks": {"a": 1}}',
        b'{"tasks": ["x"]}',
        b'{"seq": "x"}',
        b"\xff\xfe\x00",
        b'{"seq": ' + b"9" * 5000 + b"}",
    ],
    ids=["truncated", "a-list", "tasks-mapping", "task-not-object", "seq-text", "utf16", "digits"],
)
def test_a_corrupt_local_tenant_file_is_one_line(
    tree: Path, runner: CliRunner, content: bytes
) -> None:
    (tree / ".reconciler").mkdir()
    (tree / ".reconciler" / "local-tenant.json").write_bytes(content)
    line = _one_line_error(runner.invoke(app, ["plan"]))
    assert "local-tenant.json is not a tenant state file" in line


@pytest.mark.parametrize("case", ["missing", "directory", "latin-1", "digits", "not-a-plan"])
def test_a_bad_saved_plan_is_one_line(tree: Path, runner: CliRunner, case: str) -> None:
    plan = tree / "plan.json"
    if case == "directory":
        plan.mkdir()
    elif case == "latin-1":
        plan.write_bytes('{"format_version": "1", "tenant": "Zürich"}'.encode("latin-1"))
    elif case == "digits":
        plan.write_bytes(b'{"format_version": "1", "managed_count": ' + b"9" * 5000 + b"}")
    elif case == "not-a-plan":
        plan.write_text("[]")
    line = _one_line_error(runner.invoke(app, ["apply", "plan.json"]))
    assert "saved plan" in line


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_saved_plan_that_is_not_a_regular_file_is_one_line(tree: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(tree / "plan.json")  # nobody ever writes to it: reading it must not wait
        planfile = "plan.json"
    else:
        planfile = "/dev/zero"  # never ends
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "apply", planfile],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONWARNINGS": "error"},
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: cannot read the saved plan {planfile}: not a regular file"
    ]
