"""The plan command: what apply would change in the tenant, in three formats, optionally saved."""

from __future__ import annotations

import functools
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.connect import Tenant, connect_after_files, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import (
    AdoptOpt,
    AllowEmptyOpt,
    ConfigOpt,
    DetailedExitcodeOpt,
    EnvOpt,
    KeepLegacyOpt,
    MaxConcurrentOpt,
    NoPruneOpt,
    ReadsOpt,
    TargetOpt,
    TasksOpt,
    TenantOpt,
    TzOpt,
    VerboseOpt,
)
from reconciler.cli.output import echo_coloured, err, git_commit, utc_now
from reconciler.cli.planning import (
    PLAN_COLOURS,
    Reading,
    compute_plan,
    plan_options,
    refuse_problems,
)
from reconciler.cli.settings import read_tree, settings_for, zone
from reconciler.errors import ExitCode
from reconciler.insight import DEFAULT_MAX_CONCURRENT, Insight
from reconciler.plan import Plan
from reconciler.report import plan_json
from reconciler.writer import check_target, write_file


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@command
def plan_cmd(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    fmt: Annotated[
        PlanFormat, typer.Option("--format", help="text, json or markdown.")
    ] = PlanFormat.text,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the plan as JSON, for `apply PLANFILE`.")
    ] = None,
    detailed_exitcode: DetailedExitcodeOpt = False,
    adopt: AdoptOpt = False,
    no_prune: NoPruneOpt = False,
    keep_legacy: KeepLegacyOpt = False,
    target: TargetOpt = None,
    allow_empty: AllowEmptyOpt = False,
    reads_per_minute: ReadsOpt = 1000,
    tz: TzOpt = "UTC",
    max_concurrent: MaxConcurrentOpt = DEFAULT_MAX_CONCURRENT,
    verbose: VerboseOpt = False,
) -> None:
    """Show what apply would change in the tenant, without changing anything.

    Before anything is written, preflight checks the plan against the tenant (apps exist and
    may be reloaded, at most 10 tasks and one data-update task per app, no end in the past):
    a problem makes plan exit 1.

    Example: `reconciler plan --env prod --format markdown --out plan.json`
    """
    settings = settings_for(config, tasks, env, tenant)
    read = functools.partial(read_tree, settings, allow_empty=allow_empty, echo=False)
    options = plan_options(
        settings, adopt=adopt, no_prune=no_prune, keep_legacy=keep_legacy, target=target
    )
    if out is not None:
        check_target(out)
    zone(tz)
    reading = Reading(zone_name=tz, max_concurrent=max_concurrent)
    opened = connect_after_files(settings, read, reads_per_minute)

    async def run() -> tuple[Plan, Insight]:
        async with opened.client:
            plan, _, insight = await compute_plan(
                read, opened, options, settings.default_owner, reading
            )
            return plan, insight

    plan, insight = run_async(run())
    now = utc_now()
    requests = opened.client.requests.total
    if out is not None and not insight.problems:
        write_file(out, _plan_json(plan, opened, now, insight))
        err(f"saved the plan to {out}; apply it with: reconciler apply {out}")
    elif out is not None:
        err(f"the plan has problems: not saved to {out}")
    if fmt is PlanFormat.json:
        typer.echo(_plan_json(plan, opened, now, insight))
    elif fmt is PlanFormat.markdown:
        from reconciler.report import plan_markdown

        typer.echo(
            plan_markdown.render(plan, now=now, tenant=opened.label, insight=insight), nl=False
        )
    else:
        from reconciler.report import plan_text

        echo_coloured(
            plan_text.render(
                plan, now=now, tenant=opened.label, requests=requests, insight=insight
            ),
            PLAN_COLOURS,
        )
    if verbose:
        err(f"{requests} API request(s): {dict(opened.client.requests.by_operation)}")
    refuse_problems(insight, listed=fmt is PlanFormat.text)
    if detailed_exitcode and plan.has_changes:
        raise typer.Exit(int(ExitCode.CHANGES))


def _plan_json(plan: Plan, opened: Tenant, now: datetime, insight: Insight) -> str:
    """The plan as JSON: what `--out` saves and `--format json` prints."""
    return plan_json.render(
        plan,
        tenant=opened.url,
        generated_at=now,
        git_commit=git_commit(),
        requests=dict(opened.client.requests.by_operation),
        insight=insight,
    )
