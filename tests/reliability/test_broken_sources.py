"""Empty or broken sources never look like an empty desired state: an empty tasks directory, one
unparsable file, a mis-spelled `--tasks`, a tenant listing that fails on page 7. Each refuses with
a clear message and exit 1, and the tenant receives no write at all (its request log shows no
POST, PATCH, PUT or DELETE), even with `--allow-mass-delete`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from reconciler.emulator import Emulator
from tests.reliability.conftest import API_KEY, Served, run_cli
from tests.reliability.scenario import Spec, task_doc, write_tree

pytestmark = pytest.mark.e2e

TASKS = "/api/scheduling/tasks"
APPLY = ("apply", "--auto-approve", "--allow-mass-delete")


def _specs(count: int, seed: int = 5) -> list[Spec]:
    rng = random.Random(seed)
    apps = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(count // 8 + 1)]
    return [
        Spec(name=f"Bulk {i:04d}", app=apps[i // 8], trigger=("demand",), description="bulk")
        for i in range(count)
    ]


def _managed_tenant(emulator: Emulator, specs: Sequence[Spec]) -> None:
    """Managed tasks of those names (their content does not matter here)."""
    for spec in specs:
        emulator.put_task_raw(task_doc(spec.name, spec.app))


def _writes(emulator: Emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.request_log if r.method != "GET"]


@pytest.fixture
def tenant(serve: Callable[..., Served]) -> Iterator[Served]:
    served = serve()
    _managed_tenant(served.emulator, _specs(20))
    yield served
    assert _writes(served.emulator) == []


def test_an_empty_tasks_directory_is_refused(tmp_path: Path, tenant: Served) -> None:
    (tmp_path / "tasks").mkdir()
    for args in (APPLY, ("plan",)):
        run = run_cli(tmp_path, tenant.url, *args)
        assert run.returncode == 1, run.output
        assert "no tasks found under tasks" in run.stderr
        assert "--allow-empty" in run.stderr
    assert _writes(tenant.emulator) == []  # at most the listing was read


def test_one_unparsable_file_among_good_ones_is_refused(tmp_path: Path, tenant: Served) -> None:
    write_tree(_specs(20)[:10], tmp_path / "tasks")
    (tmp_path / "tasks" / "broken.yaml").write_text("name: Broken\nreload: {appId: [unclosed\n")
    run = run_cli(tmp_path, tenant.url, *APPLY)
    assert run.returncode == 1, run.output
    assert "tasks/broken.yaml:3:1: YAML syntax error" in run.stderr, run.stderr
    assert "nothing was sent" in run.stderr
    assert _writes(tenant.emulator) == []


def test_a_misspelled_tasks_path_is_refused(tmp_path: Path, tenant: Served) -> None:
    write_tree(_specs(20), tmp_path / "tasks")
    run = run_cli(tmp_path, tenant.url, *APPLY, "--tasks", "taks")
    assert run.returncode == 1, run.output
    assert "tasks directory taks does not exist; check --tasks" in run.stderr
    assert _writes(tenant.emulator) == []


def _cursor_of_page(emulator: Emulator, page: int) -> str:
    """The cursor the client sends for page `page` of its listing (limit 100, oldest first)."""
    query = "limit=100&sort=%2BcreatedAt"
    cursor = ""
    for _ in range(page - 1):
        reply = emulator.handle("GET", TASKS, query, {"authorization": f"Bearer {API_KEY}"})
        query = reply.json()["links"]["next"]["href"].partition("?")[2]
        cursor = dict(parse_qsl(query))["page"]
    return cursor


def test_a_listing_that_fails_on_page_7_writes_nothing(
    tmp_path: Path, serve: Callable[..., Served]
) -> None:
    served = serve()
    emulator = served.emulator
    specs = _specs(650)
    _managed_tenant(emulator, specs)
    # Git declares every other task: a listing cut short would plan creates and deletes.
    write_tree(specs[::2], tmp_path / "tasks", per_file=25)
    cursor = _cursor_of_page(emulator, 7)
    emulator.request_log.clear()
    rule = emulator.add_fault_rule(
        lambda method, path, query: method == "GET" and ("page", cursor) in query, status=500
    )
    for args in (("plan", "--format", "json"), APPLY, ("drift", "--format", "json")):
        run = run_cli(tmp_path, served.url, *args)
        assert run.returncode == 1, run.output
        assert run.stdout == "" or "Apply" not in run.stdout
        assert "GET /api/scheduling/tasks: HTTP 500" in run.stderr, run.stderr
        assert "delete" not in run.output.lower()
    assert rule.hits == 3  # page 7 was asked for, once per command, and failed
    listed = [r for r in emulator.request_log if r.method == "GET" and r.path == TASKS]
    assert len(listed) == 3 * 7
    assert _writes(emulator) == []
    assert len(emulator.tasks()) == 650
