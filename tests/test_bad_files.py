"""Every malformed file of tests/cases/bad is refused with exit 1 and a located, helpful message."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.cli.commands import app

BAD = Path(__file__).parent / "cases" / "bad"
CASES = sorted(BAD.glob("*.yaml"))


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_file_is_refused_with_a_located_message(
    case: Path, workdir: Path, runner: CliRunner
) -> None:
    header = case.read_bytes().split(b"\n", 1)[0].decode()
    match = re.fullmatch(r"# expect: line (\d+): (.*)", header)
    assert match, f"{case.name} lacks its '# expect: line N: fragment' header"
    line, fragment = int(match.group(1)), match.group(2)
    (workdir / "tasks").mkdir()
    shutil.copy(case, workdir / "tasks" / case.name)

    result = runner.invoke(app, ["validate"])

    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"tasks/{case.name}:{line}:" in result.output, result.output
    assert fragment in result.output, result.output
    located = [ln for ln in result.output.splitlines() if ln.startswith(f"tasks/{case.name}:")]
    assert all(re.match(rf"tasks/{re.escape(case.name)}:\d+:\d+: \S", ln) for ln in located)


def test_all_problems_are_reported_at_once(workdir: Path, runner: CliRunner) -> None:
    (workdir / "tasks").mkdir()
    for name in ("unknown-key.yaml", "bad-timezone.yaml", "non-uuid-appid.yaml"):
        shutil.copy(BAD / name, workdir / "tasks" / name)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    for name in ("unknown-key.yaml", "bad-timezone.yaml", "non-uuid-appid.yaml"):
        assert f"tasks/{name}:" in result.output


def test_github_format_prints_annotations(workdir: Path, runner: CliRunner) -> None:
    (workdir / "tasks").mkdir()
    shutil.copy(BAD / "bad-timezone.yaml", workdir / "tasks" / "tz.yaml")
    result = runner.invoke(app, ["validate", "--format", "github"])
    assert result.exit_code == 1
    assert re.search(r"^::error file=tasks/tz\.yaml,line=6,col=\d+::", result.output, re.M)


@pytest.mark.parametrize("setup", ["missing", "empty", "no-yaml"])
def test_empty_or_missing_tasks_directory_is_an_error(
    setup: str, workdir: Path, runner: CliRunner
) -> None:
    if setup != "missing":
        (workdir / "tasks").mkdir()
    if setup == "no-yaml":
        (workdir / "tasks" / "README.md").write_text("nothing here")
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1
    assert "tasks" in result.output
    allowed = runner.invoke(app, ["validate", "--allow-empty"])
    assert allowed.exit_code == 0, allowed.output


def test_misspelled_tasks_path_names_the_path(workdir: Path, runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "--tasks", "taks"])
    assert result.exit_code == 1
    assert "taks does not exist" in result.output
