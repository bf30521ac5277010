"""Desired tasks + live tasks (+ last runs, + legacy reload-tasks) → a DriftReport: per task, how the
tenant differs from git, in plain words, with what to do about it.

Pure: everything comes in as data; nothing is read or sent here. Modified, missing, removed and
conflicting tasks are read off `build_plan`'s actions, and the live task of each task of git off its
matches, so drift and plan never disagree. Terminology:

- finding: one way one task differs (a task may have several: disabled and failing, say).
- drift: a finding that means the tenant does not match git (`--detailed-exitcode` exits 2).
- listed: unmanaged tasks and legacy reload-tasks are reported but are not drift (unless strict):
  git never claimed them.

The report's value types are owned by `reconciler.drift_findings` and re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import apidoc, hub_renames, json_pointer, normalize
from reconciler.disabled import by_hand, explain_disabled
from reconciler.drift_findings import (
    ADVICE,
    CATEGORY_ORDER,
    LISTED,
    Category,
    DriftReport,
    Finding,
    TaskDrift,
)
from reconciler.ignore import IgnoreRule
from reconciler.live import Live
from reconciler.load import LoadedTask
from reconciler.owners import Owners, annotate
from reconciler.ownership import is_managed
from reconciler.plan import Action, Kind, Options, Plan, build_plan

__all__ = [
    "ADVICE",
    "CATEGORY_ORDER",
    "LISTED",
    "Category",
    "DriftReport",
    "Finding",
    "TaskDrift",
    "build_report",
    "last_run_of",
]


def last_run_of(doc: Mapping[str, Any]) -> dict[str, Any] | None:
    """The last run a live task document knows of (`metadata.orchestration.lastRun`, else the
    `last_run_*` attributes), or None."""
    orchestration = (doc.get("metadata") or {}).get("orchestration")
    if not isinstance(orchestration, dict):
        return None
    last = orchestration.get("lastRun")
    if isinstance(last, dict) and last.get("status"):
        return dict(last)
    attrs = orchestration.get("attrs")
    if isinstance(attrs, dict) and attrs.get("last_run_status"):
        run: dict[str, Any] = {"status": attrs["last_run_status"]}
        for key, attr in (("startedAt", "last_run_startedAt"), ("endedAt", "last_run_endedAt")):
            if attrs.get(attr):
                run[key] = attrs[attr]
        return run
    return None


_RUN_KEYS = ("id", "status", "startedAt", "endedAt", "triggeredBy", "workerId")


def _failing(
    doc: Mapping[str, Any], runs: Mapping[str, Mapping[str, Any] | None] | None
) -> Finding | None:
    task_id = str(doc.get("id"))
    if runs is not None and task_id in runs:
        fetched = runs[task_id]
        run = dict(fetched) if fetched is not None else None
    else:
        run = last_run_of(doc)
    if run is None or str(run.get("status", "")).upper() != "FAILED":
        return None
    kept = {k: run[k] for k in _RUN_KEYS if run.get(k) is not None}
    when = f", started {kept['startedAt']}" if "startedAt" in kept else ""
    which = f" (run {kept['id']}{when})" if "id" in kept else (f" ({when[2:]})" if when else "")
    return Finding(
        Category.FAILING,
        f"the last run failed{which}",
        ADVICE[Category.FAILING],
        code="FAILED",
        run=kept,
    )


def _disabled(doc: Mapping[str, Any], want_enabled: bool) -> str | None:
    code = (doc.get("metadata") or {}).get("disabledCode")
    if not want_enabled or doc.get("enabled") is True or not code:
        return None
    return str(code)


def _only(action: Action, fields: list[str]) -> Action:
    """`action` narrowed to `fields`: its before, after and patch too."""
    pointers = {json_pointer.join([f]) for f in fields}
    return dataclasses.replace(
        action,
        fields=list(fields),
        before={k: v for k, v in (action.before or {}).items() if k in fields},
        after={k: v for k, v in (action.after or {}).items() if k in fields},
        patch=[op for op in action.patch if op.get("path") in pointers],
    )


def _git_findings(
    task: LoadedTask,
    action: Action | None,
    live: Mapping[str, Any] | None,
    marker: str,
) -> list[Finding]:
    """Findings of one task of git: from its plan action, and from its live document."""
    findings: list[Finding] = []
    code = None
    if live is not None:
        wanted = normalize.normalize(apidoc.build(task, {}, marker)).get("enabled") is True
        code = _disabled(live, wanted)
    if code is not None:
        why, what = explain_disabled(code)
        narrowed = _only(action, ["enabled"]) if action and "enabled" in action.fields else None
        category = Category.DISABLED_BY_HAND if by_hand(code) else Category.DISABLED
        findings.append(Finding(category, why, what, code=code, action=narrowed))
    if action is None:
        return findings
    if action.kind is Kind.CONFLICT:
        findings.append(Finding(Category.CONFLICT, action.reason, ADVICE[Category.CONFLICT]))
    elif action.creates:
        message = "in git, not in the tenant"
        if action.kind is Kind.MIGRATE:
            message += f"; apply migrates legacy reload-task {action.migrate_from}"
        elif action.reason != "not in the tenant":
            message += action.reason.removeprefix("not in the tenant")
        findings.append(Finding(Category.MISSING, message, ADVICE[Category.MISSING], action=action))
    elif action.kind is Kind.MIGRATE:
        findings.append(
            Finding(
                Category.LEGACY,
                action.reason,
                "run `reconciler apply`: it deletes the legacy reload-task (or pass --keep-legacy "
                "to keep it)",
                action=action,
            )
        )
    elif action.kind is Kind.UPDATE:
        fields = [f for f in action.fields if not (code is not None and f == "enabled")]
        if fields:
            narrowed = action if fields == action.fields else _only(action, fields)
            message = (
                action.reason
                if fields == action.fields
                else f"differs from git: {', '.join(fields)}"
            )
            if action.delete_legacy:
                message += f"; apply also deletes legacy reload-task {action.delete_legacy}"
            findings.append(
                Finding(Category.MODIFIED, message, ADVICE[Category.MODIFIED], action=narrowed)
            )
    return findings


def _legacy_words(doc: Mapping[str, Any]) -> str:
    parts = [f"app {doc.get('appId') or '?'}"]
    if doc.get("state"):
        parts.append(f"state {doc['state']}")
    recurrence = doc.get("recurrence")
    if isinstance(recurrence, list) and recurrence:
        parts.append(f"{len(recurrence)} schedule{'s' if len(recurrence) > 1 else ''}")
    if doc.get("autoReload"):
        parts.append("reloads on data update")
    return ", ".join(parts)


def build_report(
    tasks: Sequence[LoadedTask],
    state: Live,
    *,
    marker: str,
    strict: bool = False,
    ignore_rules: tuple[IgnoreRule, ...] = (),
    owners: Owners | None = None,
) -> DriftReport:
    """How the live state differs from `tasks`. `state.legacy` is None when the tenant has no
    legacy listing; `state.last_runs` maps task ids to their last run (None: never ran) when runs
    were read one by one, and overrides what the task documents say of their last run."""
    live, legacy, runs = state.tasks, state.legacy, state.last_runs
    options = Options(marker=marker, ignore_rules=ignore_rules)
    plan = build_plan(tasks, live, options, legacy=legacy)
    if owners is not None:
        annotate(plan, tasks, live, owners)
    renamed = {r.name: r for r in hub_renames.find(plan)}
    report = DriftReport(plan=plan, runs_checked=runs is not None, strict=strict)
    report.warnings.extend(plan.warnings)
    managed = {str(d.get("id")): d for d in live if is_managed(d, marker)}
    report.tasks.extend(_git_entries(tasks, plan, marker, runs))
    _renames(report.tasks, renamed, managed, runs)
    gone = {r.task_id for r in renamed.values()}
    for action in plan.of(Kind.DELETE):
        if action.task_id in gone:
            continue
        entry = TaskDrift(action.name, "tenant", task_id=action.task_id)
        entry.findings.append(
            Finding(Category.REMOVED, action.reason, ADVICE[Category.REMOVED], action=action)
        )
        found = managed.get(str(action.task_id))
        failing = _failing(found, runs) if found is not None else None
        entry.findings.extend([failing] if failing else [])
        report.tasks.append(entry)
    conflicts = {str(a.task_id) for a in plan.conflicts}
    for remote in plan.unmanaged:
        if remote.id in conflicts:  # reported as the conflict of the task of git
            continue
        where = f" ({remote.detail})" if remote.detail else ""
        finding = Finding(
            Category.UNMANAGED,
            f"in the tenant, not managed by git{where}",
            ADVICE[Category.UNMANAGED],
            drift=strict,
        )
        report.tasks.append(TaskDrift(remote.name, "tenant", None, remote.id, False, [finding]))
    legacy_by_id = {str(d.get("id")): d for d in legacy or []}
    for remote in plan.legacy:
        doc = legacy_by_id.get(remote.id, {})
        finding = Finding(
            Category.LEGACY,
            f"not migrated ({_legacy_words(doc)})",
            ADVICE[Category.LEGACY],
            drift=strict,
            code=str(doc["state"]) if doc.get("state") else None,
        )
        name = f"legacy reload-task {remote.id}"
        report.tasks.append(TaskDrift(name, "legacy", None, remote.id, False, [finding]))
    _who_changed(report.tasks, {str(d.get("id")): d for d in live}, owners)
    return report


def _renames(
    entries: Sequence[TaskDrift],
    renamed: Mapping[str, hub_renames.HubRename],
    managed: Mapping[str, Mapping[str, Any]],
    runs: Mapping[str, Mapping[str, Any] | None] | None,
) -> None:
    """A task of git renamed in the hub: one rename, not a task missing and one removed."""
    for entry in entries:
        rename = renamed.get(entry.name)
        if rename is None:
            continue
        missing = entry.finding(Category.MISSING)
        entry.findings = [f for f in entry.findings if f is not missing]
        entry.task_id = rename.task_id
        entry.findings.append(
            Finding(
                Category.RENAMED,
                f"renamed in the hub to {rename.hub_name!r} (same id {rename.task_id})",
                ADVICE[Category.RENAMED],
                action=missing.action if missing else None,
            )
        )
        doc = managed.get(rename.task_id)
        failing = _failing(doc, runs) if doc is not None else None
        entry.findings.extend([failing] if failing else [])


def _who_changed(
    entries: Sequence[TaskDrift],
    managed: Mapping[str, Mapping[str, Any]],
    owners: Owners | None,
) -> None:
    """Whose each task is, and who changed each drifted one last and when, where the service
    says."""
    for entry in entries:
        meta = (managed.get(entry.task_id or "") or {}).get("metadata")
        if not isinstance(meta, dict):
            continue
        owner = owners.ids.person(meta.get("ownerId")) if owners else None
        entry.owner = owner.to_json() if owner else None
        person = owners.ids.person(meta.get("updatedBy")) if owners else None
        who = person.to_json() if person else None
        if who is None and meta.get("updatedBy"):
            who = {"id": str(meta["updatedBy"]), "name": str(meta["updatedBy"])}
        when = str(meta["updatedAt"]) if meta.get("updatedAt") else None
        for finding in entry.findings:
            if finding.drift and finding.category is not Category.FAILING:
                finding.changed_by, finding.changed_at = who, when


def _git_entries(
    tasks: Sequence[LoadedTask],
    plan: Plan,
    marker: str,
    runs: Mapping[str, Mapping[str, Any] | None] | None,
) -> list[TaskDrift]:
    """One entry per task of git, with the live task the plan matched it to (if any)."""
    own = {a.name: a for a in plan.actions if a.kind is not Kind.DELETE}
    entries: list[TaskDrift] = []
    for task in tasks:
        action = own.get(task.name)
        match = plan.matches.get(task.name)
        doc = match.live if match is not None and match.holds else None
        entry = TaskDrift(
            task.name,
            "git",
            source=task.path,
            task_id=str(doc["id"]) if doc else action.task_id if action else None,
            managed=action is None or action.kind is not Kind.CONFLICT,
            findings=_git_findings(task, action, doc, marker),
        )
        failing = _failing(doc, runs) if doc is not None else None
        entry.findings.extend([failing] if failing else [])
        entries.append(entry)
    return entries
