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
        if not doc.get("events"):
            continue  # a scheduled task: no upstreams (the common case, and a quick one)
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
        is_child, is_parent = task_id in children, task_id in parents
        old = metadata.get("topology")
        # Most writes change no other task's topology: leave those as they are.
        if not (
            type(old) is dict
            and len(old) == 2
            and old.get("isChild") is is_child
            and old.get("isParent") is is_parent
        ):
            metadata["topology"] = {"isChild": is_child, "isParent": is_parent}


def refresh_after_write(tasks: Mapping[str, Doc], task_id: str, before: Doc | None) -> None:
    """Keep every `metadata.topology` exact after one task was created (`before` is None),
    updated, or deleted (no longer in `tasks`), touching only what that write can change: most
    writes change no edge, and a full `refresh_topology` costs a scan of the whole tenant."""
    after = tasks.get(task_id)
    if before is not None and after is not None:
        if upstream_ids(before) == upstream_ids(after):
            return  # the same edges; the task kept its own topology
    elif before is not None:
        was = before.get("metadata", {}).get("topology") or {}
        if not was.get("isParent"):
            # Nothing ran after the deleted task (deletes go downstream first): only the tasks it
            # ran after may have lost their last child.
            ups = (_existing(tasks, up) for up in upstream_ids(before) if was.get("isChild"))
            gone_from = {p for p in ups if p is not None}
            still = _referenced(tasks, gone_from)
            for parent_id in gone_from:
                metadata = tasks[parent_id].setdefault("metadata", {})
                is_child = bool((metadata.get("topology") or {}).get("isChild"))
                metadata["topology"] = {"isChild": is_child, "isParent": parent_id in still}
            return
    elif after is not None:
        # A new task: its id is fresh, so no task runs after it yet; it may run after others.
        parents = [_existing(tasks, up) for up in upstream_ids(after)]
        found = [p for p in parents if p is not None and p != task_id]
        after.setdefault("metadata", {})["topology"] = {"isChild": bool(found), "isParent": False}
        for parent_id in found:
            metadata = tasks[parent_id].setdefault("metadata", {})
            is_child = bool((metadata.get("topology") or {}).get("isChild"))
            metadata["topology"] = {"isChild": is_child, "isParent": True}
        return
    refresh_topology(tasks)


def _referenced(tasks: Mapping[str, Doc], wanted: set[str]) -> set[str]:
    """Which of the task ids `wanted` some task runs after (`edges`, restricted to them)."""
    folded = {w.casefold(): w for w in wanted}
    found: set[str] = set()
    if not folded:
        return found
    for doc in tasks.values():
        for event in doc.get("events") or ():
            if not isinstance(event, dict) or event.get("type") != RUN_FINISHED:
                continue
            value = correlation(event, "id")
            hit = folded.get(value.casefold()) if value else None
            if hit is not None:
                found.add(hit)
                if len(found) == len(folded):
                    return found
    return found


def _existing(tasks: Mapping[str, Doc], task_id: str) -> str | None:
    """The id of the task `task_id` names (ids compare case-insensitively), or None."""
    if task_id in tasks:
        return task_id
    wanted = task_id.casefold()
    return next((t for t in tasks if t.casefold() == wanted), None)


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
