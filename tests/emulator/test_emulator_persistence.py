"""The state file: round trips, seeds applied on first use only, atomic writes under SIGKILL."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from emulator_docs import BASE, TASKS, chained_body, create, task_body

from reconciler.emulator import Emulator, EmulatorConfig


def client_for(emu: Emulator, token: str = "secret-api-key") -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers)


def test_state_survives_a_restart_without_secrets(tmp_path: Path) -> None:
    state = tmp_path / "nested" / "tenant.json"
    config = EmulatorConfig(api_key="secret-api-key", oauth_clients={"ci": "client-secret"})
    emu = Emulator(config, state_file=state)
    with client_for(emu) as c:
        task = create(c, task_body("kept"))
        c.post(f"{TASKS}/{task['id']}/actions/start")
        legacy = c.post("/api/v1/reload-tasks", json={"appId": "a", "timeZone": "UTC"}).json()
        grant = {
            "client_id": "ci",
            "client_secret": "client-secret",
            "grant_type": "client_credentials",
        }
        token = c.post("/oauth/token", json=grant).json()["access_token"]
    emu.add_app("a", "App A")
    text = state.read_text()
    for secret in ("secret-api-key", "client-secret", token):
        assert secret not in text
    left = [p.name for p in state.parent.iterdir() if p.name != ".tenant.json.lock"]
    assert left == ["tenant.json"]  # no temporary files left
    again = Emulator(config, state_file=state)
    assert again.tasks() == emu.tasks()
    assert again.legacy_tasks()[0]["id"] == legacy["id"]
    assert len(again.runs(task["id"])) == 1
    with client_for(again) as c:
        assert c.get("/api/v1/apps/a").json()["attributes"]["name"] == "App A"
        assert c.get(f"{TASKS}/{task['id']}/runs/last").json()["status"] == "SUCCEEDED"


SEED = {
    "apps": [{"id": "app-1", "name": "Sales", "spaceId": "space-9"}],
    "tasks": [
        {
            **task_body("seeded", "app-1"),
            "id": "11111111-1111-1111-1111-111111111111",
            "annotations": ["managed-by:qlik-task-reconciler"],
            "metadata": {"ownerId": "seed-owner", "createdAt": "2025-01-01T00:00:00.000Z"},
        },
        {**chained_body("downstream", ["11111111-1111-1111-1111-111111111111"]), "enabled": False},
    ],
    "legacyReloadTasks": [{"id": "5be59decca62aa00097268a4", "appId": "app-1", "timeZone": "UTC"}],
}


def test_seed_keeps_given_fields_and_applies_on_first_use_only(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(SEED))
    state = tmp_path / "state.json"
    emu = Emulator(state_file=state, seed=seed_file)
    seeded = emu.get("11111111-1111-1111-1111-111111111111")
    assert seeded is not None
    assert seeded["annotations"] == ["managed-by:qlik-task-reconciler"]
    assert seeded["metadata"]["ownerId"] == "seed-owner"
    assert seeded["metadata"]["createdAt"] == "2025-01-01T00:00:00.000Z"
    assert seeded["metadata"]["spaceId"] == "space-9"
    assert seeded["resourceId"] == "app-1"
    assert seeded["metadata"]["topology"] == {"isChild": False, "isParent": True}
    assert emu.legacy_tasks()[0]["state"] == "Enabled"
    with client_for(emu) as c:
        assert c.delete(f"{TASKS}/{seeded['id']}").status_code == 204
    again = Emulator(state_file=state, seed=SEED)
    assert [t["name"] for t in again.tasks()] == ["downstream"]  # the seed is not re-applied
    in_memory = Emulator(seed=SEED)
    assert len(in_memory.tasks()) == 2


WRITER = """
import json, sys
from reconciler.emulator import Emulator, EmulatorConfig
seed = {"tasks": [json.loads(sys.argv[2]) | {"name": f"t{n}"} for n in range(300)]}
emu = Emulator(EmulatorConfig(), state_file=sys.argv[1], seed=seed)
task_id = emu.tasks()[0]["id"]
print("ready", flush=True)
n = 0
while True:
    n += 1
    op = [{"op": "add", "path": "/description", "value": "x" * (n % 5000)}]
    emu.handle("PATCH", "/api/scheduling/tasks/" + task_id, "", {"authorization": "Bearer k"},
               json.dumps(op).encode())
"""


@pytest.mark.slow
def test_state_file_always_parses_after_sigkill(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    rng = random.Random(11)
    for _ in range(4):
        command = [sys.executable, "-c", WRITER, str(state), json.dumps(task_body("t"))]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.02, 0.15))
            process.send_signal(signal.SIGKILL)
            process.wait()
        data = json.loads(state.read_text())
        assert len(data["tasks"]) == 300
    assert len(Emulator(state_file=state).tasks()) == 300
    left = [p.name for p in tmp_path.iterdir() if p.name != ".state.json.lock"]
    assert left == ["state.json"]  # leftovers cleaned on load
