"""Writes whose answer was lost: resolved by reading the tenant, never by blindly sending again.

Each case drops one chosen answer after the emulator processed the request, or refuses a chosen
request, so the outcome is certain and the test is exact.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from reconciler.emulator import Emulator, EmulatorConfig, Fault
from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik.client import RetryPolicy
from tests.reliability.scenario import in_process_client, nth, task_doc

TASKS = "/api/scheduling/tasks"
APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
FAST = RetryPolicy(max_attempts=4, base=0.0, cap=0.0)


def _doc(name: str) -> dict[str, Any]:
    return task_doc(name, APP)


def _create(emulator: Emulator, name: str) -> tuple[dict[str, Any] | None, int]:
    calls = [0]

    async def run() -> dict[str, Any] | None:
        async with in_process_client(emulator, retry=FAST) as client:

            async def find() -> dict[str, Any] | None:
                calls[0] += 1
                found = await client.find_tasks_by_name(name)
                return found[0] if found else None

            return await client.create_task(_doc(name), find_created=find)

    return asyncio.run(run()), calls[0]


def test_a_create_whose_answer_was_lost_is_found_not_sent_again() -> None:
    emulator = Emulator(EmulatorConfig())
    emulator.add_fault_rule(nth("POST", TASKS, [1]), fault=Fault.DROP_AFTER)
    created, finds = _create(emulator, "lost answer")
    assert created is not None
    assert finds == 1
    assert [t["id"] for t in emulator.tasks()] == [created["id"]]
    assert [r.method for r in emulator.request_log].count("POST") == 1


@pytest.mark.parametrize("fault", [Fault.FAIL, Fault.DROP_BEFORE])
def test_a_create_that_did_not_happen_is_sent_again_after_looking(fault: Fault) -> None:
    emulator = Emulator(EmulatorConfig())
    emulator.add_fault_rule(nth("POST", TASKS, [1, 2]), fault=fault)
    created, finds = _create(emulator, "not made")
    assert created is not None
    assert finds == 2
    assert len(emulator.tasks()) == 1
    assert [r.method for r in emulator.request_log].count("POST") == 3


def test_a_create_never_answered_gives_up_with_its_last_error() -> None:
    emulator = Emulator(EmulatorConfig())
    emulator.add_fault_rule(lambda m, p, q: m == "POST", fault=Fault.FAIL)
    with pytest.raises(AmbiguousWriteError) as info:
        _create(emulator, "never")
    assert info.value.status == 503
    assert "gave up after 4 attempts; the task was not found" in str(info.value)
    assert emulator.tasks() == []


def test_a_patch_refused_on_retry_because_the_lost_attempt_applied_it() -> None:
    """`remove` cannot be applied twice: the retry is refused, the task shows it was done."""
    emulator = Emulator(EmulatorConfig())
    emulator.put_task_raw({**_doc("switch"), "description": "to be removed"})
    (task,) = emulator.tasks()
    emulator.add_fault_rule(nth("PATCH", f"{TASKS}/{task['id']}", [1]), fault=Fault.DROP_AFTER)
    ops = [
        {"op": "remove", "path": "/description"},
        {"op": "replace", "path": "/name", "value": "n"},
    ]

    async def run() -> dict[str, Any] | None:
        async with in_process_client(emulator, retry=FAST) as client:
            return await client.patch_task(task["id"], ops)

    answered = asyncio.run(run())
    assert answered is not None
    assert answered["name"] == "n"
    assert "description" not in answered
    assert [(r.method, r.status) for r in emulator.request_log if r.method == "PATCH"] == [
        ("PATCH", 0),
        ("PATCH", 400),
    ]


def test_a_patch_refused_on_retry_for_another_reason_is_still_an_error() -> None:
    emulator = Emulator(EmulatorConfig())
    emulator.put_task_raw({k: v for k, v in _doc("other").items() if k != "description"})
    (task,) = emulator.tasks()
    emulator.add_fault_rule(nth("PATCH", f"{TASKS}/{task['id']}", [1]), fault=Fault.DROP_BEFORE)
    # Refused because the task never had a description: the rename did not happen either.
    ops = [
        {"op": "remove", "path": "/description"},
        {"op": "replace", "path": "/name", "value": "n"},
    ]

    async def run() -> None:
        async with in_process_client(emulator, retry=FAST) as client:
            await client.patch_task(task["id"], ops)

    with pytest.raises(ApiError, match="HTTP 400"):
        asyncio.run(run())
    assert emulator.tasks()[0]["name"] == "other"
