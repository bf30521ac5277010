"""The command line's contract (DESIGN sections 5 and 18), run as a user runs it: the version, usage
errors exit 1 (2 means "changes"), flags without value placeholders in `--help`, a busy port is one
line, and credentials without a tenant are refused instead of falling back to the local tenant."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from reconciler import __version__
from reconciler.cli.commands import app
from tests.conftest import EXAMPLES, REPO
from tests.processes import clean_env, run_python

SECRET = "SECRET-contract-7d2b-KEY"


def _run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_python(cwd, "-m", "reconciler", *args, env=clean_env(PYTHONWARNINGS="error", **env))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    return tmp_path


def test_version_prints_the_package_version(tmp_path: Path) -> None:
    result = _run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"qlik-task-reconciler {__version__}"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--no-such-option"],
        ["apply", "--parallelism"],  # an option without its value
        ["apply", "--parallelism", "many"],  # a value of the wrong type
        ["render", "one", "two"],  # an extra argument
        ["validate", "--format", "yaml"],  # not one of the choices
        ["no-such-command"],
        ["emulator", "no-such-command"],
        ["emulator", "serve", "--port", "eighty"],
        ["drift", "--detailed-exitcode", "--bogus"],
    ],
    ids=" ".join,
)
def test_usage_errors_exit_1_never_2(repo: Path, args: list[str]) -> None:
    result = _run(repo, *args)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert not (repo / ".reconciler").exists()  # nothing ran


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) or "reconciler" for path, _ in COMMANDS]
)
def test_help_shows_no_value_placeholder_for_flags(path: tuple[str, ...], command: Any) -> None:
    result = _run(REPO, *path, "--help")
    assert result.returncode == 0, result.stderr
    flags = [p for p in command.params if getattr(p, "is_flag", False)] + ["--help"]
    assert len(flags) > 0
    lines = result.stdout.splitlines()
    for flag in flags:
        name = flag if isinstance(flag, str) else max(flag.opts, key=len)
        row = next(line for line in lines if re.search(rf"│[ *]+{re.escape(name)}\b", line))
        # Between the option's names and its help text there is nothing but spaces.
        names_then_help = rf"│[ *]+{re.escape(name)}(\s+-\w)?\s{{2,}}[A-Z]"
        assert re.search(names_then_help, row), row


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def test_serving_on_a_busy_port_is_one_line_and_exit_1(tmp_path: Path, busy_port: int) -> None:
    result = _run(tmp_path, "emulator", "serve", "--port", str(busy_port))
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(busy_port) in lines[0]
    assert "internal error" not in lines[0]


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"], ["drift"]])
@pytest.mark.parametrize(
    "credentials",
    [
        {"QLIK_API_KEY": SECRET},
        {"QLIK_CLIENT_ID": "client-1", "QLIK_CLIENT_SECRET": SECRET},
        {"QLIK_CLIENT_SECRET": SECRET},
    ],
    ids=["api-key", "oauth-client", "half-an-oauth-client"],
)
def test_credentials_without_a_tenant_are_refused_not_run_locally(
    repo: Path, command: list[str], credentials: dict[str, str]
) -> None:
    result = _run(repo, *command, **credentials)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "QLIK_TENANT_URL" in lines[0]
    assert SECRET not in result.stderr
    assert not (repo / ".reconciler").exists()  # the local tenant was not touched


def test_without_credentials_the_local_tenant_is_still_the_default(repo: Path) -> None:
    result = _run(repo, "plan")
    assert result.returncode == 0, result.stderr
    assert (repo / ".reconciler" / "local-tenant.json").exists()
