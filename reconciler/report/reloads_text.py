"""`reconciler schedule` as text: every reload of the window in one time zone, how many start in
each hour, and where reloads collide.

Pure: a ReloadDay (what the command gathered) in, text out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from reconciler import schedule
from reconciler.apps import AppBook
from reconciler.reloads import Durations, Reloader, Start, collisions, peak_running, per_hour

BAR_MAX = 40


@dataclass(slots=True)
class ReloadWindow:
    """What `schedule` shows: the tasks, their starts in (begin, end], the zone to show them in."""

    begin: datetime
    end: datetime
    tz: tzinfo
    zone: str
    reloaders: Sequence[Reloader]
    starts: Sequence[Start]
    scope: str
    durations: Mapping[str, Durations] | None = None
    apps: AppBook = field(default_factory=dict)
    max_concurrent: int = 5
    on_event: Sequence[str] = ()
    on_demand: Sequence[str] = ()
    disabled: Sequence[str] = ()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def render(window: ReloadWindow) -> str:
    tz = window.tz
    out = [
        f"Reloads from {window.begin.astimezone(tz):%Y-%m-%d %H:%M} to "
        f"{window.end.astimezone(tz):%Y-%m-%d %H:%M} ({window.zone}), {window.scope}",
        "",
    ]
    scheduled = [r for r in window.reloaders if r.schedule is not None]
    if scheduled:
        out.append("Schedules:")
        for r in scheduled:
            try:
                words = schedule.describe(r.schedule)
            except ValueError as exc:
                words = f"cannot be read ({exc})"
            out.append(f"  {r.label}: {words}")
        out.append("")
    if window.durations is not None:
        out.append("Run durations (median / 90th percentile of recent runs):")
        for r in window.reloaders:
            d = window.durations.get(r.key)
            if d is not None:
                out.append(f"  {r.label}: {_duration(d.p50)} / {_duration(d.p90)} ({d.runs} runs)")
        if not window.durations:
            out.append("  (no finished runs to measure)")
        out.append("")
    out.append("Runs:")
    for s in window.starts:
        when = f"{s.at.astimezone(tz):%Y-%m-%d %a %H:%M}"
        reason = f"  (after {s.after})" if s.after else ""
        out.append(f"  {when}  {s.task.label}{reason}")
    if not window.starts:
        out.append("  (no scheduled runs in this window)")
    out += ["", *_slots(window)]
    found = collisions(window.starts, window.max_concurrent)
    if found:
        basis = "90th-percentile durations" if window.durations is not None else "start times"
        out += ["", f"Collisions ({basis}):"]
        out += [
            f"  {c.at.astimezone(tz):%Y-%m-%d %a %H:%M}  {c.words(window.apps, window.max_concurrent)}"
            for c in found
        ]
    for title, names in (
        ("On data update", window.on_event),
        ("On demand only", window.on_demand),
        ("Disabled", window.disabled),
    ):
        if names:
            out.extend(["", f"{title}: " + ", ".join(names)])
    return "\n".join(out) + "\n"


def _slots(window: ReloadWindow) -> list[str]:
    hours = max(1, int((window.end - window.begin).total_seconds() // 3600) + 1)
    counts = per_hour(window.starts, window.begin, hours, window.tz)
    measured = window.durations is not None
    peaks = peak_running(window.starts, window.begin, hours, window.tz) if measured else []
    busy = [(i, at, n) for i, (at, n) in enumerate(counts) if n or (peaks and peaks[i])]
    title = f"Reloads starting per hour ({window.zone}; hours without any left out)"
    lines = [title + (", and the most running at once:" if measured else ":")]
    top = max([n for _, _, n in busy] + [1])
    for i, at, n in busy:
        bar = "█" * max(1 if n else 0, round(n * BAR_MAX / top)) if top > BAR_MAX else "█" * n
        line = f"  {at:%Y-%m-%d %a %H:00}  {n:>3} {bar}"
        if measured:
            line += f"{'':{max(0, 12 - len(bar))}}  running at once: {peaks[i]}"
        lines.append(line)
    if not busy:
        lines.append("  (none)")
    return lines
