"""Legacy reload-tasks (`/api/v1/reload-tasks`) to short-form task files. Pure.

One file per legacy task, named after its app; the file holds the tasks the legacy task becomes:

| legacy field | task file |
| --- | --- |
| `appId`, `partial` | `reload: {appId, partial}` |
| `recurrence` (n RRULEs) | n tasks `<app> (reload)`, `<app> (reload, rule 2 of n)`, ...; only the first has `migrateFrom` |
| `timeZone`, `startDateTime`, `endDateTime` | `schedule.timezone`, `.startDateTime`, `.endDateTime` |
| `state` Enabled / Disabled / Completed | `enabled: true` / `false` / `false` (with a comment) |
| `autoReload` (+ `autoReloadPartial`) | one more task, `onDataUpdate: true` |
| `spaceId`, `userId` | a comment: the service derives space and owner |

Task names: `<app> (reload)` for the first rule, `<app> (reload, rule 2 of 3)` for the others,
`<app> (on data update)`; a second legacy task of the same app gets `(reload, task 2)`, and so on:
no name of one series can be read as a name of another.

Task files want local times without an offset; a legacy time with an offset is converted to the
task's timezone: `timeZone` (or `timezone`), else the TZID of a `DTSTART;TZID=...` line. Only a
legacy task that names no zone at all keeps its fixed offset, as an `Etc/GMT±N` zone (so that the
rule's BYHOUR still means what it meant), and a comment says so: a fixed offset does not follow
daylight saving time.

A task the service would refuse or that would never run (a schedule that has ended, a schedule the
service cannot read) is written `enabled: false`, with a comment saying why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler import schedule
from reconciler.migrate_times import _schedule_fields
from reconciler.taskfile import Document, unique_stems

SCHEDULE_SUFFIX = "reload"
DATA_UPDATE_SUFFIX = "on data update"
_STATES = {"enabled": True, "disabled": False, "completed": False}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A legacy task that is not migrated, and why."""

    legacy_id: str
    app_id: str
    reason: str


@dataclass(slots=True)
class LegacyFile:
    """The file one legacy task becomes: its tasks as documents, and what the summary must say."""

    legacy_id: str
    app_id: str
    app_label: str
    stem: str
    documents: list[Document]
    notes: list[str] = field(default_factory=list)

    @property
    def task_names(self) -> list[str]:
        return [str(d.data["name"]) for d in self.documents]


@dataclass(slots=True)
class Migration:
    files: list[LegacyFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_dump(data: Any) -> list[dict[str, Any]]:
    """The legacy tasks of a dump: the list endpoint's `{"data": [...]}`, or a bare array."""
    items = data.get("data") if isinstance(data, dict) else data
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ValueError(
            'expected the answer of GET /api/v1/reload-tasks ({"data": [...]}) '
            "or a JSON array of legacy reload-tasks"
        )
    return [dict(i) for i in items]


def migrate(
    legacy: Sequence[Mapping[str, Any]],
    *,
    app_names: Mapping[str, str],
    migrated_to: Mapping[str, str] | None = None,
    declared: Mapping[str, str] | None = None,
    taken_names: Set[str] = frozenset(),
    now: datetime | None = None,
) -> Migration:
    """The files for `legacy`.

    `app_names` maps app ids to names (an app missing there is named by its id); `migrated_to` maps
    legacy ids to the live task already migrated from them; `declared` maps legacy ids to the task
    file that already has them as `migrateFrom`; `taken_names` are task names in use elsewhere.
    With `now`, a task that the service would refuse to create because its end is past says so.
    """
    result = Migration()
    kept: list[tuple[str, Mapping[str, Any]]] = []
    for doc in legacy:
        skip = _skip_reason(doc, migrated_to or {}, declared or {})
        if skip is not None:
            result.skipped.append(Skipped(str(doc.get("id") or "?"), str(doc.get("appId")), skip))
            continue
        app_id = str(doc["appId"])
        kept.append((app_names.get(app_id) or app_id, doc))
    kept.sort(key=lambda pair: (pair[0].casefold(), str(pair[1]["id"])))
    names = _Names(taken_names)
    data_update_apps: dict[str, str] = {}
    for (label, doc), stem in zip(kept, unique_stems(label for label, _ in kept), strict=True):
        result.files.append(_one(doc, label, stem, names, data_update_apps, now))
    return result


def _skip_reason(
    doc: Mapping[str, Any], migrated_to: Mapping[str, str], declared: Mapping[str, str]
) -> str | None:
    legacy_id, app_id = doc.get("id"), doc.get("appId")
    if not isinstance(legacy_id, str) or not legacy_id or not isinstance(app_id, str) or not app_id:
        return "not a legacy reload-task: it has no id or no appId"
    if legacy_id in migrated_to:
        return f"already migrated to task {migrated_to[legacy_id]!r}"
    if doc.get("migrated") is True:
        return "already migrated (the service flags it `migrated`)"
    if legacy_id in declared:
        return f"already in git: {declared[legacy_id]} has migrateFrom {legacy_id}"
    return None


class _Names:
    """Task names handed out so far, so that every task gets a name no other task has."""

    def __init__(self, taken: Set[str]) -> None:
        self.used = {n.casefold() for n in taken}

    def free(self, name: str) -> bool:
        return name.casefold() not in self.used

    def take(self, name: str) -> str:
        self.used.add(name.casefold())
        return name

    def base(self, label: str, suffix: str, count: int) -> str:
        """`<label> (<suffix>)`, or `(<suffix>, task 2)`, ...: free for itself and the names of
        its `count - 1` more rules."""
        n = 1
        while True:
            base = f"{label} ({suffix})" if n == 1 else f"{label} ({suffix}, task {n})"
            if all(self.free(_nth(base, i, count)) for i in range(1, count + 1)):
                return base
            n += 1


def _nth(base: str, i: int, count: int) -> str:
    """The name of rule `i` of `count`: the base for the first, `(..., rule i of n)` after."""
    return base if i == 1 else f"{base[:-1]}, rule {i} of {count})"


def _one(
    doc: Mapping[str, Any],
    label: str,
    stem: str,
    names: _Names,
    data_update_apps: dict[str, str],
    now: datetime | None,
) -> LegacyFile:
    legacy_id, app_id = str(doc["id"]), str(doc["appId"])
    rules, unsupported = _rules(doc.get("recurrence"))
    sched, time_notes = _schedule_fields(doc)
    enabled, state_notes = _state(doc)
    auto = doc.get("autoReload") is True
    data_update_elsewhere = data_update_apps.get(app_id) if auto else None
    make_data_update = auto and data_update_elsewhere is None
    out = LegacyFile(legacy_id, app_id, label, stem, [])

    origin = f"Migrated from legacy reload-task {legacy_id} of app " + (
        f"{label} ({app_id})." if label != app_id else f"{app_id} (its name could not be read)."
    )
    first_notes = [origin]
    if len(rules) > 1:
        first_notes.append(
            f"The legacy task had {len(rules)} recurrence rules and a task takes one: this is "
            f"rule 1 of {len(rules)}; the others follow in this file."
        )
    first_notes += state_notes + time_notes
    for line in unsupported:
        note = f"Not migrated: `{line}` (a task has one RRULE and nothing like EXDATE or RDATE)."
        first_notes.append(note)
        out.notes.append(note)
    if data_update_elsewhere is not None:
        note = (
            f"The legacy task also reloaded on data updates; the app's one data-update task is "
            f"{data_update_elsewhere!r}."
        )
        first_notes.append(note)
    owner = _owner_note(doc)
    if owner:
        first_notes.append(owner)
    out.notes.extend(time_notes)

    reload = {"appId": app_id, "partial": doc.get("partial") is True}
    if rules:
        base = names.base(label, SCHEDULE_SUFFIX, len(rules))
        for i, rule in enumerate(rules, start=1):
            data: dict[str, Any] = {"name": names.take(_nth(base, i, len(rules)))}
            if i == 1:
                data["migrateFrom"] = legacy_id
            data["reload"] = dict(reload)
            data["schedule"] = {"recurrence": rule, **sched}
            data["enabled"] = enabled
            comments = first_notes if i == 1 else [_extra_note(legacy_id, i, len(rules))]
            why = _disabled_because(data["schedule"], now, first=i == 1)
            if why and enabled:
                data["enabled"] = False
                comments = [*comments, f"Written disabled: {why}."]
                out.notes.append(f"{data['name']!r} is written disabled: {why}")
            elif why:
                comments = [*comments, f"Also: {why}."]
            out.documents.append(Document(data, tuple(comments)))
    if make_data_update:
        name = names.take(names.base(label, DATA_UPDATE_SUFFIX, 1))
        data_update_apps[app_id] = name
        data = {"name": name}
        comments = [
            "The legacy task reloaded the app when its data was updated (autoReload"
            + (", partial)." if doc.get("autoReloadPartial") is True else ").")
        ]
        if not enabled:
            comments.append("Kept disabled like the legacy task: enable it to reload on new data.")
        if not out.documents:
            data["migrateFrom"] = legacy_id
            comments = first_notes + comments
        data["reload"] = {"appId": app_id, "partial": doc.get("autoReloadPartial") is True}
        data["onDataUpdate"] = True
        data["enabled"] = enabled
        out.documents.append(Document(data, tuple(comments)))
    if not out.documents:
        base = names.take(names.base(label, SCHEDULE_SUFFIX, 1))
        data = {"name": base, "migrateFrom": legacy_id, "reload": reload, "enabled": enabled}
        note = "The legacy task has no schedule: this task runs on demand only."
        out.documents.append(Document(data, (*first_notes, note)))
    return out


def _extra_note(legacy_id: str, i: int, n: int) -> str:
    return f"Rule {i} of {n} of legacy reload-task {legacy_id} (the first task has migrateFrom)."


def _disabled_because(sched: Mapping[str, Any], now: datetime | None, *, first: bool) -> str | None:
    """Why the task must not be written enabled: the service would refuse its schedule, or the
    schedule has ended. None when it may run."""
    errors = [i.message for i in schedule.check(dict(sched)) if i.severity == "error"]
    if errors:
        return "the service would refuse this schedule (" + "; ".join(errors) + ")"
    if now is None or schedule.check_end_in_past(dict(sched), now) is None:
        return None
    if first:
        return (
            "its schedule has ended (endDateTime is in the past), so it would never run; move "
            "endDateTime forward and enable it, or delete this task"
        )
    return (
        "endDateTime is in the past: the service refuses to create this task (only the task "
        "that has migrateFrom is exempt); move endDateTime forward and enable it, or delete "
        "this task"
    )


def _rules(value: Any) -> tuple[list[str], list[str]]:
    """The RRULEs of a legacy `recurrence` (prefixed `RRULE:`), and the lines that are not."""
    if value is None:
        lines: list[Any] = []
    elif isinstance(value, str):
        lines = [value]
    elif isinstance(value, list | tuple):
        lines = list(value)
    else:
        return [], [f"recurrence {json.dumps(value, default=str)[:80]} (not a list of RRULEs)"]
    rules: list[str] = []
    other: list[str] = []
    for line in lines:
        text = str(line).strip()
        if not text:
            continue
        if text.upper().startswith("RRULE:"):
            rules.append("RRULE:" + text[len("RRULE:") :])
        elif text.upper().startswith("FREQ="):
            rules.append("RRULE:" + text)
        else:
            other.append(text)
    return rules, other


def _state(doc: Mapping[str, Any]) -> tuple[bool, list[str]]:
    state = str(doc.get("state") or "Enabled")
    enabled = _STATES.get(state.casefold())
    notes: list[str] = []
    if enabled is None:
        enabled = False
        notes.append(f"The legacy state {state!r} is unknown: the task is kept disabled.")
    elif state.casefold() == "completed":
        notes.append(
            "The legacy task was Completed (its schedule had ended): the task is kept disabled."
        )
    elif state.casefold() == "disabled":
        notes.append("The legacy task was Disabled: the task is kept disabled.")
    code = doc.get("disabledCode")
    if code:
        why = f"The service had disabled the legacy task: disabledCode {code}"
        log = doc.get("log")
        notes.append(why + (f" ({log})." if isinstance(log, str) and log else "."))
    return enabled, notes


def _owner_note(doc: Mapping[str, Any]) -> str | None:
    parts = [
        f"{what} ({key}) {doc[key]}"
        for key, what in (("userId", "owner"), ("spaceId", "space"))
        if isinstance(doc.get(key), str) and doc[key]
    ]
    if not parts:
        return None
    return (
        f"Legacy {' and '.join(parts)}: not carried over; the service sets the owner (whoever "
        "applies this task) and the space (the app's)."
    )
