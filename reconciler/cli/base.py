"""The command line's shared parts: the typer app, common options, settings, failure handling.

Three shapes of failure: an expected error is one clear line (exit 1, or 3/4 for a stale plan or a
refused guard); problems in task files are listed as `path:line:col: message`; anything else is a
bug: the traceback goes to a file and the user is asked to report it.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
import yaml

from reconciler import __version__
from reconciler.cli.connect import Tenant, open_tenant
from reconciler.cli.contract import ContractGroup
from reconciler.config import Settings, resolve_settings
from reconciler.desired import Desired, read_desired
from reconciler.errors import (
    ConfigError,
    ExitCode,
    ProblemsFound,
    ReconcilerError,
    escape_controls,
)
from reconciler.qlik.client import RateLimits
from reconciler.schedule import subdaily

app = typer.Typer(
    name="reconciler",
    help="Keep Qlik Cloud scheduling tasks as YAML in git and reconcile a tenant with them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
    cls=ContractGroup,
)

P = ParamSpec("P")
R = TypeVar("R")

# -- common options -----------------------------------------------------------------------------

TasksOpt = Annotated[
    Path | None,
    typer.Option("--tasks", help="Directory of task files (default: `tasks:` of reconciler.yaml)."),
]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Configuration file (default: ./reconciler.yaml).")
]
EnvOpt = Annotated[
    str | None,
    typer.Option(
        "--env",
        envvar="RECONCILER_ENV",
        help="Environment of reconciler.yaml: its tenant and vars.",
    ),
]
TenantOpt = Annotated[
    str | None,
    typer.Option("--tenant", help="Tenant URL (default: QLIK_TENANT_URL, then the environment's)."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Say more about what happens.")]


class ValidateFormat(StrEnum):
    text = "text"
    github = "github"
    json = "json"


class DocFormat(StrEnum):
    json = "json"
    yaml = "yaml"


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


def err(text: str) -> None:
    typer.echo(text, err=True)


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


def settings_for(
    config: Path | None, tasks: Path | None, env: str | None, tenant: str | None
) -> Settings:
    work = os.environ.get("RECONCILER_SCHEDULE_WORK", "").strip()
    if work:
        if not work.isdigit() or int(work) < 1000:
            raise ConfigError(
                f"RECONCILER_SCHEDULE_WORK={work!r}: expected a number of steps, at least 1000 "
                f"(default {subdaily.DEFAULT_WORK_BOUND})"
            )
        subdaily.set_work_bound(int(work))
    return resolve_settings(
        config_file=config, tasks=tasks, env=env, tenant=tenant, environ=os.environ, cwd=Path.cwd()
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_tree(settings: Settings, *, allow_empty: bool = False, echo: bool = True) -> Desired:
    """The task files; their warnings on stderr unless `echo` is False (plan and apply print them
    once preflight is known, so that a warning a preflight problem repeats is said once)."""
    desired = read_desired(settings, now=utc_now(), allow_empty=allow_empty)
    if echo:
        for warning in desired.warnings:
            err(str(warning))
    return desired


def dump_yaml(docs: list[dict[str, Any]]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump_all(
        docs, Dumper=dumper, sort_keys=False, allow_unicode=True, explicit_start=True
    )


# -- commands -------------------------------------------------------------------------------------


AdoptOpt = Annotated[
    bool,
    typer.Option(
        "--adopt",
        help="Take over unmanaged tasks whose names are in git (a saved plan that adopts needs it too).",
    ),
]
NoPruneOpt = Annotated[
    bool, typer.Option("--no-prune", help="Never delete managed tasks that git dropped.")
]
KeepLegacyOpt = Annotated[
    bool, typer.Option("--keep-legacy", help="Keep legacy reload-tasks after migrating.")
]
TargetOpt = Annotated[
    list[str] | None,
    typer.Option("--target", help="Only this task and what it depends on (repeatable)."),
]
AllowEmptyOpt = Annotated[
    bool, typer.Option("--allow-empty", help="An empty tasks directory means: no tasks.")
]
DetailedExitcodeOpt = Annotated[
    bool,
    typer.Option(
        "--detailed-exitcode",
        help="Exit 2 when there are changes (or drift), 0 when there are none.",
    ),
]
ReadsOpt = Annotated[
    float,
    typer.Option(
        "--reads-per-minute", envvar="RECONCILER_READS_PER_MINUTE", help="Read rate limit (Tier 1)."
    ),
]
WritesOpt = Annotated[
    float,
    typer.Option(
        "--writes-per-minute",
        envvar="RECONCILER_WRITES_PER_MINUTE",
        help="Write rate limit (Tier 2).",
    ),
]


TzOpt = Annotated[
    str,
    typer.Option(
        "--tz", help="Time zone of times and hourly slots (IANA name, e.g. Europe/Zurich)."
    ),
]
MaxConcurrentOpt = Annotated[
    int,
    typer.Option(
        "--max-concurrent", min=1, help="Reloads at once beyond which a collision is listed."
    ),
]


def zone(name: str) -> tzinfo:
    """`--tz NAME` as a time zone, or a one-line error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name!r} is not an IANA time zone (e.g. Europe/Zurich)") from None


def git_commit() -> str | None:
    import subprocess

    if os.environ.get("GITHUB_SHA"):
        return os.environ["GITHUB_SHA"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def connect(
    settings: Settings, reads: float = 1000, writes: float = 100, on_retry: Any = None
) -> Tenant:
    tenant = open_tenant(
        settings.tenant,
        os.environ,
        root=settings.root,
        limits=RateLimits(reads_per_minute=reads, writes_per_minute=writes),
        on_retry=on_retry,
        profile=settings.profile,
        marker=settings.marker,
    )
    if tenant.local:
        err(f"note: no tenant configured; using the {tenant.label}")
    return tenant


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"qlik-task-reconciler {__version__}")
        raise typer.Exit(0)


def main() -> None:
    # At exit the interpreter collects the whole heap once more, a tenth of a second for a plan of
    # a few thousand tasks: the process is ending, so nothing is frozen for long.
    atexit.register(gc.freeze)
    app(prog_name="reconciler")


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
