"""The local tenant survives SIGKILL: `reconciler emulator serve --state FILE`, killed while four
clients write to it, leaves a state file that parses, holds every write it acknowledged, and
serves those tasks again once restarted on it. Three kill-and-restart rounds on one file.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import API_KEY, cli_command, cli_env
from tests.reliability.scenario import task_doc

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"


@contextmanager
def _serving(state: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    args = ("emulator", "serve", "--port", "0", "--state", str(state), "--api-key", API_KEY)
    with subprocess.Popen(
        cli_command(*args),
        env=cli_env("http://127.0.0.1"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "listening on" in line, line
        try:
            yield process, line.rsplit(" ", 1)[-1].strip()
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            process.stderr.close()


def _writer(url: str, number: int, stop: threading.Event, acknowledged: dict[str, str]) -> None:
    """Create, patch and delete tasks until stopped; record what the tenant acknowledged."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    rng = random.Random(number)
    app = f"{number:08d}-7fb9-4983-8e23-5ccd8c508722"
    mine: list[str] = []
    with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if len(mine) < 8:
                    answer = client.post(TASKS, json=task_doc(f"w{number}-{n}", app))
                    if answer.status_code == 201:
                        mine.append(answer.json()["id"])
                        acknowledged[answer.json()["id"]] = "created"
                elif rng.random() < 0.3:
                    task_id = mine.pop(rng.randrange(len(mine)))
                    acknowledged[task_id] = "deleting"  # gone or not, if the answer is lost
                    if client.delete(f"{TASKS}/{task_id}").status_code == 204:
                        acknowledged[task_id] = "deleted"
                else:
                    task_id = rng.choice(mine)
                    op = [
                        {
                            "op": "replace",
                            "path": "/description",
                            "value": "x" * rng.randrange(9000),
                        }
                    ]
                    client.patch(f"{TASKS}/{task_id}", json=op)
            except httpx.HTTPError:
                return  # the server was killed


def _served_ids(url: str) -> set[str]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    ids: set[str] = set()
    with httpx.Client(base_url=url, headers=headers, timeout=5) as client:
        href: str | None = f"{TASKS}?limit=100"
        while href:
            page = client.get(href).json()
            ids |= {t["id"] for t in page["data"]}
            href = page["links"].get("next", {}).get("href")
    return ids


def test_the_state_file_survives_sigkill_under_write_load(tmp_path: Path) -> None:
    state = tmp_path / "tenant.json"
    rng = random.Random(3)
    acknowledged: dict[str, str] = {}
    for _ in range(3):
        with _serving(state) as (process, url):
            stop = threading.Event()
            writers = [
                threading.Thread(target=_writer, args=(url, i, stop, acknowledged))
                for i in range(4)
            ]
            for writer in writers:
                writer.start()
            time.sleep(rng.uniform(0.3, 0.6))
            # On a loaded machine the writers may not have deleted anything yet: wait for one
            # acknowledged delete, so that every round kills a tenant that has done all three.
            waited = time.monotonic() + 30
            while "deleted" not in acknowledged.values() and time.monotonic() < waited:
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait()
            stop.set()
            for writer in writers:
                writer.join(timeout=10)

        data = json.loads(state.read_text())  # always a whole file
        stored = {t["id"] for t in data["tasks"]}
        for task_id, what in acknowledged.items():
            if what != "deleting":
                assert (task_id in stored) is (what == "created"), (task_id, what)

        with _serving(state) as (_, url):
            assert _served_ids(url) == stored
        left = [p.name for p in tmp_path.iterdir() if p.name != ".tenant.json.lock"]
        assert left == ["tenant.json"]  # no temporary files left
    assert list(acknowledged.values()).count("created") > 10
    assert "deleted" in acknowledged.values()
