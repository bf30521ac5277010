"""`reconciler doctor`: the first command to run against a real tenant."""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated

import typer

from reconciler.cli.connect import connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt, TenantOpt
from reconciler.cli.output import err, utc_now
from reconciler.cli.settings import settings_for
from reconciler.config import Settings
from reconciler.desired import read_desired
from reconciler.doctor import PROBED, Report, not_checked, suggested
from reconciler.errors import ConfigError, ExitCode, ReconcilerError
from reconciler.qlik.auth import Credentials
from reconciler.qlik.doctor_checks import read_only
from reconciler.qlik.doctor_probe import probe as write_probe
from reconciler.report import doctor_report


class DoctorFormat(StrEnum):
    text = "text"
    json = "json"


def _app_ids(settings: Settings) -> tuple[list[str] | None, str]:
    """The apps the task files reload, in file order; None (and why) when they do not load."""
    try:
        desired = read_desired(settings, now=utc_now(), allow_empty=True)
    except ReconcilerError as error:
        return None, str(error)
    ids: dict[str, None] = {}
    for task in desired.tasks:
        app_id = task.spec.app_id
        if app_id:
            ids[app_id] = None
    return list(ids), ""


@command
def doctor_cmd(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    probe: Annotated[
        str | None,
        typer.Option(
            "--probe",
            metavar="APP_ID",
            help="Also write one disabled canary task on this app, read it back, patch it and "
            "delete it, to see how the tenant stores a task.",
        ),
    ] = None,
    fmt: Annotated[
        DoctorFormat, typer.Option("--format", help="text or json.")
    ] = DoctorFormat.text,
) -> None:
    """Check what the tenant does where its API reference leaves it open, and print the
    `profile:` for reconciler.yaml that matches it. Read-only unless --probe is given; exits 1
    when a check fails.

    Example: `reconciler doctor --env prod --probe 116dbfae-7fb9-4983-8e23-5ccd8c508722`
    """
    settings = settings_for(config, tasks, env, tenant)
    if probe is not None and not probe.strip():
        raise ConfigError("--probe needs the id of an app the canary task may reload")
    app_ids, why = _app_ids(settings)
    oauth = bool(settings.tenant) and Credentials.from_env(os.environ).is_oauth
    opened = connect(settings)

    async def run() -> Report:
        async with opened.client as client:
            seen = await read_only(
                client, app_ids=app_ids, oauth=oauth, page_limit=settings.profile.pageLimit
            )
            report = Report(checks=seen.checks)
            probed = None
            if probe is not None and seen.reachable:
                probed = await write_probe(
                    client,
                    probe.strip(),
                    marker=settings.marker,
                    profile=settings.profile,
                    live=seen.live,
                )
                report.checks.extend(probed.checks)
                report.notes.extend(probed.notes)
            elif probe is not None:
                report.checks.extend(not_checked(PROBED, "the credentials were refused"))
            report.profile = suggested(
                settings.profile,
                page_limit=seen.page_limit,
                seen=probed.seen if probed is not None else None,
            )
            return report

    report = run_async(run())
    if why:
        report.notes.append(f"the task files did not load, so their apps were not checked: {why}")
    if fmt is DoctorFormat.json:
        typer.echo(doctor_report.render_json(report))
        for note in report.notes:
            err(f"note: {note}")
    else:
        typer.echo(
            doctor_report.render_text(
                report,
                tenant=opened.label,
                configured=settings.profile,
                environment=settings.environment,
                probed=probe is not None,
            ),
            nl=False,
        )
    if report.failed:
        raise typer.Exit(int(ExitCode.ERROR))
