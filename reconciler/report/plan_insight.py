"""What the plan reports add from the tenant beyond the changes: preflight problems, the chained
tasks a schedule change moves, and the next day's reloads (a mermaid chart and the collisions).

Pure: a Plan's Insight in, lines or markdown out. The text and markdown plans call these; nothing
here decides what the plan does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime

from reconciler.apps import AppBook, app_label
from reconciler.insight import DayChart, Insight
from reconciler.plan import Action

PROBLEMS_TITLE = "Problems: the tenant would refuse this plan; nothing will be written"
IMPACT_LABEL = "runs that move with it:"
COLLISION_LIMIT = 20
Y_AXIS_MIN = 10
CHART_COLOURS = (
    '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#0969da, #cf222e"}}}}%%\n'
)
"""Blue bars (after the change), a red line (before it): the default palette's bars are faint."""


def problem_lines(insight: Insight | None) -> list[str]:
    """`path:line: "task": message`, one a problem."""
    return [str(p) for p in insight.problems] if insight else []


def impact_line(action: Action, insight: Insight | None) -> str | None:
    """The chained tasks whose runs move with a schedule change, or None."""
    moved = insight.impact.get(action.name) if insight else None
    if not moved:
        return None
    return f"{IMPACT_LABEL} " + ", ".join(json.dumps(n, ensure_ascii=False) for n in moved)


def app_detail(detail: str, apps: AppBook) -> str:
    """An unmanaged task's `app <id>` detail with the app's name."""
    if detail.startswith("app "):
        return "app " + app_label(detail[4:], apps)
    return detail


def _hour(when: datetime) -> str:
    return when.strftime("%H")


def collision_lines(day: DayChart | None, apps: AppBook, *, only_new: bool) -> list[str]:
    """`06:00 new: 6 reloads at once, more than 5: ...`, the first COLLISION_LIMIT."""
    if day is None:
        return []
    chosen = [(c, new) for c, new in day.collisions if new or not only_new]
    lines = [
        f"{c.at.astimezone(day.tz):%a %H:%M}"
        + (" new" if new and not only_new else "")
        + f": {c.words(apps, day.max_concurrent)}"
        for c, new in chosen[:COLLISION_LIMIT]
    ]
    if len(chosen) > COLLISION_LIMIT:
        lines.append(f"… and {len(chosen) - COLLISION_LIMIT} more")
    return lines


def _series(values: Sequence[tuple[datetime, int]]) -> str:
    return "[" + ", ".join(str(n) for _, n in values) + "]"


def mermaid_chart(day: DayChart) -> str:
    """An `xychart-beta` of reloads starting per hour: bars after the change, a line before it."""
    hours = ", ".join(f'"{_hour(at)}"' for at, _ in day.after)
    # At least 10 on the axis, so that its ticks fall on whole reloads.
    top = max([n + 1 for _, n in day.before + day.after] + [Y_AXIS_MIN])
    return (
        CHART_COLOURS + "xychart-beta\n"
        f'  title "Reloads starting per hour, next 24 h ({day.zone})"\n'
        f"  x-axis [{hours}]\n"
        f'  y-axis "Reloads" 0 --> {top}\n'
        f"  bar {_series(day.after)}\n"
        f"  line {_series(day.before)}\n"
    )


def markdown_day(
    day: DayChart | None, apps: AppBook, fenced_block: str, inline: Callable[[str], str]
) -> str:
    """The chart section of the pull-request comment (`fenced_block` is the chart, fenced;
    `inline` makes text from the tenant literal markdown)."""
    if day is None or not any(n for _, n in day.before + day.after):
        return ""
    first = day.after[0][0] if day.after else None
    since = f" from {first:%Y-%m-%d %H:00} {day.zone}" if first else ""
    text = "\n### Reloads over the next day\n\n"
    text += (
        f"Reloads starting each hour{since}, every task of the tenant (git, unmanaged, legacy): "
        "blue bars after this change, the red line before it"
        + ("" if day.changed else " (the same: this change moves no reload)")
        + ".\n\n"
    )
    text += fenced_block
    lines = collision_lines(day, apps, only_new=False)
    if lines:
        text += (
            f"\nCollisions after this change (each reload taken as {day.assumed_minutes} "
            f"minutes; `reconciler schedule --runs` uses measured durations):\n\n"
        )
        text += "".join(f"- {inline(line)}\n" for line in lines)
    return text
