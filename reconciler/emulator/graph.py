"""The chain graph: which task triggers which, from `com.qlik.v1.task.run.finished` correlations.

A task D whose run-finished event correlates `id` with task U makes U a parent of D. Edges are
served as `{"source": parent, "target": child, "attrs": {"depth": n}}`; vertices carry their
distance from the requested task and the task's own `isChild` / `isParent` topology.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.emulator.rules import RUN_FINISHED
from reconciler.emulator.store import Doc

Edge = tuple[str, str]


def correlation(event: Mapping[str, Any], name: str) -> str | None:
    """The value an event correlates attribute `name` on (names compared case-insensitively)."""
    for item in event.get("correlation") or []:
        if isinstance(item, dict) and str(item.get("contextAttributeName", "")).casefold() == (
            name.casefold()
        ):
            value = item.get("contextAttributeValue")
            return None if value is None else str(value)
    return None


def run_finished_events(doc: Mapping[str, Any]) -> list[Doc]:
    return [
        event
        for event in doc.get("events") or []
        if isinstance(event, dict) and event.get("type") == RUN_FINISHED
    ]


def upstream_ids(doc: Mapping[str, Any]) -> list[str]:
    """Ids of the tasks whose finished runs this task listens to, in declaration order."""
    found: list[str] = []
    for event in run_finished_events(doc):
        value = correlation(event, "id")
        if value and value not in found:
            found.append(value)
    return found


def edges(tasks: Mapping[str, Doc]) -> set[Edge]:
    """(parent, child) pairs between existing tasks."""
    lowered = {task_id.casefold(): task_id for task_id in tasks}
    result: set[Edge] = set()
    for child_id, doc in tasks.items():
        for parent in upstream_ids(doc):
            parent_id = lowered.get(parent.casefold())
            if parent_id is not None:
                result.add((parent_id, child_id))
    return result


def refresh_topology(tasks: Mapping[str, Doc]) -> None:
    """Set every task's `metadata.topology` from the current edges."""
    all_edges = edges(tasks)
    parents = {parent for parent, _ in all_edges}
    children = {child for _, child in all_edges}
    for task_id, doc in tasks.items():
        metadata = doc.setdefault("metadata", {})
        metadata["topology"] = {"isChild": task_id in children, "isParent": task_id in parents}


def parents_of(tasks: Mapping[str, Doc], task_id: str) -> list[Doc]:
    ids = {parent for parent, child in edges(tasks) if child == task_id}
    return [tasks[i] for i in ids]


def children_of(tasks: Mapping[str, Doc], task_id: str) -> list[Doc]:
    ids = {child for parent, child in edges(tasks) if parent == task_id}
    return [tasks[i] for i in ids]


def graph(
    tasks: Mapping[str, Doc],
    root: str,
    *,
    up: bool,
    down: bool,
    level: int | None,
    with_task: bool,
) -> Doc:
    """Breadth-first subgraph around `root`: ancestors (`up`), descendants (`down`) or both."""
    all_edges = edges(tasks)
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for parent, child in sorted(all_edges):
        parents.setdefault(child, []).append(parent)
        children.setdefault(parent, []).append(child)
    depth = {root: 0}
    served: dict[Edge, int] = {}
    queue = deque([root])
    while queue:
        vertex = queue.popleft()
        if level is not None and depth[vertex] >= level:
            continue
        steps: list[tuple[str, Edge]] = []
        if up:
            steps += [(p, (p, vertex)) for p in parents.get(vertex, [])]
        if down:
            steps += [(c, (vertex, c)) for c in children.get(vertex, [])]
        for neighbour, edge in steps:
            served.setdefault(edge, depth[vertex] + 1)
            if neighbour not in depth:
                depth[neighbour] = depth[vertex] + 1
                queue.append(neighbour)
    return {
        "edges": [
            {"attrs": {"depth": d}, "source": source, "target": target}
            for (source, target), d in served.items()
        ],
        "taskId": root,
        "vertices": list(_vertices(tasks, depth.items(), with_task)),
    }


def _vertices(
    tasks: Mapping[str, Doc], depths: Iterable[tuple[str, int]], with_task: bool
) -> Iterable[Doc]:
    for task_id, distance in depths:
        doc = tasks[task_id]
        topology = doc.get("metadata", {}).get("topology", {})
        vertex: Doc = {
            "attrs": {
                "depth": distance,
                "isChild": bool(topology.get("isChild")),
                "isParent": bool(topology.get("isParent")),
            },
            "taskId": task_id,
        }
        if with_task:
            vertex["task"] = doc
        yield vertex
