"""Crash in the middle: `reconciler apply` killed with SIGKILL at chosen moments, again and again;
the next apply converges, with no duplicate and no lost task.

The kill moments come from the emulator's requests: the CLI process is killed from inside the
server, right after the n-th POST (or PATCH, DELETE, listing GET) of that run was processed and
before its answer leaves. A kill after a POST is a crash between a create and its enable PATCH:
the task exists, disabled, and the tool never learnt its id. Latency widens every window.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.emulator import Reply
from tests.reliability.conftest import Served, assert_no_secret, cli_command, cli_env, run_cli
from tests.reliability.scenario import prepare

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"
# (method, n): kill right after the n-th such request of the run. Deletes come last: they are
# the last phase of an apply, so a run killed at a delete has done every create and update.
KILL_POINTS = [
    ("POST", 1),
    ("GET", 1),
    ("POST", 2),
    ("PATCH", 1),
    ("POST", 3),
    ("PATCH", 3),
    ("POST", 1),
    ("PATCH", 2),
    ("POST", 2),
    ("PATCH", 1),
    ("DELETE", 1),
    ("DELETE", 3),
]


@dataclass
class Kill:
    method: str
    n: int
    status: int
    created: dict[str, object] | None  # the task a killed POST made


def _killer(method: str, n: int, pid: list[int], kills: list[Kill]) -> Callable[..., None]:
    seen = Counter[str]()

    def observe(m: str, path: str, reply: Reply) -> None:
        if kills or not path.startswith(TASKS) or not pid:
            return
        seen[m] += 1
        if m == method and seen[m] == n:
            created = reply.json() if m == "POST" and reply.status == 201 else None
            kills.append(Kill(m, n, reply.status, created))
            os.kill(pid[0], signal.SIGKILL)

    return observe


def test_apply_killed_at_twelve_moments_then_converges(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve(latency_ms=15)
    ready = prepare(served.emulator, 17, 64, tmp_path)
    desired_enabled = {t.name for t in ready.tasks if t.spec.enabled}
    env = cli_env(served.url)
    args = ("apply", "--auto-approve", "--allow-mass-delete", "--parallelism", "2")
    all_kills: list[Kill] = []
    created_disabled: list[str] = []
    for method, n in KILL_POINTS:
        kills: list[Kill] = []
        pid: list[int] = []
        observer = _killer(method, n, pid, kills)
        served.observers.append(observer)
        with subprocess.Popen(
            cli_command(*args),
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            pid.append(process.pid)
            out, errors = process.communicate(timeout=60)
        served.observers.remove(observer)
        assert_no_secret(out + errors)
        if not kills:
            assert process.returncode == 0, out + errors  # nothing left at that point: done
            continue
        assert process.returncode == -signal.SIGKILL
        all_kills.extend(kills)
        verdict = ready.verdict(served.emulator)
        # The only duplicates are the hand-made copies the start had, until apply removes them.
        assert set(verdict.duplicates) <= set(ready.scenario.copies), verdict.explain()
        assert set(verdict.duplicates.values()) <= {2}, verdict.explain()
        assert not verdict.unmanaged_changed and not verdict.unmanaged_written
        created = kills[0].created
        if created is not None and created["name"] in desired_enabled:
            now = served.emulator.get(str(created["id"]))
            assert now is not None  # made, and kept
            if not now["enabled"]:
                created_disabled.append(str(created["name"]))

    assert len(all_kills) >= 10, [(k.method, k.n) for k in all_kills]
    assert {k.method for k in all_kills} >= {"GET", "POST", "PATCH", "DELETE"}
    assert created_disabled  # at least one crash between a create and its enable PATCH

    final = run_cli(tmp_path, served.url, *args)
    assert final.returncode == 0, final.output
    verdict = ready.verdict(served.emulator)
    assert verdict.converged, verdict.explain()
    live = {t["name"]: t for t in served.emulator.tasks()}
    assert all(live[name]["enabled"] for name in created_disabled)
    again = run_cli(tmp_path, served.url, "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.output
