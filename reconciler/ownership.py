"""Which live tasks this tool may write: the one ownership decision every path into a write takes.

A task is managed when its `annotations` list holds the marker as one whole entry (never a
substring, never inside a string that is not a list). A task without the marker is never written
or deleted, unless `--adopt` names it adoptable: it holds the name of a desired task, or it is the
task the service made from the legacy reload-task a task file migrates. Deleting is for managed
tasks only; adoption never deletes. The plan asks this module when it matches tasks, and apply asks
it again against the live listing before anything is written, so a saved plan file is never
trusted to say who owns a task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    MANAGED = "managed"
    ADOPT = "adopt"
    REFUSED = "refused"


def is_managed(doc: Mapping[str, Any], marker: str) -> bool:
    """True when `doc` carries `marker` as one entry of its `annotations` list."""
    annotations = doc.get("annotations")
    if not isinstance(annotations, list) or not marker:
        return False
    return any(isinstance(entry, str) and entry == marker for entry in annotations)


def migrated_from(doc: Mapping[str, Any]) -> str | None:
    """The legacy reload-task id the service recorded on a live task, if any."""
    meta = doc.get("metadata")
    origin = meta.get("migratedFrom") if isinstance(meta, Mapping) else None
    return str(origin) if isinstance(origin, str | int) and str(origin) else None


def may_write(
    doc: Mapping[str, Any],
    marker: str,
    *,
    adopt: bool,
    name: str,
    migrate_from: str | None = None,
) -> Verdict:
    """May the desired task `name` (migrating `migrate_from`) write the live task `doc`?"""
    if is_managed(doc, marker):
        return Verdict.MANAGED
    if adopt and (
        doc.get("name") == name or (migrate_from is not None and migrated_from(doc) == migrate_from)
    ):
        return Verdict.ADOPT
    return Verdict.REFUSED


def may_delete(doc: Mapping[str, Any], marker: str) -> bool:
    """Only a managed task is ever deleted."""
    return is_managed(doc, marker)


def refusals(
    writes: Sequence[tuple[str, str, str | None]],
    deletes: Sequence[str],
    live: Sequence[Mapping[str, Any]],
    marker: str,
    *,
    adopt: bool,
) -> list[str]:
    """Why each planned write is not allowed on the live task it targets, checked against `live`.

    `writes` are (task id, desired name, migrateFrom) of updates; `deletes` are task ids. A task
    that is no longer listed is not refused here (the freshness check reports it).
    """
    by_id = {str(doc.get("id")): doc for doc in live}
    problems: list[str] = []
    for task_id, name, origin in writes:
        doc = by_id.get(task_id)
        if doc is None:
            continue
        verdict = may_write(doc, marker, adopt=adopt, name=name, migrate_from=origin)
        if verdict is Verdict.REFUSED:
            problems.append(
                f"task {task_id} ({str(doc.get('name'))!r}) is not managed (no {marker!r} "
                "annotation)" + ("" if adopt else "; pass --adopt to take it over")
            )
    for task_id in deletes:
        doc = by_id.get(task_id)
        if doc is not None and not may_delete(doc, marker):
            problems.append(
                f"task {task_id} ({str(doc.get('name'))!r}) is not managed: it is never deleted"
            )
    return problems
