"""`reconciler schedule` as text: the runs of the window in time order, chains indented below."""

from __future__ import annotations

from reconciler.timeline import Run, Timeline

_WIDTH = 27


def _lines(run: Run, out: list[str]) -> None:
    if run.depth == 0:
        out.append(f"{f'{run.at:%Y-%m-%d %a %H:%M %Z}':<{_WIDTH}}{run.task}")
    else:
        out.append(f"{'':{_WIDTH}}{'    ' * (run.depth - 1)}↳ {run.task}  ({run.because})")
    for follow in run.follows:
        _lines(follow, out)


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
    for title, names in (
        ("On data update", timeline.on_event),
        ("On demand only", timeline.on_demand),
        ("Disabled", timeline.disabled),
    ):
        if names:
            out.extend(["", f"{title}: " + ", ".join(names)])
    return "\n".join(out) + "\n"
