"""The plan as a pull-request comment: summary, table of changes, chain graph, details per task.

Pure: a Plan and `now` in, markdown out, always under `limit` characters. The first line is a
hidden marker so a workflow can find its comment and update it in place.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.apidoc import placeholder_name
from reconciler.apps import AppBook, app_label, app_name
from reconciler.chains import run_finished_upstreams
from reconciler.insight import Insight
from reconciler.owners import move_words
from reconciler.plan import Action, Kind, Plan
from reconciler.report import graph, plan_insight
from reconciler.report.owner_words import moves_words, owner_lines
from reconciler.report.plan_text import (
    changes,
    format_run,
    names_by_id,
    schedule_change_line,
    schedule_lines,
    trigger_change_line,
    value_text,
    what_lines,
)
from reconciler.taskdoc import app_of

COMMENT_MARKER = "<!-- qlik-task-reconciler:plan -->"
LIMIT = 60_000
CELL_MAX = 300
GRAPH_MAX_EDGES = 300
GRAPH_MAX_CHARS = 20_000
HEADING_WORDS: Mapping[str, str] = {
    "start": "schedule",
    "events": "trigger",
    "states": "reload",
    "enabled": "enabled",
    "keepActive": "keep active",
    "specVersion": "spec version",
}
"""The changed fields in a details heading, in Qlik words."""
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_SPACES = re.compile(r"\s+")


def inline(text: str, limit: int = CELL_MAX) -> str:
    """`text` as literal inline markdown on one line: markdown punctuation backslash-escaped,
    HTML escaped, at most `limit` characters (it is safe in a table cell: `|` is escaped)."""
    text = _SPACES.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def _html(text: str, limit: int = CELL_MAX) -> str:
    text = _SPACES.sub(" ", text).strip()
    return html.escape(text[: limit - 1] + "…" if len(text) > limit else text)


def fenced(body: str, info: str = "") -> str:
    """A fenced code block whose fence is longer than any run of backticks inside it."""
    runs = [len(m) for m in re.findall(r"`+", body)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{info}\n{body.rstrip(chr(10))}\n{fence}\n"


# -- what goes in ----------------------------------------------------------------------------


def _order(plan: Plan) -> list[Action]:
    """Deletes first, then updates that change a schedule, then creates, migrates, updates."""

    def rank(action: Action) -> int:
        if action.kind is Kind.DELETE:
            return 0
        if action.kind is Kind.UPDATE and "start" in action.fields:
            return 1
        return {Kind.CREATE: 2, Kind.MIGRATE: 3}.get(action.kind, 4)

    return sorted(plan.changes, key=rank)  # stable: apply order among equals


def _row(action: Action, insight: Insight | None = None) -> str:
    reason = inline(action.reason)
    words = schedule_change_line(action)
    if words:
        reason += "<br>" + inline(words)
    move = move_words(action)
    if move:
        reason += "<br>" + inline(move)
    moved = plan_insight.impact_line(action, insight)
    if moved:
        reason += "<br>" + inline(moved)
    where = inline(action.source) if action.source else "—"
    return (
        f"| `{action.symbol}` | {action.kind.value} | {inline(action.name)} | {where} "
        f"| {reason} |\n"
    )


def _details(
    action: Action, now: datetime, names: Mapping[str, str], insight: Insight | None = None
) -> str:
    summary = (
        f"<code>{html.escape(action.symbol)}</code> {action.kind.value} <b>{_html(action.name)}</b>"
    )
    if action.fields:
        summary += ": " + _html(", ".join(HEADING_WORDS.get(f, f) for f in action.fields))
    lines = [f"<details><summary>{summary}</summary>", ""]
    if action.source:
        lines.append(f"File: {inline(action.source)}" + "  ")
    if action.task_id:
        lines.append(f"Task id: {inline(action.task_id)}" + "  ")
    lines += [f"Reason: {inline(action.reason, 2000)}", ""]
    if action.kind is Kind.UPDATE:  # its inner changes go in the diff block below
        trigger = trigger_change_line(action, names)
        words = ([trigger] if trigger else []) + schedule_lines(action, now)
    else:
        words = what_lines(action, now, names, insight.apps if insight else None)
    moved = plan_insight.impact_line(action, insight)
    if moved:
        words.append(moved)
    if action.delete_legacy and action.kind is not Kind.MIGRATE:
        words.append(f"then deletes legacy reload-task {action.delete_legacy}")
    words = owner_lines(action) + words
    lines += [f"- {inline(w, 2000)}" for w in words]
    out = "\n".join(lines) + ("\n\n" if words else "\n")
    diff = _diff(action)
    if diff:
        out += "Changes:\n\n" + fenced(diff, "diff") + "\n"
    if action.patch:
        out += "JSON Patch (what apply sends):\n\n" + fenced(_json(action.patch), "json") + "\n"
    elif action.creates and action.after:
        out += "Task document (what apply sends):\n\n" + fenced(_json(action.after), "json") + "\n"
    return out + "</details>\n\n"


def _diff(action: Action) -> str:
    lines: list[str] = []
    for change in changes(action) if action.kind is Kind.UPDATE else []:
        if change.old is not None and not _absent(change.old):
            lines.append(f"- {change.path}: {value_text(change.old)}")
        if change.new is not None and not _absent(change.new):
            lines.append(f"+ {change.path}: {value_text(change.new)}")
    return "\n".join(lines)


def _absent(value: Any) -> bool:
    return value_text(value) == "(none)"


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def diagram(
    plan: Plan, known: Mapping[str, str] | None = None, apps: AppBook | None = None
) -> graph.Diagram:
    """The chains the plan changes: touched tasks, their direct upstreams and downstreams.
    `known` names live tasks by id (an upstream outside git is drawn by its name); `apps` names
    the app a touched task reloads."""
    names = {**(known or {}), **names_by_id(plan)}
    edges: dict[tuple[str, str], str] = {}
    outside: set[str] = set()  # ids of upstream tasks the plan knows nothing else about
    for action in plan.changes:
        doc = action.before if action.kind is Kind.DELETE else action.after
        if doc and "events" in doc:
            for ref, status in run_finished_upstreams(doc):
                up = placeholder_name(ref) or names.get(ref)
                if up is None:
                    up = ref
                    outside.add(ref)
                edges[(up, action.name)] = status
        else:
            for up in action.upstreams:
                edges.setdefault((up, action.name), "")
    touched = {a.name: a for a in plan.changes}
    nodes: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for up, down in edges:
        for node in (up, down):
            if node in seen:
                continue
            seen.add(node)
            if node in touched:
                act = touched[node]
                label = f"{act.symbol} {node}"
                app = app_of(act.after or act.before or {})
                name = app_name(app, apps or {}) if app else None
                nodes.append((node, label + (f"\napp {name}" if name else ""), act.kind.value))
            else:
                nodes.append((node, f"task {node}" if node in outside else node, ""))
    return graph.Diagram(nodes=nodes, edges=[(u, d, s) for (u, d), s in edges.items()])


# -- fitting under the limit -----------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    """A section whose items can be cut from the end; `note(cut, shown)` says what was cut."""

    title: str
    head: str
    items: list[str]
    note: Callable[[int, int], str]
    shown: int = -1
    sizes: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.shown = len(self.items)
        self.sizes = [0]
        for item in self.items:
            self.sizes.append(self.sizes[-1] + len(item))

    def size(self, shown: int) -> int:
        if not self.items:
            return 0
        cut = len(self.items) - shown
        return (
            len(self.title)
            + (len(self.head) if shown else 0)
            + self.sizes[shown]
            + (len(self.note(cut, shown)) if cut else 0)
        )

    def text(self) -> str:
        if not self.items:
            return ""
        cut = len(self.items) - self.shown
        head = self.head if self.shown else ""
        return (
            self.title
            + head
            + "".join(self.items[: self.shown])
            + (self.note(cut, self.shown) if cut else "")
        )

    def fit(self, over: int) -> int:
        """Cut items from the end until `over` characters are saved (or none is left)."""
        full = self.size(self.shown)
        while self.shown > 0 and full - self.size(self.shown) < over:
            self.shown -= 1
        return full - self.size(self.shown)


def render(
    plan: Plan,
    *,
    now: datetime,
    tenant: str | None = None,
    artifact_hint: str = "the plan.json artifact",
    limit: int = LIMIT,
    insight: Insight | None = None,
) -> str:
    """The pull-request comment, shorter than `limit` characters."""
    names = {**(insight.task_names if insight else {}), **names_by_id(plan)}
    ordered = _order(plan)
    see = f": see {artifact_hint}.\n"
    head = f"{COMMENT_MARKER}\n**{plan.summary_line()}{moves_words(plan)}**\n\n"
    if tenant:
        head += f"Tenant: {inline(tenant)}  \n"
    head += f"Next runs are counted from {format_run(now.astimezone(UTC))}.\n"
    problems = plan_insight.problem_lines(insight)
    if problems:
        head += f"\n### {plan_insight.PROBLEMS_TITLE}\n\n"
        head += "".join(f"- {inline(p, 2000)}\n" for p in problems)
    table = _Part(
        "\n",
        "| | Action | Task | File | Reason |\n| --- | --- | --- | --- | --- |\n",
        [_row(a, insight) for a in ordered],
        lambda n, shown: f"\n… {_more(n, shown, 'changes')} are not shown{see}",
    )
    graph_part = _graph_part(plan, see, names, insight.apps if insight else None)
    day_part = _day_part(insight, see) if ordered else _Part("", "", [], lambda n, shown: "")
    conflicts, unmanaged, legacy, warnings = _listings(plan, see, insight.apps if insight else {})
    budget = limit - 1 - len(head)
    details_title = "\n### Details\n\n"
    details_note = len(f"\n… details of {_more(len(ordered), 1, 'changes')} are not shown{see}")
    others = [table, graph_part, day_part, conflicts, unmanaged, legacy, warnings]
    over = sum(p.size(p.shown) for p in others) - budget
    if ordered:
        over += len(details_title) + details_note
    for part in (unmanaged, legacy, day_part, graph_part, table, warnings, conflicts):
        if over <= 0:
            break
        over -= part.fit(over)
    room = -over  # what is left for details: they are cut first, so rendered only while they fit
    blocks: list[str] = []
    for action in ordered if room > 0 else []:
        block = _details(action, now, names, insight)
        if len(block) > room:
            break
        blocks.append(block)
        room -= len(block)
    details = ""
    if ordered:
        details = details_title + "".join(blocks)
        if len(blocks) < len(ordered):
            details += (
                f"\n… details of {_more(len(ordered) - len(blocks), len(blocks), 'changes')} "
                f"are not shown{see}"
            )
    text = head + table.text() + graph_part.text() + day_part.text() + details
    text += conflicts.text() + unmanaged.text() + legacy.text() + warnings.text()
    return text if len(text) < limit else text[: limit - 2] + "…\n"


def _listings(plan: Plan, see: str, apps: AppBook) -> tuple[_Part, _Part, _Part, _Part]:
    """Conflicts, unmanaged tasks, legacy reload-tasks and warnings, as lists that can be cut."""

    def cut_note(what: str) -> Callable[[int, int], str]:
        return lambda n, shown: f"- … {_more(n, shown, what)} are not shown{see}"

    conflicts = _Part(
        "\n### Conflicts\n\nAn unmanaged task holds the name; nothing is done for these.\n\n",
        "",
        [
            f"- `!` {inline(a.name)} ({inline(a.source or '—')}): {inline(a.reason)}\n"
            for a in plan.conflicts
        ],
        cut_note("conflicts"),
    )
    unmanaged = _Part(
        "\n### Not managed: never changed\n\n",
        "",
        [
            f"- {inline(u.name)} ({_id_and(u.id, plan_insight.app_detail(u.detail, apps))})\n"
            for u in plan.unmanaged
        ],
        cut_note("unmanaged tasks"),
    )
    legacy = _Part(
        "\n### Legacy reload-tasks not migrated\n\n",
        "",
        [
            f"- {inline(t.id)}: app {inline(app_label(t.name, apps))}"
            + (f" ({inline(t.detail)})\n" if t.detail else "\n")
            for t in plan.legacy
        ],
        cut_note("legacy reload-tasks"),
    )
    warnings = _Part(
        "\n### Warnings\n\n",
        "",
        [f"- {inline(w, 2000)}\n" for w in plan.warnings],
        cut_note("warnings"),
    )
    return conflicts, unmanaged, legacy, warnings


def _id_and(task_id: str, detail: str) -> str:
    return f"id {inline(task_id)}" + (f", {inline(detail)}" if detail else "")


def _more(cut: int, shown: int, what: str) -> str:
    return f"{cut} more {what}" if shown else f"the {cut} {what}"


def _graph_part(
    plan: Plan, see: str, known: Mapping[str, str] | None = None, apps: AppBook | None = None
) -> _Part:
    chart = diagram(plan, known, apps)
    if not chart.edges:
        return _Part("", "", [], lambda n, shown: "")
    title = "\n### Chains that change\n\n"
    too_big = f"The chain graph is too large to draw here{see}"
    text = graph.mermaid(chart)
    if len(chart.edges) > GRAPH_MAX_EDGES or len(text) > GRAPH_MAX_CHARS:
        return _Part(title, "", [too_big], lambda n, shown: too_big)
    return _Part(title, "", [fenced(text, "mermaid")], lambda n, shown: too_big)


def _day_part(insight: Insight | None, see: str) -> _Part:
    """The next day's reloads before and after the change, and the collisions after it."""
    day = insight.day if insight else None
    apps = insight.apps if insight else {}
    if day is None:
        return _Part("", "", [], lambda n, shown: "")
    text = plan_insight.markdown_day(
        day, apps, fenced(plan_insight.mermaid_chart(day), "mermaid"), inline
    )
    if not text:
        return _Part("", "", [], lambda n, shown: "")
    too_big = f"\nThe reload chart does not fit here{see}"
    return _Part("", "", [text], lambda n, shown: too_big)
