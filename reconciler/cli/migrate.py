"""The migrate command: task files for the tenant's legacy reload-tasks (or a dump of them)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import migrate, taskfile
from reconciler.bounded import DATA_FILE_BYTES, TooLarge, read_bounded
from reconciler.cli.connect import Tenant, connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt, TenantOpt, VerboseOpt
from reconciler.cli.output import err, utc_now
from reconciler.cli.settings import settings_for
from reconciler.cli.writing import (
    ForceOpt,
    OutOpt,
    outside_note,
    read_declared,
    schema_path,
    write_all,
)
from reconciler.errors import ReconcilerError
from reconciler.live import LiveReader
from reconciler.load import display_path
from reconciler.ownership import migrated_from


def _read_dump(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(read_bounded(path, DATA_FILE_BYTES).decode("utf-8"))
    except OSError as exc:
        raise ReconcilerError(f"cannot read {path}: {exc.strerror}") from None
    except TooLarge as exc:
        raise ReconcilerError(f"cannot read {path}: {exc}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError, too long
        raise ReconcilerError(f"{path} is not JSON: {exc}") from None
    try:
        return migrate.read_dump(data)
    except ValueError as exc:
        raise ReconcilerError(f"{path}: {exc}") from None


@dataclass(slots=True)
class _Legacy:
    """What migrate learned from the tenant (or the dump)."""

    tasks: list[dict[str, Any]] | None
    app_names: dict[str, str] = field(default_factory=dict)
    migrated_to: dict[str, str] = field(default_factory=dict)
    live_names: set[str] = field(default_factory=set)


async def _read_tenant(opened: Tenant, dumped: list[dict[str, Any]] | None) -> _Legacy:
    async with opened.client:
        reader = LiveReader(opened.client)
        legacy = dumped
        if legacy is None:
            legacy = await reader.legacy()
            if legacy is None:
                return _Legacy(None)
        live = await reader.tasks()
        apps = await reader.apps(sorted({str(t["appId"]) for t in legacy if t.get("appId")}))
    names = {a: n for a, facts in apps.items() if (n := facts.name.strip())}
    migrated_to = {origin: str(t.get("name")) for t in live if (origin := migrated_from(t))}
    return _Legacy(legacy, names, migrated_to, {str(t.get("name")) for t in live})


@command
def migrate_cmd(
    out: OutOpt,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="Read a JSON dump of GET /api/v1/reload-tasks instead of the tenant (offline).",
        ),
    ] = None,
    force: ForceOpt = False,
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Write task files for the tenant's legacy reload-tasks, one file per legacy task.

    Each file is named after the app and holds one task per recurrence rule (the first has
    `migrateFrom`, so that plan shows `>` migrate and apply migrates it), plus an `onDataUpdate`
    task when the legacy task reloaded on new data. Legacy tasks already migrated are skipped.
    With `--from-file` no tenant is needed; a configured one is still asked for the apps' names
    and for the tasks already migrated.

    Examples: `reconciler migrate --out tasks/migrated` ·
    `reconciler migrate --out tasks/migrated --from-file reload-tasks.json`
    """
    settings = settings_for(config, tasks, env, tenant)
    dumped = _read_dump(from_file) if from_file is not None else None
    if dumped is not None and not settings.tenant:
        found = _Legacy(dumped)
    else:
        opened = connect(settings)
        found = run_async(_read_tenant(opened, dumped))
        if verbose:
            err(f"{opened.client.requests.total} API request(s)")
    if found.tasks is None:
        typer.echo(
            "Nothing to migrate: this tenant has no legacy reload-tasks "
            "(GET /api/v1/reload-tasks answers 404)."
        )
        return
    tree = read_declared(settings, out)
    result = migrate.migrate(
        found.tasks,
        app_names=found.app_names,
        migrated_to=found.migrated_to,
        declared=tree.migrate_from,
        taken_names=found.live_names | set(tree.names),
        now=utc_now(),
    )
    schema = schema_path(out, settings)
    files = [
        (out / f"{f.stem}.yaml", taskfile.dump(f.documents, schema=schema)) for f in result.files
    ]
    unchanged = write_all(out, files, force=force, command="migrate")
    cwd = Path.cwd()
    for (path, _), made in zip(files, result.files, strict=True):
        names = ", ".join(repr(n) for n in made.task_names)
        verb = "unchanged" if path in unchanged else "wrote"
        typer.echo(f"{verb} {display_path(path, cwd)}: {names} (from {made.legacy_id})")
        for note in made.notes:
            typer.echo(f"  note: {note}")
    for skipped in result.skipped:
        typer.echo(f"skipped legacy reload-task {skipped.legacy_id}: {skipped.reason}")
    if not result.files:
        typer.echo(
            "Nothing to migrate: "
            + (
                "every legacy reload-task is skipped."
                if result.skipped
                else "no legacy reload-tasks."
            )
        )
        return
    count = sum(len(f.documents) for f in result.files)
    typer.echo(
        f"Migrated {len(result.files)} legacy reload-task(s) into {count} task(s) in "
        f"{len(files)} file(s); skipped {len(result.skipped)}. Next: review the files, "
        "`reconciler validate`, then `reconciler plan` (it shows `>` migrate)."
    )
    outside_note(out, settings)
