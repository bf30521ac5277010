"""Chain graphs as mermaid (for pull requests and docs) or DOT (for Graphviz)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(slots=True)
class Diagram:
    """Nodes (id, label, style) and edges (from, to, label) of a chain graph."""

    nodes: list[tuple[str, str, str]] = field(default_factory=list)
    edges: list[tuple[str, str, str]] = field(default_factory=list)


_LINE_BREAKS = re.compile("\r\n|[\r\n\u2028\u2029]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _mermaid_text(text: str) -> str:
    """A label on one line of the diagram: quotes and angle brackets as entities, every line
    break (CR too, which markdown reads as one) as `<br/>`, other control characters dropped."""
    escaped = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return _CONTROL.sub("", _LINE_BREAKS.sub("<br/>", escaped))


def mermaid(diagram: Diagram, direction: str = "LR") -> str:
    ids = {node: f"t{i}" for i, (node, _, _) in enumerate(diagram.nodes)}
    lines = [f"flowchart {direction}"]
    styles: dict[str, list[str]] = {}
    for node, label, style in diagram.nodes:
        lines.append(f'  {ids[node]}["{_mermaid_text(label)}"]')
        if style:
            styles.setdefault(style, []).append(ids[node])
    for up, down, label in diagram.edges:
        if up not in ids or down not in ids:
            continue
        arrow = "-.->" if label == "failed" else "-->"
        text = f"|{_mermaid_text(label)}|" if label else ""
        lines.append(f"  {ids[up]} {arrow}{text} {ids[down]}")
    for style, members in styles.items():
        lines.append(f"  class {','.join(members)} {style}")
    if styles:
        lines.extend(
            [
                "  classDef create fill:#e6ffed,stroke:#2da44e",
                "  classDef update fill:#fff8c5,stroke:#bf8700",
                "  classDef delete fill:#ffebe9,stroke:#cf222e",
                "  classDef migrate fill:#ddf4ff,stroke:#0969da",
            ]
        )
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def dot(diagram: Diagram) -> str:
    lines = ["digraph chains {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for node, label, _ in diagram.nodes:
        lines.append(f'  "{_dot_text(node)}" [label="{_dot_text(label)}"];')
    for up, down, label in diagram.edges:
        style = ", style=dashed" if label == "failed" else ""
        lines.append(
            f'  "{_dot_text(up)}" -> "{_dot_text(down)}" [label="{_dot_text(label)}"{style}];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def subset(diagram: Diagram, keep: Sequence[str]) -> Diagram:
    """Only the nodes in `keep` and their direct neighbours, with the edges between them."""
    wanted = set(keep)
    for up, down, _ in diagram.edges:
        if up in keep or down in keep:
            wanted.update((up, down))
    return Diagram(
        nodes=[n for n in diagram.nodes if n[0] in wanted],
        edges=[e for e in diagram.edges if e[0] in wanted and e[1] in wanted],
    )
