"""The drift command: how the tenant differs from git, read-only, in four formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from reconciler.apps import app_ids_in, with_app_names
from reconciler.cli.connect import Tenant, connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import (
    AllowEmptyOpt,
    ConfigOpt,
    DetailedExitcodeOpt,
    EnvOpt,
    ReadsOpt,
    TasksOpt,
    TenantOpt,
    VerboseOpt,
)
from reconciler.cli.output import echo_coloured, err, git_commit, utc_now
from reconciler.cli.settings import read_tree, settings_for
from reconciler.config import DefaultOwner
from reconciler.desired import Desired
from reconciler.drift import DriftReport, build_report
from reconciler.errors import ExitCode
from reconciler.ignore import IgnoreRule
from reconciler.live import LiveReader
from reconciler.ownership import is_managed
from reconciler.report import drift_json, drift_junit, drift_markdown, drift_text
from reconciler.report.drift_text import app_changes
from reconciler.writer import check_target, write_file


class DriftFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"
    junit = "junit"


async def compute_drift(
    desired: Desired,
    tenant: Tenant,
    *,
    marker: str,
    runs: bool,
    strict: bool,
    ignore_rules: tuple[IgnoreRule, ...] = (),
    default_owner: DefaultOwner | None = None,
) -> DriftReport:
    """Read the tenant (GET only) and compare it with `desired`."""
    reader = LiveReader(tenant.client)
    live = await reader.tasks()
    await reader.legacy()
    if runs:  # `GET .../runs/last` for every managed task
        await reader.last_runs(
            [str(doc["id"]) for doc in live if is_managed(doc, marker) and doc.get("id")]
        )
    # Owners and who changed a task, by name; drift reads only, so nobody is acted as here.
    owners, unowned = await reader.owners(desired.tasks, default_owner, check_acting=False)
    report = build_report(
        desired.tasks,
        reader.live,
        marker=marker,
        strict=strict,
        ignore_rules=ignore_rules,
        owners=owners,
    )
    # Apps by name beside their ids: one read per app the report names.
    findings = [f for t in report.tasks for f in t.findings]
    named = sorted({a for f in findings for a in app_ids_in(f.message)} | app_changes(report))
    if named:
        apps = await reader.apps(named)
        for finding in findings:
            finding.message = with_app_names(finding.message, apps)
        report.apps = apps
    report.warnings.extend(str(w) for w in desired.warnings)
    report.warnings.extend(str(p) for p in unowned)
    return report


DRIFT_COLOURS = {"~": "yellow", "+": "green", "-": "red", "!": "magenta", "o": "red", "x": "red"}


@command
def drift_cmd(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    fmt: Annotated[
        DriftFormat, typer.Option("--format", help="text, json, markdown or junit.")
    ] = DriftFormat.text,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also save the report as JSON to this file.")
    ] = None,
    runs: Annotated[
        bool,
        typer.Option("--runs", help="Ask each managed task for its last run (one GET per task)."),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Unmanaged tasks and legacy reload-tasks count as drift."),
    ] = False,
    detailed_exitcode: DetailedExitcodeOpt = False,
    allow_empty: AllowEmptyOpt = False,
    reads_per_minute: ReadsOpt = 1000,
    verbose: VerboseOpt = False,
) -> None:
    """Report how the tenant differs from git, without changing anything.

    Per task: modified, missing, managed but no longer in git, conflicts, disabled by the
    service, failing (last run FAILED), and, listed apart, unmanaged tasks and legacy
    reload-tasks not migrated.

    Example: `reconciler drift --env prod --format markdown --out drift.json --detailed-exitcode`
    """
    settings = settings_for(config, tasks, env, tenant)
    if out is not None:
        check_target(out)
    desired = read_tree(settings, allow_empty=allow_empty)
    opened = connect(settings, reads=reads_per_minute)

    async def run() -> DriftReport:
        async with opened.client:
            return await compute_drift(
                desired,
                opened,
                marker=settings.marker,
                runs=runs,
                strict=strict,
                ignore_rules=settings.ignore,
                default_owner=settings.default_owner,
            )

    report = run_async(run())
    now = utc_now()
    requests = dict(opened.client.requests.by_operation)
    commit = git_commit()

    def as_json() -> str:
        return drift_json.render(
            report, tenant=opened.url, generated_at=now, git_commit=commit, requests=requests
        )

    if out is not None:
        write_file(out, as_json())
        err(f"saved the drift report to {out}")
    if fmt is DriftFormat.json:
        typer.echo(as_json(), nl=False)
    elif fmt is DriftFormat.markdown:
        hint = f"the {out.name} artifact" if out is not None else "`reconciler drift --format json`"
        text = drift_markdown.render(report, now=now, tenant=opened.label, artifact_hint=hint)
        typer.echo(text, nl=False)
    elif fmt is DriftFormat.junit:
        typer.echo(drift_junit.render(report, now=now, tenant=opened.label), nl=False)
    else:
        total = opened.client.requests.total
        echo_coloured(drift_text.render(report, tenant=opened.label, requests=total), DRIFT_COLOURS)
    if verbose:
        err(f"{opened.client.requests.total} API request(s): {requests}")
    if detailed_exitcode and report.drifted:
        raise typer.Exit(int(ExitCode.CHANGES))
