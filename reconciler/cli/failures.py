"""The one place that turns a command's failures into messages and exit codes.

Three shapes of failure: an expected error is one clear line (exit 1, or 3/4 for a stale plan or a
refused guard); problems in task files are listed as `path:line:col: message`; anything else is a
bug: the traceback goes to a file and the user is asked to report it.
"""

from __future__ import annotations

import functools
import os
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from reconciler import __version__
from reconciler.cli.output import err
from reconciler.errors import ExitCode, ProblemsFound, ReconcilerError, escape_controls

P = ParamSpec("P")
R = TypeVar("R")


def _report_crash(exc: BaseException) -> Path:
    fd, name = tempfile.mkstemp(prefix="reconciler-crash-", suffix=".txt")
    with os.fdopen(fd, "w") as out:
        out.write(f"qlik-task-reconciler {__version__}\n")
        out.write("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return Path(name)


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the three shapes of failure into messages and exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except ProblemsFound as exc:
            for problem in exc.problems:
                err(str(problem))
            err(f"error: {exc}")
            raise typer.Exit(int(exc.exit_code)) from None
        except ReconcilerError as exc:
            err(f"error: {escape_controls(str(exc))}")
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            err("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:
            path = _report_crash(exc)
            err(
                f"internal error: {type(exc).__name__}. This is a bug in qlik-task-reconciler; "
                f"the details are in {path}. Please report it with that file."
            )
            raise typer.Exit(int(ExitCode.ERROR)) from None

    return wrapper
