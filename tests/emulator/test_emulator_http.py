"""The emulator over real HTTP on 127.0.0.1: keep-alive, concurrency, drops, the blocking server."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_docs import TASKS, app_id, assert_error, task_body

from reconciler.emulator import Emulator, EmulatorConfig

pytestmark = pytest.mark.e2e


def test_serve_answers_over_http_with_keep_alive() -> None:
    emu = Emulator(EmulatorConfig(api_key="k"))
    with emu.serve() as server:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        headers = {"Authorization": "Bearer k"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            created = client.post(TASKS, json=task_body("over http"))
            assert created.status_code == 201, created.text
            listed = client.get(TASKS).json()
            assert [t["name"] for t in listed["data"]] == ["over http"]
            assert client.delete(f"{TASKS}/{created.json()['id']}").status_code == 204
            assert_error(client.get("/api/unknown"), 404)
            assert_error(client.get(TASKS, headers={"Authorization": "Bearer bad"}), 401)
            with client.stream("GET", TASKS) as streamed:
                assert streamed.status_code == 200
    assert [entry.status for entry in emu.request_log] == [201, 200, 204, 404, 401, 200]


def test_parallel_writers_lose_no_update(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    emu = Emulator(EmulatorConfig(), state_file=state)
    errors: list[str] = []
    with emu.serve() as server:
        shared = httpx.post(
            f"{server.url}{TASKS}",
            json=task_body("shared", annotations=[]),
            headers={"Authorization": "Bearer w"},
        ).json()

        def writer(worker: int) -> None:
            headers = {"Authorization": f"Bearer writer-{worker}"}
            with httpx.Client(base_url=server.url, headers=headers) as client:
                for n in range(20):
                    response = client.post(TASKS, json=task_body(f"w{worker}-{n}", app_id()))
                    if response.status_code != 201:
                        errors.append(response.text)
                for n in range(5):
                    op = {"op": "add", "path": "/annotations/-", "value": f"{worker}-{n}"}
                    response = client.patch(f"{TASKS}/{shared['id']}", json=[op])
                    if response.status_code != 200:
                        errors.append(response.text)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        listed: list[dict[str, Any]] = []
        href: str | None = f"{TASKS}?limit=100"
        with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer r"}) as reader:
            while href:
                body = reader.get(href).json()
                listed += body["data"]
                href = body["links"].get("next", {}).get("href")
    assert errors == []
    assert len(listed) == 161
    assert len({t["id"] for t in listed}) == 161
    annotations = next(t for t in listed if t["id"] == shared["id"])["annotations"]
    assert sorted(annotations) == sorted(f"{w}-{n}" for w in range(8) for n in range(5))
    reloaded = Emulator(EmulatorConfig(), state_file=state)
    assert len(reloaded.tasks()) == 161


def test_dropped_connection_over_http() -> None:
    emu = Emulator(EmulatorConfig(drop_rate=1.0, random_seed=2))
    with emu.serve() as server:
        headers = {"Authorization": "Bearer t"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            for n in range(6):
                with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                    client.post(TASKS, json=task_body(f"t{n}"))
            emu.set_faults(drop_rate=0.0)
            assert client.get(TASKS).status_code == 200
    assert len(emu.tasks()) == emu.counters["dropped_after"]


SERVE_SCRIPT = """
import sys
from reconciler.emulator import EmulatorConfig
from reconciler.emulator.tenant import serve_forever
serve_forever(
    EmulatorConfig(api_key="k"), "127.0.0.1", 0, state_file=sys.argv[1],
    on_ready=lambda server: print(server.url, flush=True),
)
print("stopped", flush=True)
"""


def test_serve_forever_until_interrupted(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    command = [sys.executable, "-c", SERVE_SCRIPT, str(state)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        try:
            url = process.stdout.readline().strip()
            response = httpx.post(
                f"{url}{TASKS}", json=task_body("t"), headers={"Authorization": "Bearer k"}
            )
            assert response.status_code == 201
        finally:
            process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stdout.read().strip() == "stopped"
    assert len(Emulator(state_file=state).tasks()) == 1
