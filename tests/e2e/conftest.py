"""End-to-end fixtures: the emulator over real HTTP on 127.0.0.1, and the CLI run as a user runs it.

`tenant` starts a fresh emulator; `project` is a working directory with a `tasks/` tree; `cli` runs
`python -m reconciler ...` in a subprocess against that tenant, with a recognisable API key that the
tests can look for in every output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli.connect import EXAMPLE_APPS
from reconciler.emulator import Emulator, EmulatorConfig
from tests.conftest import EXAMPLES, REPO

API_KEY = "SECRET-e2e-4c1f9a-APIKEY"


@dataclass
class LiveTenant:
    emulator: Emulator
    url: str


@pytest.fixture
def tenant() -> Iterator[LiveTenant]:
    # The apps of the example tree exist, as in the local tenant; other apps answer 404.
    emulator = Emulator(EmulatorConfig(api_key=API_KEY), seed={"apps": list(EXAMPLE_APPS)})
    with emulator.serve(host="127.0.0.1", port=0) as server:
        yield LiveTenant(emulator, server.url)
    assert not emulator.server_errors(), emulator.server_errors()


@dataclass
class Project:
    root: Path

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def remove(self, relative: str) -> None:
        (self.root / relative).unlink()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A tasks repository: a copy of the example tree and configuration."""
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    return Project(tmp_path)


@dataclass
class Cli:
    project: Project
    tenant: LiveTenant

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("QLIK_", "RECONCILER_", "GITHUB_")) and k != "CI"
        }
        env.update(
            QLIK_TENANT_URL=self.tenant.url,
            QLIK_API_KEY=API_KEY,
            PYTHONWARNINGS="error",
            COLUMNS="200",
            NO_COLOR="1",
            # The emulator enforces no limit unless a test sets one: do not pace at Tier 2 speed.
            RECONCILER_WRITES_PER_MINUTE="100000",
            RECONCILER_READS_PER_MINUTE="100000",
        )
        env.update(extra)
        return env

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "reconciler", *args],
            cwd=self.project.root,
            env=self.env(**env),
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert API_KEY not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture
def cli(project: Project, tenant: LiveTenant) -> Cli:
    return Cli(project, tenant)
