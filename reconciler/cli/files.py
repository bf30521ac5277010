"""Commands on the task files: validate, render, graph (apps by name from a tenant), schema."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer

from reconciler import apidoc, model
from reconciler.apps import AppBook, AppFacts, app_label
from reconciler.cli.base import (
    ConfigOpt,
    DocFormat,
    EnvOpt,
    GraphFormat,
    TasksOpt,
    TenantOpt,
    ValidateFormat,
    app,
    command,
    connect,
    dump_yaml,
    err,
    read_tree,
    settings_for,
    utc_now,
)
from reconciler.desired import Desired, read_desired
from reconciler.errors import ConfigError, ExitCode, ProblemsFound, ReconcilerError
from reconciler.plan import live_ids
from reconciler.profile import to_wire
from reconciler.qlik.apps import AppReader
from reconciler.report import graph as graph_report
from reconciler.report import workflow_commands
from reconciler.taskdoc import app_of


@app.command()
@command
def validate(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    fmt: Annotated[
        ValidateFormat, typer.Option("--format", help="text, github (annotations) or json.")
    ] = ValidateFormat.text,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="An empty tasks directory is not an error.")
    ] = False,
) -> None:
    """Check every task file offline and report all problems at once.

    Example: `reconciler validate --env prod --format github`
    """
    settings = settings_for(config, tasks, env, None)
    try:
        desired = read_desired(settings, now=utc_now(), allow_empty=allow_empty)
        problems = desired.warnings
        failed = False
    except ProblemsFound as exc:
        problems, failed = exc.problems, True
    except ConfigError as exc:
        # Not a problem inside a file (a missing or empty directory): still one machine-readable
        # answer for the formats that promise one.
        if fmt is ValidateFormat.json:
            typer.echo(json.dumps({"valid": False, "error": str(exc), "problems": []}, indent=2))
        elif fmt is ValidateFormat.github:
            typer.echo(workflow_commands.command("error", str(exc)))
        raise
    if fmt is ValidateFormat.github:
        for p in problems:
            level = "warning" if p.severity == "warning" else "error"
            typer.echo(
                workflow_commands.command(level, p.message, file=p.path, line=p.line, col=p.column)
            )
    elif fmt is ValidateFormat.json:
        typer.echo(
            json.dumps(
                {
                    "valid": not failed,
                    "problems": [
                        {
                            "path": p.path,
                            "line": p.line,
                            "column": p.column,
                            "severity": p.severity,
                            "message": p.message,
                        }
                        for p in problems
                    ],
                },
                indent=2,
            )
        )
    else:
        for p in problems:
            typer.echo(str(p))
    if failed:
        errors = sum(1 for p in problems if p.severity == "error")
        err(f"error: {errors} problem(s) in the task files")
        raise typer.Exit(int(ExitCode.ERROR))
    if fmt is ValidateFormat.text:
        typer.echo(f"{len(desired.tasks)} task(s) in {desired.files} file(s) are valid.")


@app.command("render")
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
                return await opened.client.list_tasks()

        ids = live_ids(asyncio.run(listing()), settings.marker)
    docs = [
        to_wire(apidoc.build(t, ids, settings.marker), settings.marker, settings.profile)
        for t in chosen
    ]
    if fmt is DocFormat.yaml:
        typer.echo(dump_yaml(docs), nl=False)
    else:
        typer.echo(json.dumps(docs, indent=2, ensure_ascii=False))


@app.command("graph")
@command
def graph_cmd(
    tasks: TasksOpt = None,
    config: ConfigOpt = None,
    env: EnvOpt = None,
    tenant: TenantOpt = None,
    fmt: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid or dot.")
    ] = GraphFormat.mermaid,
    offline: Annotated[
        bool,
        typer.Option("--offline", help="App ids only, even with a tenant configured."),
    ] = False,
) -> None:
    """Draw the chains of the task files: which task runs after which, each task with its
    trigger and app. With a tenant configured, apps are named beside their ids (one read per
    app); offline, the ids alone.

    Example: `reconciler graph --format dot | dot -Tsvg > chains.svg`
    """
    settings = settings_for(config, tasks, env, tenant)
    desired = read_tree(settings)
    docs = {t.name: apidoc.build(t, {}, model.MARKER) for t in desired.tasks}
    apps: dict[str, AppFacts] = {}
    if settings.tenant and not offline:
        opened = connect(settings)
        wanted = sorted({a for a in map(app_of, docs.values()) if a})

        async def read() -> dict[str, AppFacts]:
            async with opened.client:
                return await AppReader(opened.client).read(wanted)

        apps = asyncio.run(read())
    typer.echo(_render_graph(desired, docs, apps, fmt), nl=False)


def _render_graph(
    desired: Desired, docs: dict[str, dict[str, Any]], apps: AppBook, fmt: GraphFormat
) -> str:
    diagram = graph_report.Diagram()
    for task in desired.tasks:
        diagram.nodes.append((task.name, _node_label(task.name, docs[task.name], apps), ""))
    for task in desired.tasks:
        for name, status in task.spec.upstream_edges:
            diagram.edges.append((name, task.name, status))
    return (
        graph_report.mermaid(diagram) if fmt is GraphFormat.mermaid else graph_report.dot(diagram)
    )


def _node_label(name: str, doc: dict[str, Any], apps: AppBook) -> str:
    """The task's name, its trigger, and its app (by name beside the id when `apps` knows it)."""
    from reconciler import schedule
    from reconciler.triggers import trigger_of

    lines = [name]
    trigger = trigger_of(doc)
    if trigger.schedule is not None:
        lines.append(schedule.describe(trigger.schedule))
    elif trigger.data_update:
        lines.append("on data update")
    app_id = app_of(doc)
    if app_id:
        lines.append(f"app {app_label(app_id, apps)}")
    return "\n".join(lines)


@app.command("schema")
@command
def schema_cmd() -> None:
    """Print the JSON Schema of task files (schemas/task.schema.json is this output).

    Example: `reconciler schema > schemas/task.schema.json`
    """
    typer.echo(json.dumps(model.json_schema(), indent=2, ensure_ascii=False))
