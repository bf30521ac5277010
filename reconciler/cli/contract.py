"""What the command line promises whatever version of its parser is installed.

Exit code 2 means "there are changes" (`--detailed-exitcode`), so a usage error (an unknown option,
a missing argument) must exit 1, not the 2 the parser uses by default. And a flag takes no value, so
`--help` shows none: no `<bool>` placeholder beside `--adopt`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
import typer.core

from reconciler.errors import ExitCode


def _usage_error_class() -> type[Exception]:
    """The parser's usage-error class, of which a bad parameter is one kind. typer releases differ
    in where it lives (click's, or typer's own copy of click), so it is found from what typer
    exports."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "UsageError" and issubclass(cls, Exception):
            return cls
    return typer.BadParameter


_UsageError = _usage_error_class()


@contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    try:
        yield
    except _UsageError as exc:
        exc.exit_code = int(ExitCode.ERROR)  # type: ignore[attr-defined]
        raise


def _commands(command: Any) -> Iterator[Any]:
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from _commands(sub)


def _hide_own_flag_placeholders(command: Any, ctx: typer.Context) -> None:
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


def hide_flag_placeholders(command: Any, ctx: typer.Context) -> None:
    """A flag's value is its presence: give every flag of `command` and of the commands below it,
    `--help` included, an empty placeholder."""
    for each in _commands(command):
        _hide_own_flag_placeholders(each, ctx)


class ContractGroup(typer.core.TyperGroup):
    """The root command: usage errors anywhere below it exit 1; flags show no placeholder."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _usage_errors_exit_1():
            return super().make_context(*args, **kwargs)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        _hide_own_flag_placeholders(self, ctx)  # before `--help` is acted on
        return list(super().parse_args(ctx, args))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        # A command is asked for before it parses its arguments (and acts on its `--help`).
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            hide_flag_placeholders(found, ctx)
        return found

    def invoke(self, ctx: Any) -> Any:
        with _usage_errors_exit_1():
            return super().invoke(ctx)
