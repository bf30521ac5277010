"""Two applies at once against one tenant (a CI concurrency group that did not hold).

The service has no optimistic concurrency (no `test` op, no ETag), so two applies that planned
from the same listing may both create a new task: each asks for it by name just before its POST,
and only a create the other made in between is refused. What the tool guarantees: the next apply
converges, keeping the oldest of each pair (`metadata.createdAt`) and deleting the younger one,
without the mass-delete guard counting those duplicate removals.
"""

from __future__ import annotations

import subprocess
import threading
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator import Reply
from reconciler.errors import GuardRefusedError
from reconciler.guard import Guard
from reconciler.model import MARKER
from reconciler.plan import Kind, Options, Plan, build_plan
from tests.conftest import tasks_from
from tests.reliability.conftest import Served, assert_no_secret, cli_command, cli_env, run_cli
from tests.reliability.scenario import Spec, prepare, task_doc

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"


def _both_list_first(served: Served) -> None:
    """Hold each apply's first listing until the other one has listed too: both plans are made
    from the same tenant, the worst case of a race."""
    arrived = threading.Barrier(2, timeout=20)
    listings = [0]
    lock = threading.Lock()

    def observe(method: str, path: str, reply: Reply) -> None:
        if method != "GET" or path != TASKS:
            return
        with lock:
            listings[0] += 1
            mine = listings[0]
        if mine <= 2:
            arrived.wait()

    served.observers.append(observe)


def test_two_applies_at_once_then_one_more_converges(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(latency_ms=5)
    ready = prepare(served.emulator, 23, 40, tmp_path)
    creates = ready.scenario.expected.create
    _both_list_first(served)
    args = ("apply", "--auto-approve", "--allow-mass-delete")
    processes = [
        subprocess.Popen(
            cli_command(*args),
            cwd=tmp_path,
            env=cli_env(served.url),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in processes]
    served.observers.clear()
    for process, (out, errors) in zip(processes, outputs, strict=True):
        assert_no_secret(out + errors)
        assert "Traceback" not in errors
        # What one apply can lose to the other: a `remove` the other already made (refused), a
        # create the other already made (found by name, not made twice).
        assert process.returncode in (0, 1), out + errors
        for line in out.splitlines():
            if "FAILED" in line:
                assert "can't remove a non-existent object" in line or "not created:" in line, line

    race = ready.verdict(served.emulator)
    assert len(race.duplicates) <= creates, race.explain()
    assert not race.unmanaged_changed and not race.unmanaged_written
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for task in served.emulator.tasks():
        if task["name"] in race.duplicates:
            pairs[task["name"]].append((task["metadata"]["createdAt"], task["id"]))

    # More than 20% of the managed tasks are duplicates: the guard does not count their removal.
    cleanup = run_cli(tmp_path, served.url, "apply", "--auto-approve")
    assert cleanup.returncode == 0, cleanup.output
    assert cleanup.stdout.count("duplicate of") >= len(race.duplicates)
    verdict = ready.verdict(served.emulator)
    assert verdict.converged, verdict.explain()
    live = {t["name"]: t["id"] for t in served.emulator.tasks()}
    for name, copies in pairs.items():
        assert live[name] == min(copies)[1], name  # the oldest was kept


def _plan_with(declared: int, live: list[dict[str, Any]]) -> Plan:
    text = "---\n".join(
        Spec(f"T{i}", f"{i:08d}-7fb9-4983-8e23-5ccd8c508722", ("demand",)).yaml()
        for i in range(declared)
    )
    return build_plan(tasks_from(text), live, Options(marker=MARKER))


def test_the_guard_counts_dropped_tasks_but_not_duplicates() -> None:
    live = [
        {
            **task_doc(f"T{i}", f"{i:08d}-7fb9-4983-8e23-5ccd8c508722"),
            "id": f"id-{i}",
            "metadata": {"createdAt": "2026-01-01T00:00:00Z"},
        }
        for i in range(10)
    ]
    live += [
        {**doc, "id": f"copy-{doc['id']}", "metadata": {"createdAt": "2026-02-01T00:00:00Z"}}
        for doc in live[:5]
    ]
    only_duplicates = _plan_with(10, live)
    assert len(only_duplicates.of(Kind.DELETE)) == 5  # a third of the 15 managed tasks
    Guard().check(only_duplicates, live, marker=MARKER)
    with pytest.raises(GuardRefusedError):  # without the listing, every delete counts
        Guard().check(only_duplicates)

    dropped = _plan_with(6, live)  # git dropped T6..T9: four names of fifteen managed tasks
    assert len(dropped.of(Kind.DELETE)) == 9
    with pytest.raises(GuardRefusedError, match="refusing to delete 4 tasks"):
        Guard().check(dropped, live, marker=MARKER)
    with pytest.raises(GuardRefusedError, match="refusing to delete 4 tasks"):
        Guard(max_deletes=3).check(dropped, live, marker=MARKER)
    Guard(max_deletes=4).check(dropped, live, marker=MARKER)
