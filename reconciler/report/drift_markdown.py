"""The drift report as markdown, for a tracking issue or a CI step summary.

Pure: a DriftReport and `now` in, markdown out, always shorter than `limit` characters: when the
report is longer, every category keeps a fair share of rows and says how many it leaves out, with a
pointer to the JSON artifact. The first line is a hidden marker so a workflow can find its issue.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from reconciler.apps import AppBook
from reconciler.drift import CATEGORY_ORDER, Category, DriftReport, Finding, TaskDrift
from reconciler.report.drift_text import (
    DIRECTION,
    SYMBOL,
    change_line,
    changed_words,
    field_changes,
    message,
    run_words,
    runs_source,
    shared_advice,
    title,
)
from reconciler.report.plan_markdown import inline
from reconciler.report.plan_text import format_run

REPORT_MARKER = "<!-- qlik-task-reconciler:drift -->"
LIMIT = 60_000
CHANGES_SHOWN = 5
DETAIL_MAX = 1_000
_CODE_SPAN = re.compile(r"`([^`]*)`")


def words(text: str, limit: int = DETAIL_MAX) -> str:
    """`text` as inline markdown, with its `code spans` kept as code and all else literal."""
    out: list[str] = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_spaced(text[last : match.start()], limit))
        out.append(f"<code>{html.escape(match.group(1))}</code>")
        last = match.end()
    out.append(_spaced(text[last:], limit))
    return "".join(out)


def _spaced(text: str, limit: int) -> str:
    """`inline(text)`, keeping one space where `text` begins or ends with one."""
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() and text.strip() else ""
    return lead + inline(text, limit) + trail


def _details(finding: Finding, apps: AppBook) -> str:
    if finding.category in (Category.DISABLED, Category.DISABLED_BY_HAND):
        return f"<b>{inline(finding.code or '')}</b>: {words(finding.message + changed_words(finding))}"
    if finding.category is Category.FAILING and finding.run:
        return inline(f"last run failed: {run_words(finding.run)}", DETAIL_MAX)
    parts = [words(message(finding))]
    changes = field_changes(finding)
    parts += [inline(change_line(c, apps), 200) for c in changes[:CHANGES_SHOWN]]
    if len(changes) > CHANGES_SHOWN:
        parts.append(f"… and {len(changes) - CHANGES_SHOWN} more changes")
    return "<br>".join(parts)


def _where(task: TaskDrift) -> str:
    parts = [inline(task.source)] if task.source else []
    if task.task_id:
        parts.append(f"id {inline(task.task_id)}")
    if task.owner:
        parts.append(f"owner {inline(task.owner.get('name') or '')}")
    return "<br>".join(parts) or "—"


def _row(task: TaskDrift, finding: Finding, with_advice: bool, apps: AppBook) -> str:
    cells = [inline(task.name), _where(task), _details(finding, apps)]
    if with_advice:
        cells.append(words(finding.advice))
    return "| " + " | ".join(cells) + " |\n"


@dataclass(slots=True)
class _Section:
    """A category: its heading, its table's head, its rows; `shown` rows are printed."""

    heading: str
    head: str
    rows: list[str]
    see: str
    shown: int = 0
    total: int = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(len(r) for r in self.rows)
        self.shown = len(self.rows)

    def note(self, cut: int) -> str:
        what = f"{cut} more" if cut < len(self.rows) else f"these {cut}"
        return f"\n… {what} are not shown: see {self.see}.\n"

    def fixed(self) -> int:
        """What it takes whatever is cut: heading, table head, the longest note."""
        return len(self.heading) + len(self.head) + len(self.note(len(self.rows)))

    def take(self, room: int) -> None:
        """Show the rows that fit in `room` characters, from the top."""
        used, self.shown = 0, 0
        for row in self.rows:
            if used + len(row) > room:
                break
            used += len(row)
            self.shown += 1

    def text(self) -> str:
        cut = len(self.rows) - self.shown
        body = self.head + "".join(self.rows[: self.shown]) if self.shown else ""
        return self.heading + body + (self.note(cut) if cut else "")


def _fit(sections: list[_Section], room: int) -> None:
    """Share `room` among the sections: small ones whole, the others an equal share each."""
    pending = sorted(sections, key=lambda s: s.total)
    while pending:
        share = max(0, room) // len(pending)
        if pending[0].total <= share:
            room -= pending.pop(0).total
            continue
        for section in pending:
            section.take(share)
        return


def _sections(report: DriftReport, see: str) -> list[_Section]:
    sections: list[_Section] = []
    for category in CATEGORY_ORDER:
        found = report.of(category)
        if not found:
            continue
        advice = shared_advice(found)
        heading = f"\n### `{SYMBOL[category]}` {title(category, report.strict)} ({len(found)})\n\n"
        if advice:
            heading += f"What to do: {words(advice)}.\n\n"
        columns = ["Task", "Where", DIRECTION if category is Category.MODIFIED else "Details"]
        columns += [] if advice else ["What to do"]
        head = "| " + " | ".join(columns) + " |\n" + "| --- " * len(columns) + "|\n"
        rows = [_row(task, finding, advice is None, report.apps) for task, finding in found]
        sections.append(_Section(heading, head, rows, see))
    if report.warnings:
        rows = [f"- {inline(w, DETAIL_MAX)}\n" for w in report.warnings]
        sections.append(_Section("\n### Warnings\n\n", "", rows, see))
    return sections


def _overview(report: DriftReport) -> str:
    counts = report.summary()
    rows = [
        f"| `{SYMBOL[c]}` | {title(c, report.strict)} | {counts[c]} |\n"
        for c in CATEGORY_ORDER
        if counts[c]
    ]
    return "\n| | Category | Tasks |\n| --- | --- | ---: |\n" + "".join(rows) if rows else ""


def render(
    report: DriftReport,
    *,
    now: datetime,
    tenant: str | None = None,
    artifact_hint: str = "the drift.json artifact",
    limit: int = LIMIT,
) -> str:
    """The issue or step-summary body, shorter than `limit` characters."""
    counts = report.summary()
    in_git = sum(1 for t in report.tasks if t.origin == "git")
    head = f"{REPORT_MARKER}\n**{inline(report.summary_line(), 2_000)}**\n\n"
    if tenant:
        head += f"Tenant: {inline(tenant)}  \n"
    head += (
        f"Checked at {format_run(now.astimezone(UTC))}; last runs {runs_source(report)}. "
        f"{counts['in_sync']} of {in_git} task(s) in git are in sync.\n"
    )
    head += _overview(report)
    sections = _sections(report, artifact_hint)
    _fit(sections, limit - 1 - len(head) - sum(s.fixed() for s in sections))
    text = head + "".join(s.text() for s in sections)
    return text if len(text) < limit else text[: limit - 2] + "…\n"
