"""The registry of commands: the root `reconciler` command, and each command's module by name.

A command's module is imported only when that command runs (or when `--help` lists them all), so
`reconciler validate` loads the task-file code and not the HTTP client, the emulator, the reports
or the terminal renderer. A command module holds plain functions; this registry makes them
commands, in the order `--help` lists them.
"""

from __future__ import annotations

import atexit
import gc
import importlib
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, Final

import typer
import typer.main

from reconciler import __version__
from reconciler.cli.contract import ContractGroup

COMMANDS: dict[str, str] = {
    "doctor": "reconciler.cli.doctor:doctor_cmd",
    "drift": "reconciler.cli.drift:drift_cmd",
    "validate": "reconciler.cli.validate:validate",
    "render": "reconciler.cli.render:render_cmd",
    "graph": "reconciler.cli.graph:graph_cmd",
    "schema": "reconciler.cli.validate:schema_cmd",
    "migrate": "reconciler.cli.migrate:migrate_cmd",
    "import": "reconciler.cli.importing:import_cmd",
    "plan": "reconciler.cli.plan:plan_cmd",
    "apply": "reconciler.cli.apply:apply_cmd",
    "schedule": "reconciler.cli.schedule:schedule_cmd",
    "emulator": "reconciler.cli.emulator:emulator_app",
}
"""Command name -> `module:attribute`: a function (one command) or a typer app (a group)."""

MARKUP: Final = "markdown"
"""How help text is read: the docstrings write options and examples in backticks."""


def _build(name: str, target: str) -> Any:
    """The parser's command for `name`, built from its module (imported now) as typer builds the
    commands of a group: with the root's markup for help text."""
    module, _, attribute = target.partition(":")
    found = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(rich_markup_mode=MARKUP, add_completion=False)
    if isinstance(found, typer.Typer):
        holder.add_typer(found, name=name)
    else:
        holder.command(name)(found)
    return typer.main.get_group(holder).commands[name]


class _Commands(MutableMapping[str, Any]):
    """The root's commands by name: every name is known, each command is built when first asked for."""

    def __init__(self, eager: MutableMapping[str, Any]) -> None:
        self._built: dict[str, Any] = dict(eager)

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = _build(name, COMMANDS[name])
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(1 for name in self._built if name not in COMMANDS)


class LazyGroup(ContractGroup):
    """The root command: the contract of `ContractGroup`, with commands loaded by name on use."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _Commands(self.commands)


app = typer.Typer(
    name="reconciler",
    help="Keep Qlik Cloud scheduling tasks as YAML in git and reconcile a tenant with them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=MARKUP,
    cls=LazyGroup,
)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    loaded()
    if version:
        typer.echo(f"qlik-task-reconciler {__version__}")
        raise typer.Exit(0)


def loaded() -> None:
    """The command is loaded and about to run: what loading made joins the oldest generation
    unscanned (as `reconciler.load.paused_gc` does for the task files), and the collector resumes
    as before. Nothing to do when collection was not paused (the commands run in-process)."""
    if not gc.isenabled():
        gc.freeze()
        gc.unfreeze()
        gc.enable()


def run() -> None:
    # At exit the interpreter collects the whole heap once more, a tenth of a second for a plan of
    # a few thousand tasks: the process is ending, so nothing is frozen for long.
    atexit.register(gc.freeze)
    app(prog_name="reconciler")
