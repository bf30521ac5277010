"""A broken or hostile tenant, met by the command line over HTTP (DESIGN 19, invariants 2, 3 and 8).

A listing that omits tasks (empty, one task missing, a body with a duplicated `data` key) never
leads to a duplicate; pages that never end, an answer that trickles in and a tenant that keeps
answering 429 stop the command within its bounds; tasks of the wrong shape end in one line. Each
attack is one fault rule of the local tenant (`reconciler.emulator.hostile`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Emulator, Hostile, Shape
from tests.reliability.conftest import Run, Served, run_cli
from tests.reliability.scenario import Spec, write_tree

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"
LEGACY = "/api/v1/reload-tasks"
APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
APPLY = ("apply", "--auto-approve")


def _listing(method: str, path: str, query: Any) -> bool:
    """The plan's listing of every task (not a lookup by name)."""
    return method == "GET" and path == TASKS and not any(k == "filter" for k, _ in query)


def _specs(extra: int = 0) -> list[Spec]:
    chained = ("chain", (("Sales load", "succeeded"),), "any")
    specs = [
        Spec("Sales load", APP, ("schedule", 5, "UTC")),
        Spec("Sales report", APP, chained),
        Spec("Sales mail", APP, chained),
    ]
    apps = [f"{i:08d}-7fb9-4983-8e23-5ccd8c508722" for i in range(extra // 8 + 1)]
    specs += [Spec(f"Bulk {i:02d}", apps[i // 8], ("demand",)) for i in range(extra)]
    return specs


def _applied(served: Served, root: Path, extra: int = 0) -> None:
    write_tree(_specs(extra), root / "tasks")
    run = run_cli(root, served.url, *APPLY, "--allow-mass-create")
    assert run.returncode == 0, run.output
    served.emulator.request_log.clear()


def _writes(emulator: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.request_log if r.method != "GET"]


def _names(emulator: Emulator) -> list[str]:
    return sorted(t["name"] for t in emulator.tasks())


def _one_error_line(run: Run) -> str:
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.output
    return errors[0]


# -- invariant 2: a listing that omits tasks never leads to a duplicate -------------------------


def test_a_task_missing_from_one_listing_is_not_created_again(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    _applied(served, tmp_path)
    before = {t["name"]: t for t in served.emulator.tasks()}
    served.emulator.add_fault_rule(
        _listing,
        fault=None,
        times=1,
        answer=Hostile(Shape.OMIT, omit=lambda task: task.get("name") == "Sales load"),
    )
    run = run_cli(tmp_path, served.url, *APPLY)
    assert run.returncode == 1, run.output
    assert "not created: the tenant has a task of this name" in run.stdout
    assert "1 failed, 2 skipped" in run.stdout  # the two chains are not re-pointed
    assert _writes(served.emulator) == []
    assert _names(served.emulator) == sorted(before)
    assert {t["name"]: t for t in served.emulator.tasks()} == before
    again = run_cli(tmp_path, served.url, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.output


def test_an_empty_listing_creates_nothing(tmp_path: Path, serve: Callable[..., Served]) -> None:
    served = serve()
    _applied(served, tmp_path, extra=12)
    names = _names(served.emulator)
    served.emulator.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.EMPTY_LISTING))
    guarded = run_cli(tmp_path, served.url, *APPLY)
    assert guarded.returncode == 4, guarded.output
    assert "--allow-mass-create" in _one_error_line(guarded)
    # Past the guard, each create still asks for its task by name first, and finds it.
    forced = run_cli(tmp_path, served.url, *APPLY, "--allow-mass-create")
    assert forced.returncode == 1, forced.output
    assert "0 done, 13 failed, 2 skipped" in forced.stdout  # the chains wait for their upstream
    assert "not created: the tenant has a task of this name" in forced.stdout
    assert _writes(served.emulator) == []
    assert _names(served.emulator) == names


def test_a_body_with_a_duplicated_key_is_malformed(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    _applied(served, tmp_path)
    served.emulator.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.DUPLICATE_DATA))
    for args in (("plan",), APPLY):
        run = run_cli(tmp_path, served.url, *args)
        assert run.returncode == 1, run.output
        assert 'the key "data" twice' in _one_error_line(run)
    assert _writes(served.emulator) == []


# -- invariant 3: every command ends within a bound ---------------------------------------------


@pytest.mark.parametrize(
    ("bound", "value"), [("RECONCILER_MAX_PAGES", "40"), ("RECONCILER_MAX_ITEMS", "90")]
)
def test_pages_that_never_end_stop_at_the_bound(
    tmp_path: Path, serve: Callable[..., Served], bound: str, value: str
) -> None:
    served = serve()
    _applied(served, tmp_path)
    served.emulator.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.ENDLESS_PAGES))
    run = run_cli(tmp_path, served.url, "plan", env={bound: value}, timeout=60)
    assert run.returncode == 1, run.output
    line = _one_error_line(run)
    assert f"more than {value}" in line
    assert bound in line


def test_an_answer_that_trickles_in_cannot_hold_the_command(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    _applied(served, tmp_path)
    # One byte every 50 ms: each read of the socket is quick, the whole answer takes minutes.
    served.emulator.add_fault_rule(
        _listing, fault=None, answer=Hostile(Shape.TRICKLE, trickle_ms=50)
    )
    env = {"RECONCILER_TIMEOUT": "1", "RECONCILER_DEADLINE": "4"}
    run = run_cli(tmp_path, served.url, "plan", env=env, timeout=60)
    assert run.returncode == 1, run.output
    line = _one_error_line(run)
    assert "RECONCILER_DEADLINE" in line or "no whole answer within 1 s" in line


def test_a_tenant_that_keeps_answering_429_is_given_up_on(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    write_tree(_specs(extra=6), tmp_path / "tasks")
    served.emulator.add_fault_rule(
        lambda method, path, _: method == "POST" and path == TASKS, status=429, retry_after=59
    )
    run = run_cli(tmp_path, served.url, *APPLY, env={"RECONCILER_MAX_WAIT": "30"}, timeout=60)
    assert run.returncode == 1, run.output
    line = _one_error_line(run)
    assert "429" in line
    assert "RECONCILER_MAX_WAIT allows 30 s" in line
    assert served.emulator.tasks() == []


# -- invariant 8: a malformed answer ends in one line, never a traceback ------------------------


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda doc: doc.__setitem__(key, value)


def _action(value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        for state in doc.get("states") or []:
            for on_event in state.get("onEvents") or []:
                on_event["actions"] = value(on_event.get("actions") or [])

    return edit


MALFORMED_TASKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "metadata": _set("metadata", "x"),
    "start": _set("start", "x"),
    "functionRef": _action(lambda actions: [{**a, "functionRef": "x"} for a in actions]),
    "actions": _action(lambda _: ["x"]),
    "id-list": _set("id", ["a"]),
    "id-missing": lambda doc: doc.pop("id", None),
}


@pytest.mark.parametrize("case", list(MALFORMED_TASKS))
def test_a_task_of_the_wrong_shape_ends_in_one_line(
    tmp_path: Path, serve: Callable[..., Served], case: str
) -> None:
    served = serve()
    _applied(served, tmp_path)
    served.emulator.add_fault_rule(
        _listing, fault=None, answer=Hostile(Shape.EDIT_ITEMS, edit=MALFORMED_TASKS[case])
    )
    for args in (("plan",), APPLY, ("drift",)):
        run = run_cli(tmp_path, served.url, *args)
        assert run.returncode == 1, (args, run.output)
        assert "is malformed" in _one_error_line(run)
    assert _writes(served.emulator) == []


MALFORMED_LEGACY: dict[str, Callable[[dict[str, Any]], None]] = {
    "recurrence": _set("recurrence", 5),
    "date": _set("startDateTime", "9999-12-31T23:59:59-12:00"),
}


@pytest.mark.parametrize("case", list(MALFORMED_LEGACY))
def test_a_legacy_task_of_the_wrong_shape_ends_in_one_line(
    tmp_path: Path, serve: Callable[..., Served], case: str
) -> None:
    served = serve()
    served.emulator.add_app(APP, "Sales")
    served.emulator.add_legacy(
        {
            "appId": APP,
            "timeZone": "UTC",
            "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=5;BYMINUTE=0;BYSECOND=0"],
            "startDateTime": "2026-01-01T05:00:00",
            "state": "Enabled",
        }
    )
    served.emulator.add_fault_rule(
        lambda method, path, _: method == "GET" and path == LEGACY,
        fault=None,
        answer=Hostile(Shape.EDIT_ITEMS, edit=MALFORMED_LEGACY[case]),
    )
    run = run_cli(tmp_path, served.url, "migrate", "--out", "tasks/migrated")
    assert run.returncode == 1, run.output
    assert "is malformed" in _one_error_line(run)
    assert not (tmp_path / "tasks" / "migrated").exists()


# -- invariant 4: no secret in any output, in any spelling --------------------------------------


@pytest.mark.parametrize("separator", ["\n", "\r\n", " "], ids=repr)
def test_an_api_key_no_header_can_carry_is_never_shown(
    tmp_path: Path, serve: Callable[..., Served], separator: str
) -> None:
    served = serve()
    write_tree(_specs(), tmp_path / "tasks")
    halves = ("SECRET-e2e-first-half", "second-half-of-the-key")
    for args in (("plan",), APPLY, ("drift",)):
        run = run_cli(tmp_path, served.url, *args, env={"QLIK_API_KEY": separator.join(halves)})
        assert run.returncode == 1, run.output
        assert "QLIK_API_KEY" in _one_error_line(run)
        for half in halves:
            assert half not in run.output
    assert served.emulator.request_log == []  # refused before anything was sent
