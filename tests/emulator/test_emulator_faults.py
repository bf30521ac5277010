"""Rate limits per tier (429 + Retry-After), injected 503s, dropped connections and latency."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from emulator_docs import BASE, TASKS, assert_error, create, task_body

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock


def client_for(emu: Emulator, token: str = "t") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers)


def test_write_tier_limit_answers_429_with_retry_after(
    emu: Emulator, client: httpx.Client, clock: ManualClock
) -> None:
    emu.set_rate_limits(writes=3)
    for n in range(3):
        create(client, task_body(f"t{n}"))
        clock.advance(10)
    response = client.post(TASKS, json=task_body("too many"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"  # the first write leaves the window at t+60
    body = response.json()
    assert body["errors"] == [
        {
            "code": "HTTP-429",
            "title": "API rate limit reached.",
            "detail": "You need to wait 30 seconds until limit is lifted.",
        }
    ]
    assert client.get(TASKS).status_code == 200  # reads are another tier
    with client_for(emu, "another-user") as other:
        create(other, task_body("someone else"))  # limits are per user
    clock.advance(29.5)
    assert client.post(TASKS, json=task_body("still")).headers["retry-after"] == "1"
    clock.advance(0.5)
    create(client, task_body("admitted again"))
    assert emu.throttled() == {"reads": 0, "writes": 2, "reloads": 0}
    assert emu.throttled_count() == 2
    assert len(emu.tasks()) == 5


def test_read_and_reload_tiers(emu: Emulator, client: httpx.Client) -> None:
    emu.set_rate_limits(reads=2, reloads=1)
    assert client.get(TASKS).status_code == 200
    assert client.get(f"{TASKS}/nope").status_code == 404  # counted: it reached the handler
    assert_error(client.get(TASKS), 429, "HTTP-429")
    assert client.post("/api/v1/reloads", json={"appId": "a"}).status_code == 201
    assert client.post("/api/v1/reloads", json={"appId": "a"}).status_code == 429
    create(client, task_body("writes are unlimited"))


def test_fail_rate_answers_503_before_doing_anything(clock: ManualClock) -> None:
    emu = Emulator(EmulatorConfig(fail_rate=1.0, random_seed=1), clock=clock)
    with client_for(emu) as c:
        assert_error(c.post(TASKS, json=task_body("t")), 503, "CHO-024")
        with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as anonymous:
            assert_error(anonymous.get(TASKS), 503, "CHO-024")  # even before auth
    assert emu.tasks() == []
    assert emu.counters["injected_failures"] == 2


def outcomes(seed: int) -> list[int]:
    emu = Emulator(EmulatorConfig(fail_rate=0.5, random_seed=seed))
    with client_for(emu) as c:
        return [c.get(TASKS).status_code for _ in range(20)]


def test_faults_are_deterministic_with_a_seed() -> None:
    first = outcomes(3)
    assert first == outcomes(3)
    assert {200, 503} == set(first)


def test_dropped_connections_before_and_after_processing(clock: ManualClock) -> None:
    emu = Emulator(EmulatorConfig(drop_rate=1.0, random_seed=5), clock=clock)
    with client_for(emu) as c:
        for n in range(40):
            with pytest.raises(httpx.RemoteProtocolError):
                c.post(TASKS, json=task_body(f"t{n}"))
    before, after = emu.counters["dropped_before"], emu.counters["dropped_after"]
    assert before + after == 40
    assert before > 5
    assert after > 5
    assert len(emu.tasks()) == after  # the writes processed before the drop happened
    assert {entry.status for entry in emu.request_log} == {0}
    emu.set_faults(drop_rate=0.0)
    with client_for(emu) as c:
        assert c.get(TASKS, params={"limit": 100}).json()["data"]


def test_async_transport_and_latency(emu: Emulator) -> None:
    emu.set_faults(latency_ms=60)

    async def scenario() -> float:
        headers = {"Authorization": "Bearer t"}
        async with httpx.AsyncClient(
            base_url=BASE, transport=emu.transport(), headers=headers
        ) as c:
            began = time.perf_counter()
            responses = await asyncio.gather(*(c.get(TASKS) for _ in range(10)))
            elapsed = time.perf_counter() - began
            assert [r.status_code for r in responses] == [200] * 10
            emu.set_faults(latency_ms=0, drop_rate=1.0)
            with pytest.raises(httpx.RemoteProtocolError):
                await c.get(TASKS)
            return elapsed

    elapsed = asyncio.run(scenario())
    assert 0.06 <= elapsed < 0.45  # awaited concurrently (0.6 s if serialised by the lock)
