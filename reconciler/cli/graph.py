"""The graph command: the chains of the task files as a diagram, apps named when a tenant is known."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from reconciler import apidoc, model
from reconciler.apps import AppBook, AppFacts, app_label
from reconciler.cli.connect import connect, run_async
from reconciler.cli.failures import command
from reconciler.cli.options import ConfigOpt, EnvOpt, TasksOpt, TenantOpt
from reconciler.cli.settings import read_tree, settings_for
from reconciler.desired import Desired
from reconciler.live import LiveReader
from reconciler.report import graph as graph_report
from reconciler.taskdoc import app_of


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"


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
                return await LiveReader(opened.client).apps(wanted)

        apps = run_async(read())
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
