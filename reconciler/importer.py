"""Live tasks to task files (`reconciler import`): unmanaged tasks brought into git. Pure.

A task is written in the short form when that file renders back to the live document exactly, as
plan compares them once the task is adopted: `normalize(apidoc.build(file)) == normalize(live + marker)`.
Otherwise it is written in the full form: the live document without its server-owned fields. An
upstream id that belongs to another task of git (imported now, or declared already) becomes that
task's name (`after: [{task: ...}]`, or `taskRef:` in the full form): adopting keeps its id, so the
reference stays exact. Every file is checked by reading it back through the loader.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler import apidoc, matching, model, normalize, spellings, taskfile, validate
from reconciler.load import LoadedTask, LoadResult, load_text
from reconciler.triggers import schedule_of

Form = Literal["short", "full"]


@dataclass(frozen=True, slots=True)
class Imported:
    """One live task as a file: which form, its file stem, and the document to write."""

    task_id: str
    name: str
    form: Form
    stem: str
    document: taskfile.Document
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NotImported:
    task_id: str
    name: str
    reason: str


@dataclass(slots=True)
class ImportResult:
    imported: list[Imported] = field(default_factory=list)
    skipped: list[NotImported] = field(default_factory=list)

    def of(self, form: Form) -> list[Imported]:
        return [i for i in self.imported if i.form == form]


def import_tasks(
    live: Sequence[Mapping[str, Any]],
    *,
    marker: str,
    include_managed: bool = False,
    declared: Sequence[LoadedTask] = (),
) -> ImportResult:
    """Files for the unmanaged tasks of `live` (every task with `include_managed`).

    `declared` are the tasks that task files already declare. The live task each of them is (as
    plan matches it with --adopt: by name, `renamedFrom` or `migrateFrom`) is not imported again,
    nor any other live task of a declared name, and references to them are written by name.
    """
    result = ImportResult()
    found = matching.match(declared, live, marker, adopt=True)
    files: dict[str, str] = {}
    for task in declared:
        files.setdefault(task.name, task.path)
    names_by_id = {task_id: name for name, task_id in found.ids().items()}
    chosen: list[Mapping[str, Any]] = []
    for name in dict.fromkeys(str(doc.get("name")) for doc in live):
        unmanaged = found.listing.unmanaged.get(name, [])
        group = sorted(
            [*found.listing.managed.get(name, []), *unmanaged], key=matching.oldest_first
        )
        candidates: list[dict[str, Any]] = []
        for doc in group if include_managed else unmanaged:
            holder = name if name in files else names_by_id.get(str(doc.get("id")))
            if holder is None:
                candidates.append(doc)
                continue
            result.skipped.append(
                NotImported(str(doc.get("id")), name, f"already declared in {files[holder]}")
            )
        if not candidates:
            continue
        first, *others = candidates
        chosen.append(first)
        names_by_id[str(first.get("id"))] = name
        for doc in others:
            result.skipped.append(
                NotImported(
                    str(doc.get("id")),
                    name,
                    f"another task has this name (imported: {first.get('id')}, the oldest); "
                    "names are the tasks' identity: rename one of them in the tenant",
                )
            )
    chosen.sort(key=lambda d: (str(d.get("name")).casefold(), str(d.get("id"))))
    while True:
        ids = {name: task_id for task_id, name in names_by_id.items()}
        stems = taskfile.unique_stems(str(d.get("name")) for d in chosen)
        outcomes = [
            _one(doc, stem, names_by_id, ids, marker)
            for doc, stem in zip(chosen, stems, strict=True)
        ]
        unheld = {o.task_id for o in outcomes if isinstance(o, NotImported)}
        if not unheld & set(names_by_id):
            break
        # Tasks that get no file are not in git: others refer to them by id, not by name.
        names_by_id = {i: n for i, n in names_by_id.items() if i not in unheld}
    for outcome in outcomes:
        if isinstance(outcome, NotImported):
            result.skipped.append(outcome)
        else:
            result.imported.append(outcome)
    return result


def _one(
    live: Mapping[str, Any],
    stem: str,
    names_by_id: Mapping[str, str],
    ids: Mapping[str, str],
    marker: str,
) -> Imported | NotImported:
    task_id, name = str(live.get("id")), str(live.get("name"))
    short = short_form(live, names_by_id, marker)
    why_not = "its structure has no short form"
    if short is not None:
        refusal = check(short, live, ids, marker)
        if refusal is None:
            document = taskfile.Document(short, (f"Imported from task {task_id}.",))
            return Imported(task_id, name, "short", stem, document)
        why_not = (
            f"the short form cannot say its {', '.join(refusal.fields)}"
            if refusal.kind == "differs"
            else f"the short form would not be valid ({refusal.message})"
        )
    full = full_form(live, names_by_id, marker)
    problem = check(full, live, ids, marker)
    if problem is not None and problem.kind == "unreadable":
        return NotImported(task_id, name, f"no task file can hold it: {problem.message}")
    notes = [f"full form: {why_not}"]
    comments = [f"Imported from task {task_id}, in the full form: {why_not}."]
    if problem is not None:
        notes.append(f"check it before adopting: {problem.message}")
        comments.append(f"Check it before adopting: {problem.message}.")
    document = taskfile.Document(full, tuple(comments))
    return Imported(task_id, name, "full", stem, document, tuple(notes))


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a file would not do: `unreadable` (the loader refuses it), `invalid` (validate does),
    or `differs` (it renders to something else than the live task)."""

    kind: Literal["unreadable", "invalid", "differs"]
    message: str
    fields: tuple[str, ...] = ()


def check(
    data: Mapping[str, Any], live: Mapping[str, Any], ids: Mapping[str, str], marker: str
) -> Refusal | None:
    """Why the file written for `data` would not reproduce `live` once adopted (None: it would).

    The text is read back through the loader, checked like `validate` (the names of `ids` are
    known tasks) and rendered against `ids`; that must normalise equal to `live` plus the marker.
    """
    text = taskfile.dump([taskfile.Document(data)])
    loaded = LoadResult()
    load_text("import.yaml", text.encode(), {}, loaded)
    if loaded.problems or len(loaded.tasks) != 1:
        messages = "; ".join(p.message for p in loaded.problems) or "not one task"
        return Refusal("unreadable", messages)
    task = loaded.tasks[0]
    problems = validate.validate([task], unreadable=set(ids))
    errors = [p.message for p in problems if p.severity == "error"]
    if errors:
        return Refusal("invalid", "; ".join(errors))
    desired = apidoc.build(task, ids, marker)
    adopted = {**live, "annotations": [*(live.get("annotations") or []), marker]}
    want = normalize.normalize(desired)
    have = normalize.normalize(adopted, desired=desired)
    differ = normalize.changed_fields(want, have)
    if differ:
        message = f"rendering it would change {', '.join(differ)}"
        return Refusal("differs", message, tuple(differ))
    return None


# -- the two forms ---------------------------------------------------------------------------------


def short_form(
    live: Mapping[str, Any], names_by_id: Mapping[str, str], marker: str
) -> dict[str, Any] | None:
    """The short-form data that says what `live` says, or None when its structure has none."""
    states = live.get("states") or []
    if len(states) != 1 or not isinstance(states[0], dict):
        return None
    state = states[0]
    on_events = state.get("onEvents") or []
    if len(on_events) != 1 or not isinstance(on_events[0], dict):
        return None
    actions = on_events[0].get("actions") or []
    if len(actions) != 1 or not isinstance(actions[0], dict):
        return None
    arguments = (actions[0].get("functionRef") or {}).get("arguments") or {}
    app_id, partial = arguments.get("appId"), arguments.get("partial", False)
    if not isinstance(app_id, str) or not isinstance(partial, bool):
        return None
    data: dict[str, Any] = {"name": live.get("name")}
    if live.get("description"):
        data["description"] = live["description"]
    data["reload"] = {"appId": app_id, "partial": partial}
    sched = schedule_of(live)
    if isinstance(sched, dict):
        data["schedule"] = _schedule_as_written(sched)
    elif isinstance(sched, str):
        return None
    after: list[dict[str, str]] = []
    for event in live.get("events") or []:
        if not isinstance(event, dict):
            return None
        if event.get("type") == model.DATA_UPDATED:
            data["onDataUpdate"] = True
        elif event.get("type") == model.RUN_FINISHED:
            upstream = _upstream(event, names_by_id)
            if upstream is None:
                return None
            after.append(upstream)
        else:
            return None
    if after:
        data["after"] = after
        if state.get("exclusive") is False:
            data["when"] = "all"
    data["enabled"] = live.get("enabled") is True
    extra = [a for a in live.get("annotations") or [] if a != marker]
    if extra:
        data["annotations"] = extra
    return data


def _schedule_as_written(schedule: Mapping[str, Any]) -> dict[str, Any]:
    """The schedule in the spelling a person writes, whatever the tenant stored: a local time
    without a `Z` the service appended, the RRULE with its prefix and FREQ first, cron as text."""
    out = {k: v for k, v in schedule.items() if v is not None}
    for key in ("startDateTime", "endDateTime"):
        if key in out:
            out[key] = spellings.date_time(out[key], out.get("timezone"))
    if "recurrence" in out:
        out["recurrence"] = spellings.rrule(out["recurrence"])
    if "cron" in out:
        out["cron"] = spellings.cron(out["cron"])
    return out


def _upstream(event: Mapping[str, Any], names_by_id: Mapping[str, str]) -> dict[str, str] | None:
    upstream_id, status = None, "any"
    for corr in event.get("correlation") or []:
        if corr.get("contextAttributeName") == "id":
            upstream_id = corr.get("contextAttributeValue")
        elif corr.get("contextAttributeName") == "status":
            status = str(corr.get("contextAttributeValue") or "").lower()
    if not isinstance(upstream_id, str) or status not in ("succeeded", "failed", "any"):
        return None
    name = names_by_id.get(upstream_id)
    entry = {"task": name} if name is not None else {"taskId": upstream_id}
    entry["status"] = status
    return entry


def full_form(
    live: Mapping[str, Any], names_by_id: Mapping[str, str], marker: str
) -> dict[str, Any]:
    """The live document without server-owned fields; upstream ids of git's tasks as `taskRef`."""
    data = {
        k: copy.deepcopy(v)
        for k, v in live.items()
        if k not in normalize.SERVER_OWNED and v is not None
    }
    data["enabled"] = live.get("enabled") is True
    extra = [a for a in data.pop("annotations", None) or [] if a != marker]
    if extra:
        data["annotations"] = extra
    for event in data.get("events") or []:
        if not isinstance(event, dict) or event.get("type") != model.RUN_FINISHED:
            continue
        for i, corr in enumerate(event.get("correlation") or []):
            if not isinstance(corr, dict) or corr.get("contextAttributeName") != "id":
                continue
            name = names_by_id.get(str(corr.get("contextAttributeValue")))
            if name is not None:
                event["correlation"][i] = {"contextAttributeName": "id", "taskRef": name}
    return data
