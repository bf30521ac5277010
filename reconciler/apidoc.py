"""Task files to API documents: exactly what would be sent.

References to upstream tasks by name are resolved through `ids`; a name that has no id yet (it will be
created by the same apply) is written as `(known after apply: <name>)`, a placeholder that apply
replaces with the real id once the upstream exists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from reconciler import model, normalize
from reconciler.load import LoadedTask

STATE_NAME = "reload"
ACTION_NAME = "reload-action"
_PLACEHOLDER = re.compile(r"\(known after apply: (.+)\)")


def known_after_apply(name: str) -> str:
    return f"(known after apply: {name})"


_PREFIX = "(known after apply: "


def placeholder_name(value: object) -> str | None:
    """The upstream name behind a placeholder, or None for any other value."""
    if isinstance(value, str) and value.startswith(_PREFIX):
        match = _PLACEHOLDER.fullmatch(value)
        if match:
            return match.group(1)
    return None


def substitute(doc: Any, ids: Mapping[str, str]) -> Any:
    """`doc` with every placeholder whose upstream now has an id replaced by that id."""
    if isinstance(doc, dict):
        return {k: substitute(v, ids) for k, v in doc.items()}
    if isinstance(doc, list):
        return [substitute(v, ids) for v in doc]
    name = placeholder_name(doc)
    if name is not None and name in ids:
        return ids[name]
    return doc


def placeholders(doc: Any) -> set[str]:
    """Names of the upstreams `doc` still waits for."""
    found: set[str] = set()
    todo = [doc]
    while todo:  # a walk without recursion: apply asks this of every action
        value = todo.pop()
        if isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list):
            todo.extend(value)
        else:
            name = placeholder_name(value)
            if name is not None:
                found.add(name)
    return found


def build(task: LoadedTask, ids: Mapping[str, str], marker: str) -> dict[str, Any]:
    """The API document for `task`, with upstream names resolved through `ids`."""
    if isinstance(task.spec, model.ShortTask):
        return _short(task.spec, ids, marker)
    return _full(task.data, ids, marker)


def _annotations(marker: str, extra: list[str]) -> list[str]:
    return [marker, *(a for a in extra if a != marker)]


def _schedule(schedule: model.Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if schedule.recurrence is not None:
        out["recurrence"] = schedule.recurrence
    if schedule.cron is not None:
        out["cron"] = (
            schedule.cron
            if isinstance(schedule.cron, str)
            else schedule.cron.model_dump(exclude_none=True)
        )
    if schedule.interval is not None:
        out["interval"] = schedule.interval
    out["timezone"] = schedule.timezone or "UTC"
    if schedule.startDateTime is not None:
        out["startDateTime"] = schedule.startDateTime
    if schedule.endDateTime is not None:
        out["endDateTime"] = schedule.endDateTime
    return out


def _short(spec: model.ShortTask, ids: Mapping[str, str], marker: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description or "",
        "enabled": spec.enabled,
        "specVersion": model.SPEC_VERSION,
        "version": model.WORKFLOW_VERSION,
        "annotations": _annotations(marker, spec.annotations),
    }
    if spec.schedule is not None:
        doc["start"] = {"stateName": STATE_NAME, "schedule": _schedule(spec.schedule)}
    events: list[dict[str, Any]] = []
    for i, upstream in enumerate(spec.upstreams, start=1):
        if upstream.taskId is not None:
            value = upstream.taskId
        else:
            assert upstream.task is not None  # the model guarantees one of the two
            value = ids.get(upstream.task) or known_after_apply(upstream.task)
        correlation = [{"contextAttributeName": "id", "contextAttributeValue": value}]
        if upstream.status != "any":
            correlation.append(
                {"contextAttributeName": "status", "contextAttributeValue": upstream.status}
            )
        events.append(
            {
                "name": f"upstream-{i}",
                "type": model.RUN_FINISHED,
                "source": model.RUN_FINISHED_SOURCE,
                "correlation": correlation,
            }
        )
    if spec.onDataUpdate:
        events.append(
            {
                "name": "dataset-updated",
                "type": model.DATA_UPDATED,
                "source": model.DATA_UPDATED_SOURCE,
                "correlation": [
                    {"contextAttributeName": "appId", "contextAttributeValue": spec.reload.appId}
                ],
            }
        )
    if events:
        doc["events"] = events
    state = reload_state(
        spec.reload.appId, spec.reload.partial, event_refs=[e["name"] for e in events]
    )
    if spec.after:
        state["exclusive"] = spec.when == "any"
    doc["states"] = [state]
    return doc


def reload_state(
    app_id: str, partial: bool = False, *, event_refs: list[str] | None = None
) -> dict[str, Any]:
    """The one event state with the one app.reload action that the service runs."""
    return {
        "name": STATE_NAME,
        "type": "event",
        "end": True,
        "onEvents": [
            {
                "eventRefs": list(event_refs or []),
                "actions": [
                    {
                        "name": ACTION_NAME,
                        "functionRef": {
                            "refName": "app.reload",
                            "arguments": {"appId": app_id, "partial": partial},
                        },
                    }
                ],
            }
        ],
    }


def _full(data: Mapping[str, Any], ids: Mapping[str, str], marker: str) -> dict[str, Any]:
    doc = normalize.copy_doc({k: v for k, v in data.items() if k not in model.TOOL_KEYS})
    doc.setdefault("enabled", True)
    doc.setdefault("specVersion", model.SPEC_VERSION)
    doc.setdefault("version", model.WORKFLOW_VERSION)
    doc["annotations"] = _annotations(marker, list(doc.get("annotations") or []))
    for event in doc.get("events") or []:
        for corr in event.get("correlation") or []:
            ref = corr.pop("taskRef", None)
            if ref is not None:
                corr["contextAttributeValue"] = ids.get(ref) or known_after_apply(ref)
    return doc
