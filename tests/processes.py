"""The command line started as a user starts it: a new Python process, in an environment that
carries none of the caller's tenant, credentials, CI or workflow settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CALLERS_OWN = ("QLIK_", "RECONCILER_", "GITHUB_", "INPUT_")
"""Variables of the shell the tests run in that would change what the command does."""


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the caller's settings, wide and colourless output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CALLERS_OWN) and k != "CI"}
    env.update(COLUMNS="200", NO_COLOR="1")
    env.update(extra)
    return env


def run_python(
    cwd: Path, *argv: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python ARGV...` in `cwd` with no standard input, its output captured as text."""
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
