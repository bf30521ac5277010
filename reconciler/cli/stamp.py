"""What a command's output is stamped with: the time it was made and the commit of the task files."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def git_commit() -> str | None:
    """The commit being reconciled: GITHUB_SHA in a workflow, else the working tree's HEAD."""
    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
