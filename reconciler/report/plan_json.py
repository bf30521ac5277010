"""The plan as a versioned JSON document: what `--format json` prints and what `--out` saves
(`reconciler.planfile` reads it back for `apply plan.json`).

A plan holds task documents and ids only; credentials never reach it, so none can leak here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler.insight import Insight
from reconciler.plan import Plan
from reconciler.planfile import FORMAT_VERSION


def utc_timestamp(when: datetime) -> str:
    """An aware datetime as ISO 8601 UTC with a Z, to the second: the reports' `generated_at`."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("generated_at must be an aware datetime")
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def document(
    plan: Plan,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
    insight: Insight | None = None,
) -> dict[str, Any]:
    """The plan as a JSON-ready dict: changes in apply order, conflicts apart; with `insight`,
    the preflight problems, the apps the plan names and the chained tasks schedule changes move."""
    return {
        "format_version": FORMAT_VERSION,
        "tenant": tenant,
        "generated_at": utc_timestamp(generated_at),
        "git_commit": git_commit,
        "summary": plan.summary(),
        "managed_count": plan.managed_count,
        "changes": [a.to_json() for a in plan.changes],
        "conflicts": [a.to_json() for a in plan.conflicts],
        "unmanaged": [u.to_json() for u in plan.unmanaged],
        "legacy": [t.to_json() for t in plan.legacy],
        "warnings": list(plan.warnings),
        "requests": dict(requests) if requests is not None else None,
        "problems": [p.to_json() for p in insight.problems] if insight else [],
        "apps": {k: v.to_json() for k, v in sorted(insight.apps.items())} if insight else {},
        "impact": dict(insight.impact) if insight else {},
    }


def render(
    plan: Plan,
    *,
    tenant: str | None,
    generated_at: datetime,
    git_commit: str | None,
    requests: Mapping[str, int] | None,
    insight: Insight | None = None,
) -> str:
    """`document(...)` as indented JSON text, ending with a newline."""
    doc = document(
        plan,
        tenant=tenant,
        generated_at=generated_at,
        git_commit=git_commit,
        requests=requests,
        insight=insight,
    )
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
