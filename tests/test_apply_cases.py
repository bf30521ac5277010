"""apply against the in-memory port, one row a case: the tenant before (a tree an earlier apply
made, and how the tenant behaves), the task files the plan is made from -> the writes apply makes,
the order some of them must keep, each action's outcome, and the tasks the tenant holds after."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from reconciler.apply import ApplyResult, Outcome, apply_plan
from reconciler.errors import GuardRefusedError
from reconciler.model import MARKER
from reconciler.ownership import is_managed
from reconciler.plan import Action, Options, Plan, build_plan
from tests.conftest import APP_A, tasks_from
from tests.fake_tasks import Behaviour, FakeTasks, seed

EXTRACT = f"""
name: extract
reload: {{appId: {APP_A}}}
schedule: {{recurrence: "RRULE:FREQ=DAILY;BYHOUR=6", timezone: Europe/Zurich}}
"""
LOAD = f"""
name: load
reload: {{appId: {APP_A}}}
after: [extract]
"""
REPORT = f"""
name: report
reload: {{appId: {APP_A}}}
after: [load]
"""
AUDIT = f"""
name: audit
reload: {{appId: {APP_A}}}
schedule: {{recurrence: "RRULE:FREQ=WEEKLY;BYDAY=MO", timezone: UTC}}
"""
LOAD_AFTER_AUDIT = LOAD.replace("[extract]", "[audit]")
EXTRACT_AT_7 = EXTRACT.replace("BYHOUR=6", "BYHOUR=7")
MIGRATED = EXTRACT + "migrateFrom: L1\n"
PAUSED = AUDIT + "enabled: false\n"


def tree(*docs: str) -> str:
    return "---".join(docs)


@dataclass(frozen=True)
class Case:
    id: str
    given: str  # the tasks an earlier apply made
    wanted: str  # the task files the plan is made from
    writes: list[str]  # every write apply sends, in any order
    outcome: dict[str, str]  # action name -> done, failed or skipped
    after: list[str]  # the task names the tenant holds afterwards
    tenant: Behaviour = field(default_factory=Behaviour)
    order: list[tuple[str, str]] = field(default_factory=list)  # write a is sent before write b
    notes: dict[str, str] = field(default_factory=dict)  # action name -> words of its detail
    stopped: bool = False
    hidden: str = ""  # tasks the tenant holds that the listing the plan was made from left out
    legacy: tuple[str, ...] = ()  # legacy reload-task ids the tenant holds
    unmanaged: tuple[str, ...] = ()  # tasks of `given` without the marker
    migrated: dict[str, str] = field(default_factory=dict)  # task of `given` -> its legacy id
    adopt: bool = False  # plan and apply with --adopt
    parallelism: int = 4


CASES = [
    Case(
        "nothing to do",
        given=tree(EXTRACT, LOAD),
        wanted=tree(EXTRACT, LOAD),
        writes=[],
        outcome={},
        after=["extract", "load"],
    ),
    Case(
        "creates: an upstream before the task that waits for its id",
        given="",
        wanted=tree(REPORT, LOAD, EXTRACT, AUDIT),
        writes=["create extract", "create load", "create report", "create audit"],
        order=[("create extract", "create load"), ("create load", "create report")],
        outcome={"extract": "done", "load": "done", "report": "done", "audit": "done"},
        notes={"extract": "id new-extract"},
        after=["audit", "extract", "load", "report"],
    ),
    Case(
        "update: one patch of what changed",
        given=tree(EXTRACT, LOAD),
        wanted=tree(EXTRACT_AT_7, LOAD),
        writes=["patch live-extract /start"],
        outcome={"extract": "done"},
        notes={"extract": "patched"},
        after=["extract", "load"],
    ),
    Case(
        "deletes: a downstream before its upstream",
        given=tree(EXTRACT, LOAD, REPORT, AUDIT),
        wanted="",
        writes=[
            "delete live-report",
            "delete live-load",
            "delete live-extract",
            "delete live-audit",
        ],
        order=[
            ("delete live-report", "delete live-load"),
            ("delete live-load", "delete live-extract"),
        ],
        outcome={"extract": "done", "load": "done", "report": "done", "audit": "done"},
        after=[],
    ),
    Case(
        "creates and updates before deletes",
        given=tree(EXTRACT, AUDIT),
        wanted=tree(EXTRACT_AT_7, LOAD),
        writes=["create load", "patch live-extract /start", "delete live-audit"],
        order=[
            ("create load", "delete live-audit"),
            ("patch live-extract /start", "delete live-audit"),
        ],
        outcome={"load": "done", "extract": "done", "audit": "done"},
        after=["extract", "load"],
    ),
    Case(
        "at most `parallelism` actions at once",
        given="",
        wanted=tree(
            EXTRACT, AUDIT, AUDIT.replace("audit", "audit 2"), AUDIT.replace("audit", "audit 3")
        ),
        writes=["create extract", "create audit", "create audit 2", "create audit 3"],
        outcome={"extract": "done", "audit": "done", "audit 2": "done", "audit 3": "done"},
        after=["audit", "audit 2", "audit 3", "extract"],
        parallelism=2,
    ),
    Case(
        "enabled after create when the service makes it disabled",
        given="",
        wanted=tree(EXTRACT, PAUSED),
        tenant=Behaviour(create_disabled=True),
        writes=["create extract", "patch new-extract /enabled", "create audit"],
        order=[("create extract", "patch new-extract /enabled")],
        outcome={"extract": "done", "audit": "done"},
        notes={"extract": "enabled"},
        after=["audit", "extract"],
    ),
    Case(
        "migrate: the legacy task goes last, once every change is done",
        given=AUDIT,
        wanted=tree(MIGRATED, LOAD),
        legacy=("L1",),
        writes=["create extract from L1", "create load", "delete live-audit", "delete legacy L1"],
        order=[
            ("create extract from L1", "delete legacy L1"),
            ("delete live-audit", "delete legacy L1"),
        ],
        outcome={"extract": "done", "load": "done", "audit": "done"},
        notes={"extract": "deleted legacy reload-task L1"},
        after=["extract", "load"],
    ),
    Case(
        "migrate: an incomplete apply keeps the legacy task",
        given="",
        wanted=tree(MIGRATED, AUDIT),
        legacy=("L1",),
        tenant=Behaviour(fail={"create audit": 500}),
        writes=["create extract from L1", "create audit"],
        outcome={"extract": "done", "audit": "failed"},
        notes={"extract": "kept legacy reload-task L1"},
        after=["extract"],
    ),
    Case(
        "migrate: finishing a migration made earlier deletes the legacy task",
        given=MIGRATED,
        migrated={"extract": "L1"},
        wanted=MIGRATED,
        legacy=("L1",),
        writes=["delete legacy L1"],
        outcome={"extract": "done"},
        notes={"extract": "deleted legacy reload-task L1"},
        after=["extract"],
    ),
    Case(
        "migrate: a legacy task that cannot be deleted fails its migration",
        given="",
        wanted=MIGRATED,
        legacy=("L1",),
        tenant=Behaviour(fail={"delete legacy L1": 500}),
        writes=["create extract from L1", "delete legacy L1"],
        outcome={"extract": "failed"},
        notes={"extract": "deleting legacy reload-task L1 failed"},
        after=["extract"],
    ),
    Case(
        "adopt: the patch adds the marker",
        given=tree(EXTRACT, AUDIT),
        unmanaged=("extract",),
        wanted=EXTRACT_AT_7,
        adopt=True,
        writes=["patch live-extract /annotations,/start", "delete live-audit"],
        outcome={"extract": "done", "audit": "done"},
        after=["extract"],
    ),
    Case(
        "adopt: a tenant that does not keep the marker stops apply",
        given=EXTRACT,
        unmanaged=("extract",),
        wanted=tree(EXTRACT_AT_7, AUDIT),
        adopt=True,
        tenant=Behaviour(drop_marker=True, fail={"create audit": 500}),
        writes=["create audit", "patch live-extract /annotations,/start"],
        outcome={"audit": "failed", "extract": "failed"},
        notes={"extract": "adopted"},
        stopped=True,
        after=["extract"],
    ),
    Case(
        "a failed create: its downstreams are skipped, the others go on",
        given=AUDIT,
        wanted=tree(EXTRACT, LOAD, REPORT, AUDIT.replace("WEEKLY", "MONTHLY")),
        tenant=Behaviour(fail={"create extract": 503}),
        writes=["create extract", "patch live-audit /start"],
        outcome={"extract": "failed", "load": "skipped", "report": "skipped", "audit": "done"},
        notes={"load": "extract", "report": "load"},
        after=["audit"],
    ),
    Case(
        "an update that needs a failed create's id is skipped, and the task it runs after is kept",
        given=tree(EXTRACT, LOAD),
        wanted=tree(AUDIT, LOAD_AFTER_AUDIT),
        tenant=Behaviour(fail={"create audit": 500}),
        writes=["create audit"],
        outcome={"audit": "failed", "load": "skipped", "extract": "skipped"},
        notes={"load": "audit", "extract": "kept: load still runs after it"},
        after=["extract", "load"],
    ),
    Case(
        "a failed update keeps the task it still runs after",
        given=tree(EXTRACT, LOAD, AUDIT),
        wanted=tree(AUDIT, LOAD_AFTER_AUDIT),
        tenant=Behaviour(fail={"patch live-load /events": 500}),
        writes=["patch live-load /events"],
        outcome={"load": "failed", "extract": "skipped"},
        notes={"extract": "kept: load still runs after it"},
        after=["audit", "extract", "load"],
    ),
    Case(
        "an update that moves a task off its upstream goes before the upstream's delete",
        given=tree(EXTRACT, LOAD, AUDIT),
        wanted=tree(AUDIT, LOAD_AFTER_AUDIT),
        writes=["patch live-load /events", "delete live-extract"],
        order=[("patch live-load /events", "delete live-extract")],
        outcome={"load": "done", "extract": "done"},
        after=["audit", "load"],
    ),
    Case(
        "a kept delete keeps the deletes of its upstreams",
        given=tree(EXTRACT, LOAD, REPORT),
        wanted=tree(AUDIT, REPORT.replace("[load]", "[audit]")),
        tenant=Behaviour(fail={"create audit": 500}),
        writes=["create audit"],
        outcome={"audit": "failed", "report": "skipped", "load": "skipped", "extract": "skipped"},
        notes={"load": "kept: report still runs after it", "extract": "depends on load"},
        after=["extract", "load", "report"],
    ),
    Case(
        "a failed update of a task that does not run after it keeps no delete",
        given=tree(EXTRACT, AUDIT),
        wanted=AUDIT.replace("WEEKLY", "MONTHLY"),
        tenant=Behaviour(fail={"patch live-audit /start": 500}),
        writes=["patch live-audit /start", "delete live-extract"],
        outcome={"audit": "failed", "extract": "done"},
        after=["audit"],
    ),
    Case(
        "a failed adoption keeps the task the adopted one still runs after",
        given=tree(EXTRACT, LOAD, AUDIT),
        unmanaged=("load",),
        wanted=tree(AUDIT, LOAD_AFTER_AUDIT),
        adopt=True,
        tenant=Behaviour(fail={"patch live-load /annotations,/events": 500}),
        writes=["patch live-load /annotations,/events"],
        outcome={"load": "failed", "extract": "skipped"},
        notes={"extract": "kept: load still runs after it"},
        after=["audit", "extract", "load"],
    ),
    Case(
        # The plan warns of the broken chain (preflight); apply does not hold the delete for a
        # task it does not manage and has nothing to change.
        "a task an unmanaged task runs after is deleted as planned",
        given=tree(EXTRACT, LOAD, AUDIT),
        unmanaged=("load",),
        wanted=AUDIT,
        writes=["delete live-extract"],
        outcome={"extract": "done"},
        after=["audit", "load"],
    ),
    Case(
        "a failed delete keeps its upstream",
        given=tree(EXTRACT, LOAD, AUDIT),
        wanted="",
        tenant=Behaviour(fail={"delete live-load": 500}),
        writes=["delete live-load", "delete live-audit"],
        outcome={"load": "failed", "extract": "skipped", "audit": "done"},
        after=["extract", "load"],
    ),
    Case(
        "a task already gone is deleted",
        given=AUDIT,
        wanted="",
        tenant=Behaviour(fail={"delete live-audit": 404}),
        writes=["delete live-audit"],
        outcome={"audit": "done"},
        notes={"audit": "already gone"},
        after=["audit"],
    ),
    Case(
        "a lost POST answer: the task is found, never made twice",
        given="",
        wanted=tree(EXTRACT, LOAD),
        tenant=Behaviour(lose_answer=frozenset({"extract"})),
        writes=["create extract", "create load"],
        outcome={"extract": "done", "load": "done"},
        notes={"extract": "answer was lost"},
        after=["extract", "load"],
    ),
    Case(
        "a lost answer on a tenant that drops the marker: stop, leave the task alone",
        given="",
        wanted=tree(EXTRACT, LOAD),
        tenant=Behaviour(lose_answer=frozenset({"extract"}), drop_marker=True),
        writes=["create extract"],
        outcome={"extract": "failed", "load": "skipped"},
        notes={"extract": "left alone"},
        stopped=True,
        after=["extract"],
    ),
    Case(
        "a create that loses the marker is deleted again, and apply stops",
        given="",
        wanted=tree(EXTRACT, LOAD, AUDIT),
        tenant=Behaviour(drop_marker=True),
        writes=["create extract", "create audit", "delete new-extract", "delete new-audit"],
        outcome={"extract": "failed", "audit": "failed", "load": "skipped"},
        notes={"extract": "deleted again"},
        stopped=True,
        after=[],
    ),
    Case(
        "after a stop no other action starts, in any phase",
        given=AUDIT,
        wanted=EXTRACT,
        tenant=Behaviour(drop_marker=True),
        writes=["create extract", "delete new-extract"],
        outcome={"extract": "failed", "audit": "skipped"},
        notes={"audit": "apply stopped"},
        stopped=True,
        after=["audit"],
    ),
    Case(
        "a task the listing left out is not created again",
        given="",
        hidden=EXTRACT,
        wanted=tree(EXTRACT, LOAD),
        writes=[],
        outcome={"extract": "failed", "load": "skipped"},
        notes={"extract": "listing was incomplete"},
        after=["extract"],
    ),
]


def _plan(case: Case, live: list[dict[str, Any]], *, adopt: bool = False) -> Plan:
    tasks = tasks_from(case.wanted) if case.wanted.strip() else []
    legacy = [{"id": i, "appId": APP_A} for i in case.legacy] if case.legacy else None
    return build_plan(tasks, live, Options(marker=MARKER, adopt=adopt), legacy)


def _apply(
    plan: Plan,
    fake: FakeTasks,
    live: list[dict[str, Any]],
    *,
    parallelism: int = 4,
    adopt: bool = False,
    reporter: Any = None,
) -> ApplyResult:
    run = apply_plan(
        plan,
        fake,
        marker=MARKER,
        parallelism=parallelism,
        live=live,
        adopt=adopt,
        reporter=reporter,
    )
    return asyncio.run(run)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_apply(case: Case) -> None:
    live = seed(case.given, unmanaged=case.unmanaged, migrated=case.migrated)
    fake = FakeTasks(live + seed(case.hidden), case.tenant, case.legacy)
    plan = _plan(case, live, adopt=case.adopt)
    result = _apply(plan, fake, live, parallelism=case.parallelism, adopt=case.adopt)

    assert sorted(fake.writes) == sorted(case.writes)
    for first, then in case.order:
        assert fake.calls.index(first) < fake.calls.index(then), (first, then)
    assert {o.action.name: o.status.value for o in result.outcomes} == case.outcome
    assert len(result.outcomes) == len(case.outcome)  # one outcome per action
    for name, words in case.notes.items():
        (outcome,) = [o for o in result.outcomes if o.action.name == name]
        assert words in outcome.detail, outcome
    assert (result.stopped is not None) == case.stopped
    assert fake.names() == case.after
    done = {o.action.name for o in result.outcomes if o.status.value == "done"}
    for task in fake.listing():
        if task["name"] in done:
            assert is_managed(task, MARKER), task  # made, changed or adopted: it carries the marker
    assert fake.tenant.most_in_flight <= case.parallelism


def test_actions_overlap_up_to_parallelism() -> None:
    wanted = tree(*(AUDIT.replace("audit", f"audit {i}") for i in range(6)))
    fake = FakeTasks()
    plan = build_plan(tasks_from(wanted), [], Options(marker=MARKER))
    result = _apply(plan, fake, [], parallelism=3)
    assert result.ok
    assert fake.tenant.most_in_flight == 3


def test_a_task_it_does_not_own_is_refused_before_anything_is_written() -> None:
    live = seed(tree(EXTRACT, AUDIT), unmanaged=["extract"])
    fake = FakeTasks(live)
    case = Case("adopt", given="", wanted=EXTRACT_AT_7, writes=[], outcome={}, after=[])
    plan = _plan(case, live, adopt=True)  # a saved plan made with --adopt, applied without
    with pytest.raises(GuardRefusedError):
        _apply(plan, fake, live, adopt=False)
    assert fake.calls == []


def test_writes_of_a_task_with_another_owner_are_made_as_that_owner() -> None:
    fake = FakeTasks()
    plan = build_plan(tasks_from(tree(EXTRACT, AUDIT)), [], Options(marker=MARKER))
    plan.actions[0].act_as = "subject:anna"
    result = _apply(plan, fake, [])
    assert result.ok
    assert sorted(fake.writes) == ["create audit", "create extract as anna"]


class _Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def action_started(self, action: Action) -> None:
        self.events.append(f"started {action.name}")

    def action_finished(self, outcome: Outcome) -> None:
        self.events.append(f"finished {outcome.action.name} {outcome.status.value}")

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None:
        self.events.append(f"retrying {operation}")


def test_the_reporter_hears_each_action_start_and_finish() -> None:
    live = seed(AUDIT)
    fake = FakeTasks(live, Behaviour(fail={"create extract": 500}))
    case = Case("r", given="", wanted=tree(EXTRACT, LOAD), writes=[], outcome={}, after=[])
    recorder = _Recorder()
    _apply(_plan(case, live), fake, live, reporter=recorder, parallelism=1)
    assert recorder.events == [
        "started extract",
        "finished extract failed",
        "finished load skipped",  # never started: it waits for extract's id
        "started audit",
        "finished audit done",
    ]


def test_a_migration_is_reported_again_once_its_legacy_task_is_settled() -> None:
    case = Case("m", given="", wanted=MIGRATED, legacy=("L1",), writes=[], outcome={}, after=[])
    fake = FakeTasks(legacy=case.legacy)
    recorder = _Recorder()
    _apply(_plan(case, []), fake, [], reporter=recorder)
    assert recorder.events == ["started extract", "finished extract done", "finished extract done"]
    assert fake.tenant.legacy == set()


def test_a_kept_delete_goes_in_the_next_apply() -> None:
    live = seed(tree(EXTRACT, LOAD))
    wanted = tasks_from(tree(AUDIT, LOAD_AFTER_AUDIT))
    fake = FakeTasks(live, Behaviour(fail={"create audit": 500}))
    first = _apply(build_plan(wanted, live, Options(marker=MARKER)), fake, live)
    assert not first.ok
    assert fake.names() == ["extract", "load"]  # load still runs after extract, which is kept

    live = fake.listing()
    fake = FakeTasks(live)  # the tenant now takes the create
    second = _apply(build_plan(wanted, live, Options(marker=MARKER)), fake, live)
    assert second.ok
    assert fake.names() == ["audit", "load"]
    assert not build_plan(wanted, fake.listing(), Options(marker=MARKER)).has_changes


def test_a_duplicate_is_kept_while_a_task_runs_after_it_and_was_not_moved_to_the_kept_one() -> None:
    live = seed(tree(EXTRACT, LOAD))
    duplicate = {
        **live[0],
        "id": "copy-extract",
        "metadata": {"createdAt": "2026-02-01T00:00:00+00:00"},
    }
    load = json.loads(json.dumps(live[1]).replace('"live-extract"', '"copy-extract"'))
    live = [live[0], load, duplicate]
    fake = FakeTasks(live, Behaviour(fail={"patch live-load /events": 500}))
    plan = build_plan(tasks_from(tree(EXTRACT, LOAD)), live, Options(marker=MARKER))
    assert [(a.verb.value, a.task_id) for a in plan.changes] == [
        ("update", "live-load"),
        ("delete", "copy-extract"),
    ]
    result = _apply(plan, fake, live)
    assert fake.writes == ["patch live-load /events"]
    (kept,) = [o for o in result.outcomes if o.action.task_id == "copy-extract"]
    assert kept.status.value == "skipped"
    assert "kept: load still runs after it" in kept.detail
