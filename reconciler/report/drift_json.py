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

from reconciler.drift import DriftReport, Finding, TaskDrift
from reconciler.report.drift_text import field_changes
from reconciler.report.plan_json import utc_timestamp

FORMAT_VERSION = "1"


def _value(value: Any) -> Any:
    return None if value is notpresent else value


def finding_json(finding: Finding) -> dict[str, Any]:
    action = finding.action
    return {
        "category": finding.category.value,
        "drift": finding.drift,
        "message": finding.message,
        "advice": finding.advice,
        "code": finding.code,
        "fields": list(action.fields) if action else [],
        "changes": [
            {"path": c.path, "tenant": _value(c.old), "git": _value(c.new)}
            for c in field_changes(finding)
        ],
        "patch": list(action.patch) if action else [],
        "run": finding.run,
        "changed_by": finding.changed_by,
        "changed_at": finding.changed_at,
    }


def task_json(task: TaskDrift) -> dict[str, Any]:
    return {
        "name": task.name,
        "origin": task.origin,
        "source": task.source,
        "task_id": task.task_id,
        "managed": task.managed,
        "owner": task.owner,
        "status": task.status,
        "findings": [finding_json(f) for f in task.findings],
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
        "tasks": [task_json(t) for t in report.tasks],
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
