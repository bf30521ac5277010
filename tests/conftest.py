"""Shared fixtures: a scratch tasks tree, the CLI runner and the example tree of the repository."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.load import LoadedTask, LoadResult, load_text

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "tasks"
APP_A = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
APP_B = "3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718"
APP_C = "5c1d9e8f-7a6b-4c3d-8e2f-1a0b9c8d7e6f"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory (no reconciler.yaml) the CLI runs in."""
    monkeypatch.chdir(tmp_path)
    # Neither the caller's tenant, credentials nor CI=true (both refuse the local tenant) leak in.
    for name in ("QLIK_TENANT_URL", "QLIK_API_KEY", "QLIK_CLIENT_ID", "QLIK_CLIENT_SECRET", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("RECONCILER_ENV", raising=False)
    return tmp_path


def tasks_from(text: str, variables: dict[str, str] | None = None) -> list[LoadedTask]:
    """Tasks from YAML text (dedented); fails the test on any load problem."""
    result = LoadResult()
    load_text("tasks/t.yaml", textwrap.dedent(text).encode(), variables or {}, result)
    assert not result.problems, [str(p) for p in result.problems]
    return result.tasks


WriteTasks = Callable[[str, str], Path]


@pytest.fixture
def write_tasks(workdir: Path) -> WriteTasks:
    def write(name: str, text: str) -> Path:
        path = workdir / "tasks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return write
