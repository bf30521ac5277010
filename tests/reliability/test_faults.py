"""Faults survived: apply converges through 503s, dropped connections (some after the write was
done), 429 bursts and latency spikes, with no duplicate and no unmanaged task touched.

The in-process runs share one clock between the client and the emulator, running 200 times faster
than the wall clock, so that minute-long rate windows and Retry-After waits cost milliseconds; the
CLI run goes over real HTTP in real time. How fast the machine is moves which request meets which
random fault and whether a rate window fills, so every fault a test counts on is a rule on the
n-th request of its kind, and the retry budget is counted in attempts, not in seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.apply import ApplyResult, Status
from reconciler.emulator import Emulator, EmulatorConfig, Fault
from reconciler.qlik.client import RateLimits, RequestCounter, RetryPolicy
from tests.reliability.conftest import Served, run_cli
from tests.reliability.scenario import (
    Prepared,
    Scaled,
    in_process_client,
    inject_faults,
    no_faults,
    nth,
    plan_and_apply,
    prepare,
)

TASKS = "/api/scheduling/tasks"
SPEED = 200.0


def _nth_change(numbers: list[int]) -> Callable[[str, str, object], bool]:
    """A fault-rule predicate selecting the n-th changes (1-based) of existing tasks: PATCH or
    DELETE, so that the numbering of POSTs other rules select does not move."""
    seen = [0]

    def matches(method: str, path: str, query: object) -> bool:
        if method not in ("PATCH", "DELETE") or not path.startswith(f"{TASKS}/"):
            return False
        seen[0] += 1
        return seen[0] in numbers

    return matches


def _failures_are_spent_budgets(result: ApplyResult) -> None:
    """What a first apply may leave undone: an operation whose retry budget ran out on injected
    faults (reported with its last error), and the tasks that wait for it (skipped)."""
    for outcome in result.with_status(Status.FAILED):
        assert "gave up after" in outcome.detail, outcome.detail
    for outcome in result.with_status(Status.SKIPPED):
        assert "depends on" in outcome.detail, outcome.detail


async def _apply_until_done(
    emulator: Emulator, ready: Prepared, clock: Scaled
) -> tuple[list[ApplyResult], RequestCounter]:
    # The client paces writes at four times what the tenant allows (each create first reads
    # by name, which spreads the writes): the tenant answers 429 in bursts.
    limits = RateLimits(reads_per_minute=3000, writes_per_minute=240)
    # On a loaded machine a scaled second passes in fewer instructions: a budget in seconds
    # would end by chance, one in attempts ends where the faults say.
    retry = RetryPolicy(max_seconds=10.0**9)
    async with in_process_client(emulator, time_scale=clock, limits=limits, retry=retry) as client:
        results: list[ApplyResult] = []
        for _ in range(2):
            _, result = await plan_and_apply(client, ready.tasks)
            results.append(result)
            if result.ok:
                break
        return results, client.requests


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_300_mixed_changes_converge_under_faults(tmp_path: Path, seed: int) -> None:
    clock = Scaled(SPEED, time.time())
    emulator = Emulator(EmulatorConfig(random_seed=seed), clock=clock)
    ready = prepare(emulator, seed, 300, tmp_path)
    inject_faults(emulator, writes_per_window=60)
    # Three creates are answered by a dropped connection after the task was made.
    dropped = emulator.add_fault_rule(nth("POST", TASKS, [5, 60, 110]), fault=Fault.DROP_AFTER)
    # Whether the rate window fills depends on the machine's speed: a burst of 429s does not.
    burst = emulator.add_fault_rule(_nth_change([20, 21, 22]), status=429, retry_after=5)
    unsent = emulator.add_fault_rule(_nth_change([40]), fault=Fault.DROP_BEFORE)

    results, requests = asyncio.run(_apply_until_done(emulator, ready, clock))

    first = results[0]
    assert len(first.outcomes) == 300
    _failures_are_spent_budgets(first)
    assert results[-1].ok, [o.detail for o in results[-1].outcomes if o.status is not Status.DONE]
    no_faults(emulator)
    verdict = ready.verdict(emulator)
    assert verdict.converged, verdict.explain()
    # The dropped answers to POST are resolved by listing, never re-sent (no duplicate above):
    # found by name at once, or, when the random faults spend the create's one budget while it
    # looks, left failed in the first apply and found by the next plan.
    found = [o for r in results for o in r.outcomes if "found by name" in o.detail]
    spent = [o for o in first.with_status(Status.FAILED) if o.action.creates]
    assert len(found) + len(spent) >= 3
    assert (dropped.hits, burst.hits, unsent.hits) == (3, 3, 1)
    assert requests.throttled >= 3
    # The random faults are drawn in the order requests arrive, from the seed: their number
    # depends only on how many requests there were (hundreds), not on which request met which.
    assert emulator.counters["injected_failures"] > 50
    assert requests.retries > 50
    assert not emulator.server_errors()


def test_the_cli_applies_through_faults_over_http(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    # Over real HTTP the order in which requests arrive depends on the machine's speed, so every
    # fault here is a rule on the n-th request of its kind, never a random draw or a rate window.
    served = serve()
    emulator = served.emulator
    ready = prepare(emulator, 7, 30, tmp_path)
    emulator.set_faults(latency_ms=2.0)
    listing = emulator.add_fault_rule(nth("GET", TASKS, [1, 4]))  # 503 CHO-024
    dropped = emulator.add_fault_rule(nth("POST", TASKS, [3]), fault=Fault.DROP_AFTER)
    # An answer far later than the client's timeout: the write happens, the client hears nothing.
    late = emulator.add_fault_rule(nth("POST", TASKS, [6]), fault=None, delay_ms=10_000)
    unsent = emulator.add_fault_rule(nth("POST", TASKS, [9]), fault=Fault.DROP_BEFORE)
    throttled = emulator.add_fault_rule(_nth_change([4, 5]), status=429, retry_after=1)
    env = {"RECONCILER_TIMEOUT": "2"}

    run = run_cli(tmp_path, served.url, "apply", "--auto-approve", "--allow-mass-delete", env=env)
    assert run.returncode == 0, run.output

    hits = (listing.hits, dropped.hits, late.hits, unsent.hits, throttled.hits)
    assert hits == (2, 1, 1, 1, 2)
    assert "retrying create_task (attempt 1)" in run.stdout  # the first POST, answer lost
    # The dropped answer and the late one are resolved by finding the task; the POST dropped
    # before it was processed is found missing and sent again.
    assert run.stdout.count("found by name") == 2
    assert "(2 answered 429 Too Many Requests)" in run.stdout
    no_faults(emulator)
    verdict = ready.verdict(emulator)
    assert verdict.converged, verdict.explain()
    plan = run_cli(tmp_path, served.url, "plan", "--detailed-exitcode")
    assert plan.returncode == 0, plan.output
    assert not emulator.server_errors()


def test_fault_rules_select_requests_and_every_rule_sees_every_request() -> None:
    emulator = Emulator(EmulatorConfig())
    headers = {"authorization": "Bearer k"}
    third = emulator.add_fault_rule(nth("GET", TASKS, [3]), status=500)
    second = emulator.add_fault_rule(nth("GET", TASKS, [2, 3]), fault=Fault.DROP_BEFORE)
    late = emulator.add_fault_rule(lambda m, p, q: ("limit", "7") in q, fault=None, delay_ms=250)
    once = emulator.add_fault_rule(lambda m, p, q: m == "DELETE", status=403, times=1)
    replies = [emulator.handle("GET", TASKS, "", headers) for _ in range(4)]
    assert [(r.status, r.dropped) for r in replies] == [
        (200, False),
        (0, True),
        (500, False),
        (200, False),
    ]
    slow = emulator.handle("GET", TASKS, "limit=7", headers)
    assert (slow.status, slow.delay_s) == (200, 0.25)
    statuses = [emulator.handle("DELETE", f"{TASKS}/nope", "", headers).status for _ in range(2)]
    assert statuses == [403, 404]
    assert (third.hits, second.hits, late.hits, once.hits) == (1, 1, 1, 1)
    emulator.clear_fault_rules()
    assert emulator.handle("GET", TASKS, "", headers).status == 200
