"""`reconciler doctor`'s output: a table a person can act on (check, expected, observed, verdict),
what to do about each warning and failure, and the `profile:` block that matches the tenant; or
the JSON document `{"checks": [...], "profile": {...}}`."""

from __future__ import annotations

import json

import yaml

from reconciler.doctor import Report, Status
from reconciler.profile import Profile

HEADERS = ("check", "expected", "observed", "verdict")
MAX_CELL = 60


def render_json(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2, ensure_ascii=False)


def render_text(
    report: Report, *, tenant: str, configured: Profile, environment: str | None, probed: bool
) -> str:
    lines = [f"reconciler doctor: {tenant}", ""]
    rows = [(c.name, _cell(c.expected), _cell(c.observed), c.status.value) for c in report.checks]
    widths = [max(len(r[i]) for r in [HEADERS, *rows]) for i in range(len(HEADERS))]
    for row in [HEADERS, *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    details = [c for c in report.checks if c.detail]
    if details:
        lines.append("")
        lines.extend(f"{c.name} ({c.status.value}): {c.detail}" for c in details)
    lines.extend(f"note: {note}" for note in report.notes)
    lines += ["", *_profile_block(report.profile, configured, environment, probed)]
    counts = {s: sum(1 for c in report.checks if c.status is s) for s in Status}
    lines += [
        "",
        f"Doctor: {counts[Status.OK]} ok, {counts[Status.WARN]} warn, {counts[Status.FAIL]} fail.",
    ]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    text = " ".join(text.split())  # one line per row, whatever the tenant answered
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 3] + "..."


def _profile_block(
    profile: Profile, configured: Profile, environment: str | None, probed: bool
) -> list[str]:
    values = {"profile": profile.model_dump()}
    if environment:
        values = {"environments": {environment: values}}
    block = yaml.safe_dump(values, sort_keys=False).rstrip()
    changed = [k for k, v in profile.model_dump().items() if configured.model_dump()[k] != v]
    if changed:
        head = (
            f"This tenant needs another profile than the one in use ({', '.join(changed)}). "
            "In reconciler.yaml:"
        )
    else:
        head = "The profile in use matches this tenant. In reconciler.yaml:"
    lines = [head, "", block]
    if not probed:
        lines += [
            "",
            "Without --probe only pageLimit was observed. `reconciler doctor --probe APP_ID` writes "
            "one disabled canary task on that app (and deletes it) to see how the tenant stores a "
            "task: where the marker lives, stateType, specVersion and statusCase.",
        ]
    return lines
