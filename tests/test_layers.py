"""The layers hold by lint: ruff's banned-api (pyproject.toml) refuses, in the core and the
renderers, an import of HTTP, the terminal, the client, the emulator or the CLI; the edges may."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.tooling

FORBIDDEN = [
    "import httpx",
    "import typer",
    "from rich.console import Console",
    "from reconciler.qlik.client import TenantClient",
    "from reconciler import emulator",
    "from reconciler.cli.base import command",
]
CORE = ["reconciler/plan.py", "reconciler/schedule/rrule.py", "reconciler/apply/phases.py"]
RENDERERS = ["reconciler/report/plan_text.py"]
EDGES = {
    "reconciler/qlik/client.py": ["import httpx", "from reconciler import emulator"],
    "reconciler/emulator/server.py": ["import httpx"],
    "reconciler/cli/tenant.py": FORBIDDEN,
}


def _banned(path: str, line: str) -> bool:
    beside = Path(sys.executable).parent / "ruff"
    ruff = str(beside) if beside.exists() else shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--select", "TID251", "--stdin-filename", path, "-"],
        input=f"{line}\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return "TID251" in result.stdout


@pytest.mark.parametrize("path", CORE + RENDERERS)
@pytest.mark.parametrize("line", FORBIDDEN)
def test_the_core_and_the_renderers_may_not_import_the_edges(path: str, line: str) -> None:
    assert _banned(path, line)


@pytest.mark.parametrize(
    ("path", "line"), [(path, line) for path, lines in EDGES.items() for line in lines]
)
def test_the_edges_may(path: str, line: str) -> None:
    assert not _banned(path, line)
