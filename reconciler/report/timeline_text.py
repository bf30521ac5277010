"""`reconciler schedule` as text: the runs of the window in time order, chains indented below."""

from __future__ import annotations

from reconciler.timeline import MAX_CHAINED_RUNS, Run, Timeline

_WIDTH = 27


_MAX_INDENT = 16
"""Levels of indentation shown; deeper chained runs say their depth instead."""


def _lines(first: Run, out: list[str]) -> None:
    stack = [first]
    while stack:
        run = stack.pop()
        if run.depth == 0:
            out.append(f"{f'{run.at:%Y-%m-%d %a %H:%M %Z}':<{_WIDTH}}{run.task}")
        else:
            indent = "    " * (min(run.depth, _MAX_INDENT) - 1)
            deep = f"[depth {run.depth}] " if run.depth > _MAX_INDENT else ""
            out.append(f"{'':{_WIDTH}}{indent}↳ {deep}{run.task}  ({run.because})")
        stack.extend(reversed(run.follows))


def render(timeline: Timeline) -> str:
    out = [f"Runs from {timeline.start:%Y-%m-%d %H:%M %Z} to {timeline.end:%Y-%m-%d %H:%M %Z}:", ""]
    if timeline.descriptions:
        out.append("Schedules:")
        out.extend(f"  {name}: {text}" for name, text in timeline.descriptions.items())
        out.append("")
    for run in timeline.runs:
        _lines(run, out)
    if not timeline.runs:
        out.append("(no scheduled runs in this window)")
    if timeline.cut:
        out.extend(["", f"(chained runs cut at {MAX_CHAINED_RUNS:,}: choose a shorter --days)"])
    for title, names in (
        ("On data update", timeline.on_event),
        ("On demand only", timeline.on_demand),
        ("Disabled", timeline.disabled),
    ):
        if names:
            out.extend(["", f"{title}: " + ", ".join(names)])
    return "\n".join(out) + "\n"
