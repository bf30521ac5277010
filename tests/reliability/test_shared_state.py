"""One state file, two processes: two `emulator serve --state FILE` on the same file, and two
commands using the embedded local tenant at once. No acknowledged write is lost, each process
serves the writes of the other, and nothing answers 500.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from reconciler.cli.connect import local_seed
from tests.reliability.conftest import API_KEY, cli_command, cli_env
from tests.reliability.scenario import Spec, task_doc, write_tree
from tests.reliability.test_emulator_durability import _served_ids, _serving

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"


def test_two_servers_on_one_state_file_lose_no_acknowledged_write(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    acknowledged: set[str] = set()
    with _serving(state) as (_, first), _serving(state) as (_, second):
        clients = [
            httpx.Client(base_url=url, headers=headers, timeout=10) for url in (first, second)
        ]
        try:
            for n in range(30):
                app = f"{n % 3:08d}-7fb9-4983-8e23-5ccd8c508722"
                answer = clients[n % 2].post(TASKS, json=task_doc(f"task {n}", app))
                assert answer.status_code == 201, answer.text
                acknowledged.add(answer.json()["id"])
            # A delete through one server is seen by the other.
            gone = sorted(acknowledged)[0]
            assert clients[0].delete(f"{TASKS}/{gone}").status_code == 204
            assert clients[1].get(f"{TASKS}/{gone}").status_code == 404
            acknowledged.discard(gone)
        finally:
            for client in clients:
                client.close()
        assert _served_ids(first) == acknowledged
        assert _served_ids(second) == acknowledged
    stored = {task["id"] for task in json.loads(state.read_text())["tasks"]}
    assert stored == acknowledged


def _specs(count: int) -> list[Spec]:
    # Apps the local tenant knows from its seed; four of its apps hold no task yet. Five tasks an
    # app: should both applies create every task, an app holds ten, the service's limit, so the
    # apply that cleans the copies up is never refused for a full app.
    apps = [app["id"] for app in local_seed()["apps"]][-4:]
    return [Spec(f"Local {i:02d}", apps[i // 5], ("demand",)) for i in range(count)]


def _local_env() -> dict[str, str]:
    env = cli_env("")
    env.pop("QLIK_TENANT_URL", None)
    env.pop("QLIK_API_KEY", None)
    return env


def test_two_local_applies_at_once_lose_nothing(tmp_path: Path) -> None:
    write_tree(_specs(20), tmp_path / "tasks")
    args = ("apply", "--auto-approve", "--allow-mass-create")
    processes = [
        subprocess.Popen(
            cli_command(*args),
            cwd=tmp_path,
            env=_local_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    created: set[str] = set()
    for process, (out, errors) in zip(processes, outputs, strict=True):
        assert "Traceback" not in errors and "internal error" not in errors, errors
        assert "HTTP 500" not in out + errors, out + errors
        assert process.returncode in (0, 1), out + errors
        for line in out.splitlines():
            if "FAILED" in line:  # the other apply made it first
                assert "not created:" in line, line
        created |= set(re.findall(r"created '[^']+': id ([0-9a-f-]{36})", out))
    state = json.loads((tmp_path / ".reconciler" / "local-tenant.json").read_text())
    stored = {task["id"] for task in state["tasks"]}
    assert created, outputs
    assert created <= stored  # every create either apply was told about is there
    again = subprocess.run(
        cli_command(*args), cwd=tmp_path, env=_local_env(), capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    plan = subprocess.run(
        cli_command("plan", "--detailed-exitcode"), cwd=tmp_path, env=_local_env(),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stdout + plan.stderr
