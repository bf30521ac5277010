"""The render command: the API documents the task files become, as they would be sent."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from reconciler import apidoc
from reconciler.cli.connect import connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt, TenantOpt
from reconciler.cli.output import dump_yaml
from reconciler.cli.settings import read_tree, settings_for
from reconciler.errors import ReconcilerError
from reconciler.live import LiveReader
from reconciler.matching import managed_ids
from reconciler.profile import to_wire


class DocFormat(StrEnum):
    json = "json"
    yaml = "yaml"


@command
def render_cmd(
    name: Annotated[str | None, typer.Argument(help="Only the task with this name.")] = None,
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    fmt: Annotated[
        DocFormat, typer.Option("--format", help="json (an array) or yaml (a stream).")
    ] = DocFormat.json,
    tenant: TenantOpt = None,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not ask the configured tenant for upstream ids.")
    ] = False,
) -> None:
    """Print exactly the API documents that would be sent, in file order, in the spelling of
    the environment's `profile:`.

    Offline, an upstream task's id is written `(known after apply: NAME)`; with a tenant
    configured, the ids of the managed tasks it has are filled in.

    Example: `reconciler render "Sales ETL" --format yaml`
    """
    settings = settings_for(config, tasks, env, tenant)
    desired = read_tree(settings)
    chosen = desired.tasks
    if name is not None:
        chosen = [t for t in desired.tasks if t.name == name]
        if not chosen:
            raise ReconcilerError(f"no task named {name!r} in {settings.tasks_dir}")
    ids: dict[str, str] = {}
    if settings.tenant and not offline:
        opened = connect(settings)

        async def listing() -> list[dict[str, Any]]:
            async with opened.client:
                return await LiveReader(opened.client).tasks()

        ids = managed_ids(run_async(listing()), settings.marker)
    docs = [
        to_wire(apidoc.build(t, ids, settings.marker), settings.marker, settings.profile)
        for t in chosen
    ]
    if fmt is DocFormat.yaml:
        typer.echo(dump_yaml(docs), nl=False)
    else:
        typer.echo(json.dumps(docs, indent=2, ensure_ascii=False))
