"""Which live task each desired task is: the matching rules as a table of plain data.

A desired task is `name` or `name<-old` (renamedFrom old) or `name@legacy` (migrateFrom legacy).
A live task is `id:name` (`+` after the name: managed), then flags: `@legacy` migrated from that legacy task,
`tN` created at hour N (the oldest first). Expected matches are `how:id` (`none` for no live task).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reconciler import matching
from reconciler.load import LoadedTask, LoadResult, load_text, load_tree
from reconciler.matching import How
from reconciler.plan import Options, build_plan

MARKER = "managed-by:qlik-task-reconciler"


@dataclass(frozen=True)
class Case:
    id: str
    desired: list[str]
    live: list[str]
    expected: dict[str, str]
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (extra, kept)
    adopt: bool = False


CASES = [
    Case("nothing live: every task is new", ["A", "B"], [], {"A": "none", "B": "none"}),
    Case("a managed task of its name", ["A"], ["t1:A+"], {"A": "name:t1"}),
    Case(
        "several managed of one name: the oldest, the others are duplicates",
        ["A"],
        ["t2:A+ t2", "t1:A+ t1", "t3:A+ t3"],
        {"A": "name:t1"},
        duplicates=[("t2", "t1"), ("t3", "t1")],
    ),
    Case(
        "the same creation time: the smaller id is the oldest",
        ["A"],
        ["tb:A+ t1", "ta:A+ t1"],
        {"A": "name:ta"},
        duplicates=[("tb", "ta")],
    ),
    Case("an unmanaged task of its name: a conflict", ["A"], ["t1:A"], {"A": "conflict:t1"}),
    Case(
        "an unmanaged task of its name with --adopt: adopted, the oldest",
        ["A"],
        ["t2:A t2", "t1:A t1"],
        {"A": "adopt:t1"},
        adopt=True,
    ),
    Case(
        "a managed one of its name wins over an older unmanaged one",
        ["A"],
        ["t1:A t1", "t2:A+ t2"],
        {"A": "name:t2"},
        adopt=True,
    ),
    Case("the marker in another task's name is no marker", ["A"], ["t1:B+"], {"A": "none"}),
    Case(
        "renamedFrom takes the managed task of the old name",
        ["A<-B"],
        ["t1:B+"],
        {"A": "rename:t1"},
    ),
    Case(
        "renamedFrom: the oldest of the old name, the others are duplicates",
        ["A<-B"],
        ["t2:B+ t2", "t1:B+ t1"],
        {"A": "rename:t1"},
        duplicates=[("t2", "t1")],
    ),
    Case(
        "renamedFrom never takes an unmanaged task", ["A<-B"], ["t1:B"], {"A": "none"}, adopt=True
    ),
    Case(
        "renamedFrom a name git still declares takes nothing",
        ["A<-B", "B"],
        ["t1:B+"],
        {"A": "none", "B": "name:t1"},
    ),
    Case(
        "its own name wins over renamedFrom",
        ["A<-B"],
        ["t1:B+", "t2:A+"],
        {"A": "name:t2"},
    ),
    Case(
        "migrateFrom: the managed task the service made from the legacy task",
        ["A@L1"],
        ["t1:A1+ @L1"],
        {"A": "migrated:t1"},
    ),
    Case(
        "migrateFrom: an unmanaged one is a conflict",
        ["A@L1"],
        ["t1:A1 @L1"],
        {"A": "conflict:t1"},
    ),
    Case(
        "migrateFrom: an unmanaged one is adopted with --adopt",
        ["A@L1"],
        ["t1:A1 @L1"],
        {"A": "adopt:t1"},
        adopt=True,
    ),
    Case(
        "migrateFrom comes before an unmanaged task of its name",
        ["A@L1"],
        ["t1:A", "t2:A1+ @L1"],
        {"A": "migrated:t2"},
    ),
    Case(
        "a live task is matched once: the first desired task takes it",
        ["A<-C", "B<-C"],
        ["t1:C+"],
        {"A": "rename:t1", "B": "none"},
    ),
    Case(
        "a task taken by name is not taken again by migration",
        ["A", "B@L1"],
        ["t1:A+ @L1"],
        {"A": "name:t1", "B": "none"},
    ),
]


def _desired(spec: str) -> LoadedTask:
    name, _, origin = spec.partition("@")
    name, _, old = name.partition("<-")
    doc: dict[str, Any] = {"name": name, "reload": {"appId": "app-1"}}
    if old:
        doc["renamedFrom"] = [old]
    if origin:
        doc["migrateFrom"] = origin
    result = LoadResult()
    load_text(f"{name}.yaml", json.dumps(doc).encode(), {}, result)
    assert not result.problems, result.problems
    return result.tasks[0]


def _live(spec: str) -> dict[str, Any]:
    head, *flags = spec.split()
    task_id, _, name = head.partition(":")
    meta: dict[str, Any] = {}
    for flag in flags:
        if flag.startswith("@"):
            meta["migratedFrom"] = flag[1:]
        else:
            meta["createdAt"] = f"2026-01-01T{int(flag.removeprefix('t')):02d}:00:00Z"
    return {
        "id": task_id,
        "name": name.removesuffix("+"),
        "annotations": [MARKER] if name.endswith("+") else ["team:sales"],
        "metadata": meta,
    }


def _words(found: matching.Matching) -> dict[str, str]:
    return {
        name: "none" if m.how is How.NONE else f"{m.how.value}:{m.task_id}"
        for name, m in found.matches.items()
    }


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matching(case: Case) -> None:
    live = [_live(spec) for spec in case.live]
    found = matching.match([_desired(d) for d in case.desired], live, MARKER, adopt=case.adopt)
    assert _words(found) == case.expected
    assert [(str(extra["id"]), str(kept["id"])) for extra, kept in found.duplicates] == (
        case.duplicates
    )
    held = {m.task_id for m in found.matches.values() if m.live is not None}
    assert found.claimed == held


def test_live_specs_read_as_written() -> None:
    assert _live("t1:A1+ @L1 t3") == {
        "id": "t1",
        "name": "A1",
        "annotations": [MARKER],
        "metadata": {"migratedFrom": "L1", "createdAt": "2026-01-01T03:00:00Z"},
    }
    assert _live("t2:A")["annotations"] == ["team:sales"]


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        ([], {}),
        (["t2:A+ t2", "t1:A+ t1", "t3:B+"], {"A": "t1", "B": "t3"}),
        (["t1:A", "t2:B+"], {"B": "t2"}),  # unmanaged tasks resolve no name
    ],
)
def test_managed_ids(live: list[str], expected: dict[str, str]) -> None:
    assert matching.managed_ids([_live(spec) for spec in live], MARKER) == expected


def test_holds_is_false_for_a_conflict_and_for_no_task() -> None:
    live = [_live("t1:A"), _live("t2:B+")]
    found = matching.match([_desired("A"), _desired("B"), _desired("C")], live, MARKER)
    assert {n: m.holds for n, m in found.matches.items()} == {"A": False, "B": True, "C": False}
    assert found.ids() == {"B": "t2"}


def test_the_plan_carries_the_match_of_every_task_those_with_nothing_to_change_too() -> None:
    case = Path(__file__).parent / "cases" / "plan" / "matching-tenant-no-changes"
    loaded = load_tree(case / "tasks", {}, root=case)
    live = json.loads((case / "live.json").read_text())
    plan = build_plan(loaded.tasks, live, Options(marker=MARKER))
    assert plan.actions == []
    assert {name: (m.how, m.task_id) for name, m in plan.matches.items()} == {
        "Sales ETL": (How.NAME, "t-etl"),
        "Dashboard": (How.NAME, "t-dash"),
    }
