"""The command line: typer commands that wire loading, planning, the client and the reporters.

`commands` is the registry: it names every command and imports a command's module only when that
command runs, so that each command loads what it uses and nothing else.
"""

from reconciler.cli.commands import app, main

__all__ = ["app", "main"]
