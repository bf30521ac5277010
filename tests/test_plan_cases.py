"""Table-driven plan cases: tests/cases/plan/<case>/{tasks/, live.json, expected.json}.

Each case gives task files and live documents and the actions the plan must contain, in order. An
expected action lists only the keys it checks; `reason_contains` and `after_contains` match text.
Optional files: options.json (adopt, prune, keep_legacy, targets), legacy.json (legacy listing).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.load import LoadResult, load_tree
from reconciler.plan import Options, build_plan
from reconciler.validate import validate

CASES = Path(__file__).parent / "cases" / "plan"
MARKER = "managed-by:qlik-task-reconciler"


def _read(case: Path, name: str, default: Any) -> Any:
    path = case / name
    return json.loads(path.read_text()) if path.exists() else default


@pytest.mark.parametrize("case", sorted(CASES.iterdir()), ids=lambda p: p.name)
def test_plan_case(case: Path) -> None:
    loaded: LoadResult = load_tree(case / "tasks", {}, root=case)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    assert not [p for p in validate(loaded.tasks) if p.severity == "error"]
    options = _read(case, "options.json", {})
    plan = build_plan(
        loaded.tasks,
        _read(case, "live.json", []),
        Options(
            marker=MARKER,
            adopt=options.get("adopt", False),
            prune=options.get("prune", True),
            keep_legacy=options.get("keep_legacy", False),
            targets=tuple(options.get("targets", ())),
        ),
        legacy=_read(case, "legacy.json", None),
    )
    expected = _read(case, "expected.json", {})
    got = [a.to_json() for a in plan.actions]
    assert [(a["action"], a["name"]) for a in got] == [
        (e["action"], e["name"]) for e in expected["actions"]
    ], json.dumps(got, indent=1)
    for want, have in zip(expected["actions"], got, strict=True):
        for key, value in want.items():
            if key == "reason_contains":
                assert value in have["reason"]
            elif key == "after_contains":
                assert value in json.dumps(have["after"])
            else:
                assert have[key] == value, (key, have)
    if "unmanaged" in expected:
        assert [u.name for u in plan.unmanaged] == expected["unmanaged"]
