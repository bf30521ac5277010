"""The drift report as a versioned JSON document: what `drift --format json` prints and `--out`
saves, for scripts and for the artifact a shortened markdown report points to.

Every task is listed, in sync or not, each with its findings; field changes read `tenant → git`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from deepdiff.helper import notpresent

from reconciler.apps import AppBook, app_name
from reconciler.drift import DriftReport, Finding, TaskDrift
from reconciler.report.drift_text import APP_CHANGE, field_changes
from reconciler.report.plan_json import utc_timestamp
from reconciler.report.plan_text import Change

FORMAT_VERSION = "1"


def _value(value: Any) -> Any:
    return None if value is notpresent else value


def change_json(change: Change, apps: AppBook) -> dict[str, Any]:
    """`path`, `tenant`, `git`; a changed app also `tenant_name` and `git_name` (null: unknown)."""
    out = {"path": change.path, "tenant": _value(change.old), "git": _value(change.new)}
    if change.path == APP_CHANGE:
        for side, value in (("tenant", change.old), ("git", change.new)):
            out[f"{side}_name"] = app_name(value, apps) if isinstance(value, str) else None
    return out


def finding_json(finding: Finding, apps: AppBook | None = None) -> dict[str, Any]:
    action = finding.action
    return {
        "category": finding.category.value,
        "drift": finding.drift,
        "message": finding.message,
        "advice": finding.advice,
        "code": finding.code,
        "fields": list(action.fields) if action else [],
        "changes": [change_json(c, apps or {}) for c in field_changes(finding)],
        "patch": list(action.patch) if action else [],
        "run": finding.run,
        "changed_by": finding.changed_by,
        "changed_at": finding.changed_at,
    }


def task_json(task: TaskDrift, apps: AppBook | None = None) -> dict[str, Any]:
    return {
        "name": task.name,
        "origin": task.origin,
        "source": task.source,
        "task_id": task.task_id,
        "managed": task.managed,
        "owner": task.owner,
        "status": task.status,
        "findings": [finding_json(f, apps) for f in task.findings],
    }


def document(
    report: DriftReport,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict; `plan` is the summary of the plan it agrees with."""
    return {
        "format_version": FORMAT_VERSION,
        "report": "drift",
        "tenant": tenant,
        "generated_at": utc_timestamp(generated_at),
        "git_commit": git_commit,
        "drifted": report.drifted,
        "strict": report.strict,
        "runs_checked": report.runs_checked,
        "summary": report.summary(),
        "plan": report.plan.summary(),
        "tasks": [task_json(t, report.apps) for t in report.tasks],
        "warnings": list(report.warnings),
        "requests": dict(requests) if requests is not None else None,
    }


def render(
    report: DriftReport,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
) -> str:
    """`document(...)` as indented JSON text, ending with a newline."""
    doc = document(
        report, tenant=tenant, generated_at=generated_at, git_commit=git_commit, requests=requests
    )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
