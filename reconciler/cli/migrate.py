"""Commands that bring an existing tenant into git: migrate (legacy reload-tasks) and import."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from reconciler import importer, migrate, taskfile
from reconciler.bounded import DATA_FILE_BYTES, TooLarge, read_bounded
from reconciler.cli.base import (
    ConfigOpt,
    EnvOpt,
    TasksOpt,
    TenantOpt,
    VerboseOpt,
    app,
    command,
    connect,
    err,
    settings_for,
    utc_now,
)
from reconciler.cli.connect import Tenant
from reconciler.config import Settings
from reconciler.errors import ReconcilerError
from reconciler.load import display_path, load_tree
from reconciler.qlik.client import TenantClient
from reconciler.writer import write_into
from reconciler.yamlsource import MAX_BYTES

OutOpt = Annotated[
    Path, typer.Option("--out", help="Directory to write the task files to (created if needed).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite task files that already exist in --out.")
]


# -- what git already has ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Tree:
    """Tasks the task files already declare, outside the files this run writes."""

    names: dict[str, str] = field(default_factory=dict)  # task name -> file
    migrate_from: dict[str, str] = field(default_factory=dict)  # legacy id -> file


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _read_tree(settings: Settings, out: Path) -> _Tree:
    """The task files of the tasks directory, except those under `out` (this run rewrites those).

    Files with problems still contribute what could be read: validate reports the problems.
    """
    tree = _Tree()
    if not settings.tasks_dir.is_dir():
        return tree
    cwd = Path.cwd()
    loaded = load_tree(settings.tasks_dir, settings.vars, root=cwd)
    for task in loaded.tasks:
        if _inside(cwd / task.path, out):
            continue
        tree.names.setdefault(task.name, task.path)
        if task.spec.migrateFrom:
            tree.migrate_from.setdefault(task.spec.migrateFrom, task.path)
    return tree


# -- writing ---------------------------------------------------------------------------------------


def _schema(out: Path, settings: Settings) -> str | None:
    """The header's schema path, when the repository has the schema file."""
    root = settings.root.resolve()
    if not (root / taskfile.SCHEMA_FILE).is_file():
        return None
    return taskfile.schema_reference(out.resolve(), root)


def _write(out: Path, files: Sequence[tuple[Path, str]], *, force: bool, command: str) -> set[Path]:
    """Write every file, or none; return the files left as they were (unchanged).

    A file that already holds exactly this text is not rewritten; one this command wrote and
    nobody edited since is replaced; any other existing file stops the run before any write,
    unless `force`."""
    cwd = Path.cwd()
    stamped = [(path, taskfile.stamp(text, command)) for path, text in files]
    unchanged: set[Path] = set()
    refused: list[str] = []
    for path, text in stamped:
        if not path.exists() and not path.is_symlink():
            continue
        current = _existing(path)
        if current == text:
            unchanged.add(path)
        elif not force and (current is None or not taskfile.unedited(current)):
            refused.append(display_path(path, cwd))
    if refused:
        raise ReconcilerError(
            f"refusing to overwrite {len(refused)} existing file(s): {', '.join(refused)}; "
            "nothing was written. Pass --force to overwrite them, or choose another --out"
        )
    write_into(out, [(path.name, text) for path, text in stamped if path not in unchanged])
    return unchanged


def _existing(path: Path) -> str | None:
    """The text of an existing regular file (bounded), or None for anything else."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return read_bounded(path, MAX_BYTES).decode("utf-8")
    except (OSError, TooLarge, UnicodeDecodeError):
        return None


def _outside_note(out: Path, settings: Settings) -> None:
    if not _inside(out, settings.tasks_dir):
        cwd = Path.cwd()
        err(
            f"note: {display_path(out, cwd)} is outside the tasks directory "
            f"({display_path(settings.tasks_dir, cwd)}): plan and apply read only that directory"
        )


# -- migrate ---------------------------------------------------------------------------------------


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


def _app_name(app: Mapping[str, Any] | None) -> str | None:
    if not app:
        return None
    attributes = app.get("attributes")
    name = (attributes if isinstance(attributes, dict) else app).get("name")
    return name.strip() if isinstance(name, str) and name.strip() else None


async def _app_names(client: TenantClient, app_ids: set[str]) -> dict[str, str]:
    ordered = sorted(app_ids)
    apps = await asyncio.gather(*(client.get_app(app_id) for app_id in ordered))
    return {a: n for a, app in zip(ordered, apps, strict=True) if (n := _app_name(app))}


@dataclass(slots=True)
class _Legacy:
    """What migrate learned from the tenant (or the dump)."""

    tasks: list[dict[str, Any]] | None
    app_names: dict[str, str] = field(default_factory=dict)
    migrated_to: dict[str, str] = field(default_factory=dict)
    live_names: set[str] = field(default_factory=set)


async def _read_tenant(opened: Tenant, dumped: list[dict[str, Any]] | None) -> _Legacy:
    async with opened.client:
        legacy = dumped
        if legacy is None:
            legacy = await opened.client.list_legacy_reload_tasks()
            if legacy is None:
                return _Legacy(None)
        live = await opened.client.list_tasks()
        names = await _app_names(opened.client, {str(t["appId"]) for t in legacy if t.get("appId")})
    migrated_to = {
        str(origin): str(t.get("name"))
        for t in live
        if (origin := (t.get("metadata") or {}).get("migratedFrom"))
    }
    return _Legacy(legacy, names, migrated_to, {str(t.get("name")) for t in live})


@app.command("migrate")
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
        found = asyncio.run(_read_tenant(opened, dumped))
        if verbose:
            err(f"{opened.client.requests.total} API request(s)")
    if found.tasks is None:
        typer.echo(
            "Nothing to migrate: this tenant has no legacy reload-tasks "
            "(GET /api/v1/reload-tasks answers 404)."
        )
        return
    tree = _read_tree(settings, out)
    result = migrate.migrate(
        found.tasks,
        app_names=found.app_names,
        migrated_to=found.migrated_to,
        declared=tree.migrate_from,
        taken_names=found.live_names | set(tree.names),
        now=utc_now(),
    )
    schema = _schema(out, settings)
    files = [
        (out / f"{f.stem}.yaml", taskfile.dump(f.documents, schema=schema)) for f in result.files
    ]
    unchanged = _write(out, files, force=force, command="migrate")
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
    _outside_note(out, settings)


# -- import ----------------------------------------------------------------------------------------


async def _live_tasks(opened: Tenant) -> list[dict[str, Any]]:
    async with opened.client:
        return await opened.client.list_tasks()


@app.command("import")
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
    live = asyncio.run(_live_tasks(opened))
    if verbose:
        err(f"{opened.client.requests.total} API request(s)")
    tree = _read_tree(settings, out)
    result = importer.import_tasks(
        live, marker=settings.marker, include_managed=all_tasks, declared=tree.names
    )
    schema = _schema(out, settings)
    files = [
        (out / f"{i.stem}.yaml", taskfile.dump([i.document], schema=schema))
        for i in result.imported
    ]
    unchanged = _write(out, files, force=force, command="import")
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
    _outside_note(out, settings)
