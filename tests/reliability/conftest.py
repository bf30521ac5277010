"""Reliability fixtures: the emulator served over HTTP on 127.0.0.1 by the test process, and the
CLI run as a user runs it (`python -m reconciler ...` in a subprocess), waited for or killed.

Every output of the CLI is checked for the API key and the OAuth client secret here, once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, EmulatorConfig, Reply

API_KEY = "SECRET-reliability-7d2e41-APIKEY"
CLIENT_ID = "reliability-ci"
CLIENT_SECRET = "SECRET-reliability-93b0c5-CLIENTSECRET"
SECRETS = (API_KEY, CLIENT_SECRET)

Observer = Callable[[str, str, Reply], None]


@dataclass
class Served:
    """An emulator on a socket, with a hook that sees every request once it was processed (and
    before its answer leaves), and the OAuth tokens it issued."""

    emulator: Emulator
    url: str
    observers: list[Observer] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """`serve(**config)`: an emulator with that configuration, served until the test ends."""
    stack: list[Any] = []

    def start(**config: Any) -> Served:
        config.setdefault("api_key", API_KEY)
        config.setdefault("oauth_clients", {CLIENT_ID: CLIENT_SECRET})
        config.setdefault("open_apps", True)  # generated scenarios name apps of their own
        emulator = Emulator(EmulatorConfig(**config))
        context = emulator.serve(host="127.0.0.1", port=0)
        server = context.__enter__()
        stack.append(context)
        served = Served(emulator, server.url)
        original = emulator.handle

        def handle(method: str, path: str, *args: Any, **kwargs: Any) -> Reply:
            reply = original(method, path, *args, **kwargs)
            if path == "/oauth/token" and reply.status == 200 and not reply.dropped:
                served.tokens.append(str(reply.json()["access_token"]))
            for observe in list(served.observers):
                observe(method, path, reply)
            return reply

        emulator.handle = handle  # type: ignore[method-assign]
        return served

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


def cli_env(url: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QLIK_", "RECONCILER_", "GITHUB_")) and k != "CI"
    }
    env.update(
        QLIK_TENANT_URL=url,
        QLIK_API_KEY=API_KEY,
        PYTHONWARNINGS="error",
        COLUMNS="200",
        NO_COLOR="1",
        RECONCILER_WRITES_PER_MINUTE="100000",
        RECONCILER_READS_PER_MINUTE="100000",
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def assert_no_secret(text: str, *extra: str) -> None:
    for secret in (*SECRETS, *extra):
        assert secret not in text, "a secret appears in the output"


def run_cli(
    cwd: Path, url: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> Run:
    result = subprocess.run(
        cli_command(*args),
        cwd=cwd,
        env=cli_env(url, **(env or {})),
        input="",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    run = Run(args, result.returncode, result.stdout, result.stderr)
    assert_no_secret(run.output)
    assert "Traceback" not in run.stderr, run.stderr
    return run
