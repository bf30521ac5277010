"""Commands that read the task files alone: validate (every problem at once) and schema."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from reconciler import model
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt
from reconciler.cli.output import err, utc_now
from reconciler.cli.settings import settings_for
from reconciler.desired import read_desired
from reconciler.errors import ConfigError, ExitCode, ProblemsFound
from reconciler.report import workflow_commands


class ValidateFormat(StrEnum):
    text = "text"
    github = "github"
    json = "json"


@command
def validate(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    fmt: Annotated[
        ValidateFormat, typer.Option("--format", help="text, github (annotations) or json.")
    ] = ValidateFormat.text,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="An empty tasks directory is not an error.")
    ] = False,
) -> None:
    """Check every task file offline and report all problems at once.

    Example: `reconciler validate --env prod --format github`
    """
    settings = settings_for(config, tasks, env, None)
    try:
        desired = read_desired(settings, now=utc_now(), allow_empty=allow_empty)
        problems = desired.warnings
        failed = False
    except ProblemsFound as exc:
        problems, failed = exc.problems, True
    except ConfigError as exc:
        # Not a problem inside a file (a missing or empty directory): still one machine-readable
        # answer for the formats that promise one.
        if fmt is ValidateFormat.json:
            typer.echo(json.dumps({"valid": False, "error": str(exc), "problems": []}, indent=2))
        elif fmt is ValidateFormat.github:
            typer.echo(workflow_commands.command("error", str(exc)))
        raise
    if fmt is ValidateFormat.github:
        for p in problems:
            level = "warning" if p.severity == "warning" else "error"
            typer.echo(
                workflow_commands.command(level, p.message, file=p.path, line=p.line, col=p.column)
            )
    elif fmt is ValidateFormat.json:
        typer.echo(
            json.dumps(
                {
                    "valid": not failed,
                    "problems": [
                        {
                            "path": p.path,
                            "line": p.line,
                            "column": p.column,
                            "severity": p.severity,
                            "message": p.message,
                        }
                        for p in problems
                    ],
                },
                indent=2,
            )
        )
    else:
        for p in problems:
            typer.echo(str(p))
    if failed:
        errors = sum(1 for p in problems if p.severity == "error")
        err(f"error: {errors} problem(s) in the task files")
        raise typer.Exit(int(ExitCode.ERROR))
    if fmt is ValidateFormat.text:
        typer.echo(f"{len(desired.tasks)} task(s) in {desired.files} file(s) are valid.")


@command
def schema_cmd() -> None:
    """Print the JSON Schema of task files (schemas/task.schema.json is this output).

    Example: `reconciler schema > schemas/task.schema.json`
    """
    typer.echo(json.dumps(model.json_schema(), indent=2, ensure_ascii=False))
