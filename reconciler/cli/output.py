"""What the commands print: lines on stderr, report text coloured on a terminal, YAML streams; and
what a report is stamped with: the time it was made and the commit of the task files."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from typing import Any

import typer
import yaml


def err(text: str) -> None:
    typer.echo(text, err=True)


def echo_coloured(text: str, colours: dict[str, str]) -> None:
    """Print report text; on a terminal, colour each line by its leading symbol (`+`, `~`, ...)."""
    from rich.console import Console
    from rich.text import Text

    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        typer.echo(text, nl=False)
        return
    for line in text.splitlines():
        console.print(Text(line, style=colours.get(line.partition(" ")[0], "")))


def dump_yaml(docs: list[dict[str, Any]]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(
        docs, Dumper=dumper, sort_keys=False, allow_unicode=True, explicit_start=True
    )


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
