"""The import command: task files for the tenant's unmanaged tasks, to commit and then adopt."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import importer, taskfile
from reconciler.cli.connect import Tenant, connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt, TenantOpt, VerboseOpt
from reconciler.cli.output import err
from reconciler.cli.settings import settings_for
from reconciler.cli.writing import (
    ForceOpt,
    OutOpt,
    outside_note,
    read_declared,
    schema_path,
    write_all,
)
from reconciler.live import LiveReader
from reconciler.load import display_path


async def _live_tasks(opened: Tenant) -> list[dict[str, Any]]:
    async with opened.client:
        return await LiveReader(opened.client).tasks()


@command
def import_cmd(
    out: OutOpt,
    all_tasks: Annotated[
        bool,
        typer.Option("--all", help="Also write managed tasks that no task file declares."),
    ] = False,
    force: ForceOpt = False,
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write task files for the tenant's unmanaged tasks, to commit and then adopt.

    A task is written in the short form when that renders back to it exactly, in the full form
    otherwise. Upstream tasks that git knows are referenced by name. Tasks that task files already
    declare are left out. Afterwards `reconciler apply --adopt` takes the tasks over.

    Example: `reconciler import --out tasks/imported && reconciler plan --adopt`
    """
    settings = settings_for(config, tasks, env, tenant)
    opened = connect(settings)
    live = run_async(_live_tasks(opened))
    if verbose:
        err(f"{opened.client.requests.total} API request(s)")
    tree = read_declared(settings, out)
    result = importer.import_tasks(
        live, marker=settings.marker, include_managed=all_tasks, declared=tree.tasks
    )
    schema = schema_path(out, settings)
    files = [
        (out / f"{i.stem}.yaml", taskfile.dump([i.document], schema=schema))
        for i in result.imported
    ]
    unchanged = write_all(out, files, force=force, command="import")
    cwd = Path.cwd()
    for (path, _), made in zip(files, result.imported, strict=True):
        verb = "unchanged" if path in unchanged else "wrote"
        typer.echo(f"{verb} {display_path(path, cwd)}: {made.name!r} ({made.form} form)")
        for note in made.notes:
            typer.echo(f"  note: {note}")
    for skipped in result.skipped:
        typer.echo(f"skipped task {skipped.task_id} {skipped.name!r}: {skipped.reason}")
    if not result.imported:
        typer.echo("Nothing to import: no unmanaged task is left outside git.")
        return
    typer.echo(
        f"Imported {len(result.imported)} task(s): {len(result.of('short'))} in the short form, "
        f"{len(result.of('full'))} in the full form. Next: review and commit the files, then "
        "`reconciler apply --adopt` takes them over."
    )
    outside_note(out, settings)
