"""What starts a task, read from its API document: its schedule, the upstream tasks whose finish
starts it, an update of its app's data, or nothing but a person.

The one reading of a document's trigger: the plan's words, the graph's labels and the reloads of a
window ask `trigger_of`. Tolerant like `taskdoc`: a part of the wrong type starts nothing. (A task
file's own form answers the same questions of the file: `model.ShortTask`, `model.FullTask`.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.chains import run_finished_upstreams
from reconciler.model import DATA_UPDATED

TriggerKind = Literal["schedule", "data update", "chain", "on demand"]


@dataclass(frozen=True, slots=True)
class Trigger:
    schedule: Any = None
    """`start.schedule` as the document has it (a mapping or an interval string), or None."""
    upstreams: tuple[tuple[str, str], ...] = ()
    """(upstream task id or placeholder, status) of each run-finished event; status "any" unstated."""
    exclusive: bool | None = None
    """The state's `exclusive`: True when any one upstream starts it, False when it waits for all."""
    data_update: bool = False
    """Whether an update of the app's data starts it."""

    @property
    def kind(self) -> TriggerKind:
        """The one trigger it is shown by: a schedule before a data update before a chain."""
        if self.schedule is not None:
            return "schedule"
        if self.data_update:
            return "data update"
        if self.upstreams:
            return "chain"
        return "on demand"


def schedule_of(doc: Mapping[str, Any] | None) -> Any:
    """The `start.schedule` value of a task document, or None."""
    start = (doc or {}).get("start")
    return start.get("schedule") if isinstance(start, dict) else None


def trigger_of(doc: Mapping[str, Any] | None) -> Trigger:
    """What starts the task `doc` describes (a live task, or one rendered from a file)."""
    doc = doc or {}
    states = doc.get("states")
    first = states[0] if isinstance(states, list) and states else None
    exclusive = first.get("exclusive") if isinstance(first, dict) else None
    events = doc.get("events")
    return Trigger(
        schedule=schedule_of(doc),
        upstreams=tuple(run_finished_upstreams(doc)),
        exclusive=exclusive if isinstance(exclusive, bool) else None,
        data_update=isinstance(events, list)
        and any(isinstance(e, dict) and e.get("type") == DATA_UPDATED for e in events),
    )
