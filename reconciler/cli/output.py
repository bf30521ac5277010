"""What the commands print: lines on stderr, report text coloured on a terminal, YAML streams."""

from __future__ import annotations

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
