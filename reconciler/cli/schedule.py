"""`reconciler schedule`: every reload of a window, git's tasks and (with a tenant configured) the
tenant's unmanaged tasks and legacy reload-tasks, in one time zone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from reconciler import apidoc
from reconciler.apps import AppFacts
from reconciler.cli.connect import connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, MaxConcurrentOpt, TasksOpt, TenantOpt, TzOpt
from reconciler.cli.output import utc_now
from reconciler.cli.settings import read_tree, settings_for, zone
from reconciler.errors import ReconcilerError
from reconciler.insight import DEFAULT_MAX_CONCURRENT
from reconciler.live import LiveReader
from reconciler.load import LoadedTask
from reconciler.matching import managed_ids
from reconciler.ownership import is_managed
from reconciler.reloads import Durations, durations_of, reloaders_of, starts, unscheduled
from reconciler.report import reloads_text

RUNS_PER_TASK = 20
"""Recent runs read per task with --runs."""

Docs = list[tuple[dict[str, Any], str]]


@command
def schedule_cmd(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start of the window, ISO 8601 (default: now)."),
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="Length of the window.")] = 7,
    tz: TzOpt = "UTC",
    runs: Annotated[
        bool,
        typer.Option(
            "--runs",
            help="Read each task's recent runs: their p50/p90 durations show which reloads overlap.",
        ),
    ] = False,
    max_concurrent: MaxConcurrentOpt = DEFAULT_MAX_CONCURRENT,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only the task files, even with a tenant configured.")
    ] = False,
) -> None:
    """Every reload of a window in one time zone, chained tasks after their upstream, with how
    many reloads start each hour and where they collide. With a tenant configured it spans the
    whole tenant: git's tasks, unmanaged tasks and legacy reload-tasks.

    Example: `reconciler schedule --tz Europe/Zurich --days 1 --runs`
    """
    settings = settings_for(config, tasks, env, tenant)
    desired = read_tree(settings)
    shown_in = zone(tz)
    begin = _begin(start)
    end = begin + timedelta(days=days)
    marker = settings.marker
    whole = bool(settings.tenant) and not offline
    if runs and not whole:
        raise ReconcilerError(
            "--runs reads the tenant's runs: configure a tenant (or drop --offline)"
        )
    live: list[dict[str, Any]] = []
    legacy: list[dict[str, Any]] = []
    measured: dict[str, Durations] | None = None
    apps: dict[str, AppFacts] = {}
    docs = _docs(desired.tasks, live, marker)
    reloaders = reloaders_of(docs, legacy)
    if whole:
        opened = connect(settings)

        async def read() -> None:
            nonlocal live, legacy, docs, reloaders, apps, measured
            async with opened.client:
                reader = LiveReader(opened.client)
                live = await reader.tasks()
                legacy = await reader.legacy() or []
                docs = _docs(desired.tasks, live, marker)
                reloaders = reloaders_of(docs, legacy)
                apps = await reader.apps(sorted({r.app for r in reloaders if r.app}))
                if runs:
                    ids = [str(d["id"]) for d, _ in docs if d.get("id")]
                    measured = _durations(await reader.runs(ids, RUNS_PER_TASK))

        run_async(read())
    found = starts(reloaders, begin, end, {k: d.p90 for k, d in (measured or {}).items()})
    on_event, on_demand, disabled = unscheduled(docs)
    scope = (
        f"every task of the tenant: {sum(o == 'git' for _, o in docs)} in git, "
        f"{sum(o != 'git' for _, o in docs)} other task(s), {len(legacy)} legacy reload-task(s)"
        if whole
        else "the task files only (no tenant configured)"
    )
    window = reloads_text.ReloadWindow(
        begin=begin,
        end=end,
        tz=shown_in,
        zone=tz,
        reloaders=reloaders,
        starts=found,
        scope=scope,
        durations=measured,
        apps=apps,
        max_concurrent=max_concurrent,
        on_event=on_event,
        on_demand=on_demand,
        disabled=disabled,
    )
    typer.echo(reloads_text.render(window), nl=False)


def _begin(start: str | None) -> datetime:
    if start is None:
        return utc_now()
    try:
        begin = datetime.fromisoformat(start)
    except ValueError:
        raise ReconcilerError(f"--from {start!r} is not an ISO 8601 date or date-time") from None
    return begin.replace(tzinfo=UTC) if begin.tzinfo is None else begin


def _durations(runs: Mapping[str, list[dict[str, Any]]]) -> dict[str, Durations]:
    """p50/p90 of the recent runs of every task that has some."""
    found = {task_id: durations_of(recent) for task_id, recent in runs.items()}
    return {task_id: d for task_id, d in found.items() if d is not None}


def _docs(tasks: Sequence[LoadedTask], live: list[dict[str, Any]], marker: str) -> Docs:
    """git's tasks as documents (with their live ids), then the tenant's other tasks."""
    ids = managed_ids(live, marker)
    docs: Docs = []
    for task in tasks:
        doc = apidoc.build(task, ids, marker)
        if task.name in ids:
            doc["id"] = ids[task.name]
        docs.append((doc, "git"))
    in_git = {t.name for t in tasks}
    for doc in live:
        if not is_managed(doc, marker):
            docs.append((doc, "unmanaged"))
        elif str(doc.get("name")) not in in_git:
            docs.append((doc, "not in git"))
    return docs
