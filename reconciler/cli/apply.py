"""The apply command: make the tenant match git (or a saved plan), after a question or --auto-approve."""

from __future__ import annotations

import functools
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reconciler.apply import ApplyResult, Reporter, Status, apply_plan
from reconciler.apply.preconditions import check_fresh
from reconciler.bounded import DATA_FILE_BYTES, TooLarge, read_bounded
from reconciler.cli.connect import connect_after_files, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import (
    AdoptOpt,
    AllowEmptyOpt,
    ConfigOpt,
    EnvOpt,
    KeepLegacyOpt,
    NoPruneOpt,
    ReadsOpt,
    TargetOpt,
    TasksOpt,
    TenantOpt,
    VerboseOpt,
    WritesOpt,
)
from reconciler.cli.output import echo_coloured, err, utc_now
from reconciler.cli.planning import PLAN_COLOURS, compute_plan, plan_options, refuse_problems
from reconciler.cli.progress import BarReporter, LineReporter, outcome_line
from reconciler.cli.settings import read_tree, settings_for
from reconciler.errors import ExitCode, ReconcilerError
from reconciler.guard import Guard
from reconciler.live import LiveReader
from reconciler.plan import Plan
from reconciler.planfile import load as load_saved_plan
from reconciler.report import plan_text


def _progress(
    interactive: bool, total: int, lines: LineReporter
) -> AbstractContextManager[Reporter]:
    """A progress bar on a terminal; elsewhere one line per finished action."""
    if interactive:
        return BarReporter(total, Console())
    return nullcontext(lines)


def _read_saved(path: Path) -> bytes:
    try:
        return read_bounded(path, DATA_FILE_BYTES)
    except TooLarge as exc:
        raise ReconcilerError(f"cannot read the saved plan {path}: {exc}") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ReconcilerError(f"cannot read the saved plan {path}: {why}") from None


@command
def apply_cmd(
    planfile: Annotated[
        Path | None, typer.Argument(help="A plan saved by `plan --out`: apply exactly it.")
    ] = None,
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    auto_approve: Annotated[
        bool,
        typer.Option("--auto-approve", help="Do not ask; required when stdin is not a terminal."),
    ] = False,
    adopt: AdoptOpt = False,
    no_prune: NoPruneOpt = False,
    keep_legacy: KeepLegacyOpt = False,
    target: TargetOpt = None,
    allow_empty: AllowEmptyOpt = False,
    parallelism: Annotated[
        int, typer.Option("--parallelism", min=1, max=32, help="Tasks changed at once.")
    ] = 4,
    reads_per_minute: ReadsOpt = 1000,
    writes_per_minute: WritesOpt = 100,
    allow_mass_delete: Annotated[
        bool,
        typer.Option(
            "--allow-mass-delete", help="Allow deleting more than 20% of the managed tasks."
        ),
    ] = False,
    max_deletes: Annotated[
        int | None, typer.Option("--max-deletes", help="Refuse more deletes than this.")
    ] = None,
    allow_mass_create: Annotated[
        bool,
        typer.Option(
            "--allow-mass-create",
            help="Allow creating more than 10 tasks on a tenant that lists no managed task "
            "(a first apply).",
        ),
    ] = False,
    verbose: VerboseOpt = False,
) -> None:
    """Make the tenant match git: plan, confirm, then create, update and delete tasks.

    Examples: `reconciler apply` (asks first) · `reconciler apply --auto-approve` (CI) ·
    `reconciler apply plan.json` (a reviewed plan; refuses with exit 3 if the tenant changed since)
    """
    settings = settings_for(config, tasks, env, tenant)
    guard = Guard(
        allow_mass_delete=allow_mass_delete,
        max_deletes=max_deletes,
        allow_mass_create=allow_mass_create,
    )
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    reporter = LineReporter(typer.echo)
    saved = None
    read = functools.partial(read_tree, settings, allow_empty=allow_empty, echo=False)
    if planfile is not None:
        saved, header = load_saved_plan(_read_saved(planfile))
    else:
        options = plan_options(
            settings, adopt=adopt, no_prune=no_prune, keep_legacy=keep_legacy, target=target
        )
    opened = connect_after_files(
        settings,
        read if saved is None else lambda: None,
        reads_per_minute,
        writes_per_minute,
        on_retry=reporter.retrying,
    )

    async def run() -> tuple[Plan, ApplyResult | None]:
        async with opened.client:
            if saved is not None:
                if header.get("tenant") not in (None, opened.url):
                    raise ReconcilerError(
                        f"the plan was made for {header.get('tenant')}, not {opened.url}; make a new plan"
                    )
                live = await LiveReader(opened.client).tasks()
                check_fresh(saved, live)
                plan = saved
            else:
                plan, state, insight = await compute_plan(
                    read, opened, options, settings.default_owner
                )
                echo_coloured(
                    plan_text.render(plan, now=utc_now(), tenant=opened.label, insight=insight),
                    PLAN_COLOURS,
                )
                refuse_problems(insight, listed=True)
                live = state.tasks
            if not plan.changes:
                return plan, None
            guard.check(plan, live, marker=settings.marker)
            if saved is None and not auto_approve:
                if not interactive:
                    raise ReconcilerError(
                        "stdin is not a terminal: pass --auto-approve to apply without a question"
                    )
                if not typer.confirm("Apply these changes to the tenant?", default=False):
                    err("Apply cancelled: nothing was changed.")
                    raise typer.Exit(int(ExitCode.ERROR))
            with _progress(interactive, len(plan.changes), reporter) as progress:
                result = await apply_plan(
                    plan,
                    opened.client,
                    marker=settings.marker,
                    parallelism=parallelism,
                    reporter=progress,
                    live=live,
                    adopt=adopt,
                )
            return plan, result

    plan, result = run_async(run())
    if verbose:
        err(
            f"{opened.client.requests.total} API request(s): {dict(opened.client.requests.by_operation)}"
        )
    if result is None:
        typer.echo(
            "Nothing to apply."
            if not plan.conflicts
            else "Nothing to apply; conflicts remain (see --adopt)."
        )
        return
    for status in (Status.FAILED, Status.SKIPPED):
        listed = result.with_status(status)
        if listed:
            typer.echo(f"{status.value.capitalize()} ({len(listed)}):")
            for outcome in listed:
                typer.echo(f"    {outcome_line(outcome)}")
    typer.echo(result.summary_line())
    counted = opened.client.requests
    if counted.retries or counted.throttled:
        typer.echo(
            f"{counted.retries} request(s) were retried ({counted.throttled} answered 429 "
            f"Too Many Requests) out of {counted.total} sent."
        )
    if plan.conflicts:
        typer.echo(f"{len(plan.conflicts)} conflict(s) were left alone: see --adopt.")
    if not result.ok:
        raise typer.Exit(int(ExitCode.ERROR))
