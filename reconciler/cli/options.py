"""The options several commands share, declared once: their flags, help and environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

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
