"""The chain graph: which task runs after which, its order and its cycles.

Nodes are task names; an edge goes from an upstream to the task that runs after it. Both desired
trees (by name) and live tenants (by id, from run-finished correlations) are described this way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from reconciler import model
from reconciler.load import LoadedTask


@dataclass(slots=True)
class ChainGraph:
    """`upstreams[n]` are the tasks `n` runs after; `nodes` keeps the order nodes were added."""

    nodes: list[str] = field(default_factory=list)
    upstreams: dict[str, list[str]] = field(default_factory=dict)
    labels: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, node: str, upstreams: Iterable[str] = ()) -> None:
        if node not in self.upstreams:
            self.nodes.append(node)
            self.upstreams[node] = []
        for up in upstreams:
            if up not in self.upstreams[node]:
                self.upstreams[node].append(up)

    def downstreams(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {n: [] for n in self.nodes}
        for node, ups in self.upstreams.items():
            for up in ups:
                out.setdefault(up, []).append(node)
        return out

    def order(self, only: Iterable[str] | None = None) -> list[str]:
        """Upstreams before downstreams (file order among equals); cycles are broken at the end."""
        keep = set(self.nodes if only is None else only)
        sorter: TopologicalSorter[str] = TopologicalSorter()
        rank = {n: i for i, n in enumerate(self.nodes)}
        for node in self.nodes:
            if node in keep:
                sorter.add(node, *(u for u in self.upstreams[node] if u in keep))
        try:
            sorter.prepare()
        except CycleError:
            return sorted(keep, key=lambda n: rank.get(n, len(rank)))
        out: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=lambda n: rank.get(n, len(rank)))
            out.extend(ready)
            sorter.done(*ready)
        return out

    def cycles(self) -> list[list[str]]:
        """Every strongly connected component with a cycle (Tarjan), members in file order."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []
        counter = 0

        def visit(root: str) -> None:
            nonlocal counter
            work = [(root, iter(self.upstreams.get(root, [])))]
            index[root] = low[root] = counter
            counter += 1
            stack.append(root)
            on_stack.add(root)
            while work:
                node, children = work[-1]
                advanced = False
                for child in children:
                    if child not in self.upstreams:
                        continue
                    if child not in index:
                        index[child] = low[child] = counter
                        counter += 1
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(self.upstreams.get(child, []))))
                        advanced = True
                        break
                    if child in on_stack:
                        low[node] = min(low[node], index[child])
                if advanced:
                    continue
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1 or node in self.upstreams.get(node, []):
                        rank = {n: i for i, n in enumerate(self.nodes)}
                        found.append(sorted(members, key=lambda n: rank[n]))

        for node in self.nodes:
            if node not in index:
                visit(node)
        return found

    def closure_upstream(self, names: Iterable[str]) -> set[str]:
        """`names` and everything they run after, transitively."""
        seen: set[str] = set()
        todo = [n for n in names if n in self.upstreams]
        while todo:
            node = todo.pop()
            if node in seen:
                continue
            seen.add(node)
            todo.extend(u for u in self.upstreams.get(node, []) if u in self.upstreams)
        return seen


def run_finished_upstreams(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(upstream task id, status) pairs a task document runs after; status "any" when absent."""
    out: list[tuple[str, str]] = []
    for event in doc.get("events") or []:
        if not isinstance(event, dict) or event.get("type") != model.RUN_FINISHED:
            continue
        upstream_id, status = None, "any"
        for corr in event.get("correlation") or []:
            if corr.get("contextAttributeName") == "id":
                upstream_id = corr.get("contextAttributeValue")
            elif corr.get("contextAttributeName") == "status":
                status = str(corr.get("contextAttributeValue") or "any").lower()
        if isinstance(upstream_id, str):
            out.append((upstream_id, status))
    return out


def desired_graph(tasks: Sequence[LoadedTask]) -> ChainGraph:
    """The chain graph of a task tree, by name: each task after the tasks of the tree it names."""
    graph = ChainGraph()
    for task in tasks:
        graph.add(task.name, [name for _, name in task.spec.upstream_refs])
    return graph


def live_graph(docs: Iterable[Mapping[str, Any]]) -> ChainGraph:
    """The chain graph of live tasks, by task id."""
    docs = list(docs)
    graph = ChainGraph()
    for doc in docs:
        graph.add(str(doc.get("id")), [])
    for doc in docs:
        ups = run_finished_upstreams(doc)
        graph.add(str(doc.get("id")), [u for u, _ in ups])
        for up, status in ups:
            graph.labels[(up, str(doc.get("id")))] = status
    return graph
