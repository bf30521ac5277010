"""The plan as terminal text for Qlik people, and the plain words the other plan reports share.

Pure: a Plan and the time `now` in, text out. Every line that names an action starts with the
action's symbol (+ ~ - > !) so a terminal can colour lines by their first character; every other
line starts with a space or a word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from reconciler import schedule
from reconciler.apidoc import placeholder_name
from reconciler.apps import AppBook, app_label
from reconciler.insight import Insight
from reconciler.normalize import normalize
from reconciler.plan import Action, Kind, Plan
from reconciler.report import plan_insight
from reconciler.report.owner_words import owner_lines
from reconciler.taskdoc import app_id
from reconciler.triggers import schedule_of, trigger_of

GROUP_ORDER = (Kind.CREATE, Kind.MIGRATE, Kind.UPDATE, Kind.DELETE, Kind.CONFLICT)
"""The order in which the text plan groups actions."""

FIELD_WORDS: Mapping[str, str] = {
    "start": "schedule",
    "events": "trigger",
    "states": "reload action",
    "enabled": "enabled",
    "keepActive": "keep active",
}
"""API field names in the words a Qlik person uses."""

INDENT = "    "
NOW_LABEL = "next runs now:"
AFTER_LABEL = "next runs after apply:"
_RUNS = 3
_PLACEHOLDER_IN_JSON = re.compile(r'"\(known after apply: ((?:[^"\\]|\\.)*)\)"')
_UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_ARGS_PATH = [0, "onEvents", 0, "actions", 0, "functionRef", "arguments"]
_ARG_WORDS = {"appId": "app", "partial": "partial"}


def field_label(name: str) -> str:
    return FIELD_WORDS.get(name, name)


def quote(text: str) -> str:
    """A name in double quotes, with quotes and control characters escaped."""
    return json.dumps(text, ensure_ascii=False)


def safe(text: str) -> str:
    """`text` with control and bidirectional-override characters escaped (newlines kept): names
    and values come from the tenant and must not steer the terminal."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def value_text(value: Any) -> str:
    """A field value for people: JSON, `(none)` when absent, placeholders in words."""
    if value is None or value is notpresent:
        return "(none)"
    name = placeholder_name(value)
    if name is not None:
        return f"{quote(name)} (known after apply)"
    text = json.dumps(value, ensure_ascii=False)
    return _PLACEHOLDER_IN_JSON.sub(r'"\1" (known after apply)', text)


@dataclass(frozen=True, slots=True)
class Change:
    """One inner value that an update changes: `path: old → new`."""

    path: str
    old: Any
    new: Any

    def __str__(self) -> str:
        return f"{self.path}: {value_text(self.old)} → {value_text(self.new)}"


def _path_key(path: list[Any]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


def _inner_path(field: str, path: list[Any]) -> str:
    label = field_label(field)
    if field == "start" and path[:1] == ["schedule"]:
        path = path[1:]
    elif field == "states" and path[:-1] == _ARGS_PATH and path[-1] in _ARG_WORDS:
        path = [_ARG_WORDS[path[-1]]]
    return label + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def changes(action: Action) -> list[Change]:
    """The inner values an update changes, field by field (FIELD_ORDER), paths sorted.

    Both sides are compared normalised, as the plan compared them: a default the service fills in
    (`actionMode`, `exclusive`, ...) is not a change a person needs to read about.
    """
    before, after = action.before or {}, action.after or {}
    out: list[Change] = []
    for field in action.fields or sorted(set(before) | set(after)):
        # Field by field, the live side against what git states in that field: rules that
        # relabel across fields (event names and the eventRefs naming them) stay out of the way.
        wanted = {field: after[field]} if field in after else {}
        old = (
            normalize({field: before[field]}, desired=wanted).get(field)
            if field in before
            else None
        )
        new = normalize(wanted).get(field) if field in after else None
        if old is None or new is None or type(old) is not type(new):
            if old != new:
                out.append(Change(field_label(field), old, new))
            continue
        diff = DeepDiff(old, new, view="tree")
        levels = [level for report in diff.values() for level in report]
        levels.sort(key=lambda lv: _path_key(lv.path(output_format="list")))
        for level in levels:
            path = level.path(output_format="list")
            old_raw = _as_written(before.get(field), path, level.t1)
            new_raw = _as_written(after.get(field), path, level.t2)
            out.append(Change(_inner_path(field, path), old_raw, new_raw))
    return out


def _as_written(raw: Any, path: list[Any], normalised: Any) -> Any:
    """The value at `path` as the document spells it (an RRULE as the user wrote it, say), or
    the normalised value where the path runs through a list (sorted lists change places)."""
    if normalised is notpresent or any(isinstance(p, int) for p in path):
        return normalised
    for key in path:
        if not isinstance(raw, dict) or key not in raw:
            return normalised
        raw = raw[key]
    return raw if isinstance(normalised, str) and isinstance(raw, str) else normalised


# -- what a task document does, in words ----------------------------------------------------


def format_run(when: datetime) -> str:
    """`2026-11-23 06:00 CET` (seconds only when there are some)."""
    clock = "%H:%M:%S" if when.second else "%H:%M"
    zone = when.tzname() or when.strftime("%z")
    return f"{when.strftime('%Y-%m-%d ' + clock)} {zone}".rstrip()


def runs_text(value: Any, now: datetime, enabled: bool | None = None) -> str:
    """The next three runs of a schedule after `now`, in the schedule's time zone."""
    if enabled is False:
        return "none (disabled)"
    try:
        runs = schedule.next_runs(value, now, count=_RUNS)
    except ValueError as exc:  # a live schedule the service accepted but we cannot expand
        return f"cannot be computed ({exc})"
    return ", ".join(format_run(r) for r in runs) if runs else "none (the schedule has ended)"


def names_by_id(plan: Plan) -> dict[str, str]:
    """Task ids the plan knows, to name upstreams: tasks it touches and unmanaged ones."""
    names = {u.id: u.name for u in plan.unmanaged}
    names.update({a.task_id: a.name for a in plan.actions if a.task_id})
    return names


def upstream_text(value: str, names: Mapping[str, str]) -> str:
    placeholder = placeholder_name(value)
    if placeholder is not None:
        return f"{quote(placeholder)} (known after apply)"
    if value in names:
        return quote(names[value])
    return f"task {value}"


def trigger_words(
    doc: Mapping[str, Any], names: Mapping[str, str], nothing: str = "on demand only"
) -> str:
    """What starts the task: a schedule, upstream tasks, a data update, or only a person
    (`nothing`: the words when `doc` shows no trigger)."""
    parts: list[str] = []
    trigger = trigger_of(doc)
    if trigger.schedule is not None:
        parts.append(f"schedule, {schedule.describe(trigger.schedule)}")
    ups = [f"{upstream_text(u, names)} ({s})" for u, s in trigger.upstreams]
    if len(ups) == 1:
        parts.append(f"after {ups[0]}")
    elif ups:
        exclusive = trigger.exclusive
        which = "any of " if exclusive is True else "all of " if exclusive is False else ""
        parts.append(f"after {which}{', '.join(ups)}")
    if trigger.data_update:
        parts.append("on data update")
    return "; ".join(parts) or nothing


def task_lines(
    doc: Mapping[str, Any],
    names: Mapping[str, str],
    runs: Iterable[str] = (),
    apps: AppBook | None = None,
) -> list[str]:
    """What a task is: its app (by name when `apps` knows it), its trigger (then `runs`, the
    schedule lines), whether it is enabled."""
    lines: list[str] = []
    app = app_id(doc)
    if app:
        label = app_label(app, apps or {})
        lines.append(f"app {label}" + (" (partial reload)" if _partial(doc) else ""))
    lines.append(f"trigger: {trigger_words(doc, names)}")
    lines.extend(runs)
    if "enabled" in doc:
        lines.append("enabled: yes" if doc["enabled"] else "enabled: no (it will not run)")
    return lines


def _partial(doc: Mapping[str, Any]) -> bool:
    for state in doc.get("states") or []:
        for on_event in state.get("onEvents") or []:
            for act in on_event.get("actions") or []:
                if ((act.get("functionRef") or {}).get("arguments") or {}).get("partial"):
                    return True
    return False


def schedule_lines(action: Action, now: datetime) -> list[str]:
    """Schedule words and the next three runs: after apply for a create, now for a delete, both
    for an update that changes the schedule."""
    before, after = action.before or {}, action.after or {}
    if action.creates:
        sched = schedule_of(after)
        if sched is None:
            return []
        return [f"{AFTER_LABEL} {runs_text(sched, now, after.get('enabled'))}"]
    if action.kind is Kind.DELETE:
        sched = schedule_of(before)
        if sched is None:
            return []
        return [f"{NOW_LABEL} {runs_text(sched, now, before.get('enabled'))}"]
    if action.kind is not Kind.UPDATE or "start" not in action.fields:
        return []
    old, new = schedule_of(before), schedule_of(after)
    lines = [str(schedule_change_line(action))]
    width = len(AFTER_LABEL)
    if old is not None:
        lines.append(f"{NOW_LABEL:<{width}} {runs_text(old, now, before.get('enabled'))}")
    if new is not None:
        lines.append(f"{AFTER_LABEL} {runs_text(new, now, after.get('enabled'))}")
    return lines


def schedule_change_line(action: Action) -> str | None:
    """`schedule: <before> → <after>` in words, for an update that changes the schedule."""
    if action.kind is not Kind.UPDATE or "start" not in action.fields:
        return None
    words = [
        schedule.describe(s) if s is not None else "no schedule"
        for s in (schedule_of(action.before), schedule_of(action.after))
    ]
    return f"schedule: {words[0]} → {words[1]}"


def trigger_change_line(action: Action, names: Mapping[str, str]) -> str | None:
    """`trigger: <before> → <after>` in words, for an update that changes its chain."""
    if action.kind is not Kind.UPDATE or "events" not in action.fields:
        return None
    # Without the schedule in the update, the words can only speak of the chain.
    nothing = "on demand only" if "start" in action.fields else "no upstream tasks"
    words = [
        trigger_words({k: doc.get(k) for k in ("start", "events")}, names, nothing)
        for doc in (action.before or {}, action.after or {})
    ]
    return f"trigger: {words[0]} → {words[1]}"


def patch_line(action: Action) -> str | None:
    if not action.patch:
        return None
    return "patch: " + ", ".join(f"{op.get('op')} {op.get('path')}" for op in action.patch)


def what_lines(
    action: Action, now: datetime, names: Mapping[str, str], apps: AppBook | None = None
) -> list[str]:
    """In words: what a created or deleted task is, or what an update changes; with schedules."""
    runs = schedule_lines(action, now)
    if action.creates and action.after:
        return task_lines(action.after, names, runs, apps)
    if action.kind is Kind.DELETE and action.before:
        return task_lines(action.before, names, runs, apps)
    lines = [str(c) for c in changes(action)] if action.kind is Kind.UPDATE else []
    trigger = trigger_change_line(action, names)
    return lines + ([trigger] if trigger else []) + runs


def header(action: Action) -> str:
    """`+ create "Sales ETL"  (tasks/sales.yaml)`: symbol, action, name, file (or task id)."""
    where = action.source or (f"id {action.task_id}" if action.task_id else "")
    line = f"{action.symbol} {action.kind.value} {quote(action.name)}"
    return f"{line}  ({quote(where)[1:-1]})" if where else line


def detail_lines(
    action: Action, now: datetime, names: Mapping[str, str], insight: Insight | None = None
) -> list[str]:
    """Everything below an action's header line, unindented."""
    lines = [action.reason] if action.reason else []
    lines += owner_lines(action)
    lines += what_lines(action, now, names, insight.apps if insight else None)
    moved = plan_insight.impact_line(action, insight)
    if moved:
        lines.append(moved)
    if action.kind is Kind.UPDATE:
        lines += [line for line in (patch_line(action),) if line]
    if action.delete_legacy and action.kind is not Kind.MIGRATE:
        lines.append(f"then deletes legacy reload-task {action.delete_legacy}")
    return lines


def _indented(text: str) -> str:
    """`text` indented, its continuation lines too: no line of it can pass for a header."""
    return INDENT + text.replace("\n", "\n" + INDENT)


def _listing(title: str, items: Iterable[str]) -> list[str]:
    items = list(items)
    return [title, *(_indented(i) for i in items), ""] if items else []


def render(
    plan: Plan,
    *,
    now: datetime,
    tenant: str | None = None,
    requests: int | None = None,
    insight: Insight | None = None,
) -> str:
    """The terminal plan: preflight problems, actions grouped by kind, then what is not managed,
    then the summary. `insight` names apps and upstream tasks outside the plan."""
    names = {**(insight.task_names if insight else {}), **names_by_id(plan)}
    apps = insight.apps if insight else {}
    lines: list[str] = [f"Tenant: {quote(tenant)[1:-1]}", ""] if tenant else []
    lines += _listing(f"{plan_insight.PROBLEMS_TITLE}:", plan_insight.problem_lines(insight))
    for kind in GROUP_ORDER:
        for action in plan.of(kind):
            lines.append(header(action))
            lines += [_indented(line) for line in detail_lines(action, now, names, insight)]
            lines.append("")
    lines += _listing(
        f"Unmanaged tasks ({len(plan.unmanaged)}), not managed: never changed:",
        [
            f"{quote(u.name)}  (id {u.id}"
            + (f", {plan_insight.app_detail(u.detail, apps)})" if u.detail else ")")
            for u in plan.unmanaged
        ],
    )
    lines += _listing(
        f"Legacy reload-tasks not migrated ({len(plan.legacy)}):",
        [
            f"{t.id}  app {app_label(t.name, apps)}" + (f": {t.detail}" if t.detail else "")
            for t in plan.legacy
        ],
    )
    lines += _listing(
        "Reload collisions this change brings (next 24 h):",
        plan_insight.collision_lines(insight.day if insight else None, apps, only_new=True),
    )
    lines += _listing("Warnings:", plan.warnings)
    last = plan.summary_line()
    if requests is not None:
        last += f" ({requests} API request{'' if requests == 1 else 's'})"
    lines.append(last)
    return safe("\n".join(lines)) + "\n"
