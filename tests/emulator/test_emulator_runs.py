"""Runs, chain triggering, consecutive failures, and the graph endpoints."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_docs import TASKS, app_id, assert_error, chained_body, create, enable, task_body

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock


def start(client: httpx.Client, task_id: str, **params: str) -> None:
    response = client.post(f"{TASKS}/{task_id}/actions/start", params=params)
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "Task started successfully"}


def runs_of(client: httpx.Client, task_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{TASKS}/{task_id}/runs", params={"limit": 100})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_start_runs_and_records_the_last_run(client: httpx.Client) -> None:
    app = app_id()
    task = create(client, task_body("A", app))
    assert_error(client.get(f"{TASKS}/{task['id']}/runs/last"), 404)
    start(client, task["id"], source="ci")
    last = client.get(f"{TASKS}/{task['id']}/runs/last").json()
    assert last["status"] == "SUCCEEDED"
    assert last["triggeredBy"] == "ci"
    assert last["taskId"] == task["id"]
    assert last["resourceId"] == app
    assert last["taskName"] == "A"
    assert last["workerType"] == "reloads"
    assert last["workerId"]
    assert last["actionId"]
    assert last["executedAs"] == task["metadata"]["ownerId"]
    assert last["startedAt"] == last["endedAt"] == "2027-01-15T08:00:00.000Z"
    assert isinstance(last["taskMeta"], dict)
    meta = client.get(f"{TASKS}/{task['id']}").json()["metadata"]
    assert meta["orchestration"]["lastRun"]["id"] == last["id"]
    assert meta["orchestration"]["lastRun"]["status"] == "SUCCEEDED"
    assert meta["orchestration"]["attrs"]["last_run_status"] == "SUCCEEDED"
    assert meta["updatedAt"] == task["metadata"]["updatedAt"]  # a run is not an edit
    filtered = client.get(TASKS, params={"filter": 'lastStatus eq "succeeded"'}).json()["data"]
    assert [t["id"] for t in filtered] == [task["id"]]


def test_run_log_as_json_or_text(client: httpx.Client) -> None:
    task = create(client, task_body("A"))
    start(client, task["id"])
    run = runs_of(client, task["id"])[0]
    url = f"{TASKS}/{task['id']}/runs/{run['id']}/log"
    as_json = client.get(url)
    assert as_json.headers["content-type"].startswith("application/json")
    assert "Finished successfully" in as_json.json()["logContent"]
    as_text = client.get(url, headers={"Accept": "text/plain"})
    assert as_text.headers["content-type"].startswith("text/plain")
    assert as_text.text == as_json.json()["logContent"]
    assert_error(client.get(f"{TASKS}/{task['id']}/runs/nope/log"), 404)
    assert_error(client.post(f"{TASKS}/nope/actions/start"), 404)


def test_runs_paginate_and_resource_runs(client: httpx.Client, clock: ManualClock) -> None:
    app = app_id()
    one, two = create(client, task_body("one", app)), create(client, task_body("two", app))
    for _ in range(6):
        clock.advance(1)
        start(client, one["id"])
        start(client, two["id"])
    page = client.get(f"{TASKS}/{one['id']}/runs", params={"limit": 4}).json()
    assert len(page["data"]) == 4
    assert "next" in page["links"]
    started = [run["startedAt"] for run in page["data"]]
    assert started == sorted(started, reverse=True)  # default -startedAt
    seen, href = [], f"/api/scheduling/tasks/resources/{app}/runs?limit=5&sort=%2BstartedAt"
    while href:
        body = client.get(href).json()
        seen += body["data"]
        href = body["links"].get("next", {}).get("href")
    assert len(seen) == 12
    assert {run["taskId"] for run in seen} == {one["id"], two["id"]}
    empty = client.get(f"{TASKS}/resources/{app_id()}/runs").json()
    assert empty["data"] == []
    assert_error(client.get(f"{TASKS}/{one['id']}/runs", params={"sort": "-name"}), 400)


def test_run_duration_finishes_lazily_on_the_clock(clock: ManualClock) -> None:
    emu = Emulator(EmulatorConfig(run_duration_s=30), clock=clock)
    headers = {"Authorization": "Bearer t"}
    with httpx.Client(base_url="https://t", transport=emu.sync_transport(), headers=headers) as c:
        task = create(c, task_body("slow"))
        start(c, task["id"])
        assert c.get(f"{TASKS}/{task['id']}/runs/last").json()["status"] == "RUNNING"
        clock.advance(29)
        assert c.get(f"{TASKS}/{task['id']}/runs/last").json()["status"] == "RUNNING"
        clock.advance(1)
        last = c.get(f"{TASKS}/{task['id']}/runs/last").json()
        assert last["status"] == "SUCCEEDED"
        assert last["endedAt"] == "2027-01-15T08:00:30.000Z"


def test_finished_run_triggers_enabled_chained_tasks(client: httpx.Client, emu: Emulator) -> None:
    a = create(client, task_body("A"))
    b = create(client, chained_body("B", [a["id"]]))
    c = create(client, chained_body("C", [b["id"]], status=None))
    off = create(client, chained_body("disabled", [a["id"]]))
    on_failure = create(client, chained_body("on failure", [a["id"]], status="failed"))
    upper = create(client, chained_body("upper", [a["id"]], status="SUCCEEDED"))
    for task in (b, c, on_failure, upper):
        enable(client, task["id"])
    start(client, a["id"])
    assert [r["triggeredBy"] for r in runs_of(client, b["id"])] == ["A"]
    assert [r["triggeredBy"] for r in runs_of(client, c["id"])] == ["B"]
    assert len(runs_of(client, upper["id"])) == 1
    assert runs_of(client, off["id"]) == []
    assert runs_of(client, on_failure["id"]) == []
    emu.fail_app(a["resourceId"])
    start(client, a["id"])
    assert len(runs_of(client, on_failure["id"])) == 1
    assert len(runs_of(client, b["id"])) == 1


def test_when_all_waits_for_every_upstream(client: httpx.Client) -> None:
    a, b = create(client, task_body("A")), create(client, task_body("B"))
    both = create(client, chained_body("both", [a["id"], b["id"]], all_=True))
    either = create(client, chained_body("either", [a["id"], b["id"]]))
    enable(client, both["id"])
    enable(client, either["id"])
    start(client, a["id"])
    start(client, a["id"])
    assert runs_of(client, both["id"]) == []
    assert len(runs_of(client, either["id"])) == 2
    start(client, b["id"])
    assert len(runs_of(client, both["id"])) == 1
    start(client, b["id"])
    assert len(runs_of(client, both["id"])) == 1  # A has not finished again since


def test_consecutive_failures_disable_the_task(client: httpx.Client, emu: Emulator) -> None:
    app = app_id()
    task = create(client, task_body("flaky", app))
    enable(client, task["id"])
    emu.fail_app(app)
    start(client, task["id"])
    start(client, task["id"])
    emu.fail_app(app, fail=False)
    start(client, task["id"])  # a success resets the streak
    emu.fail_app(app)
    for _ in range(2):
        start(client, task["id"])
    assert client.get(f"{TASKS}/{task['id']}").json()["enabled"] is True
    start(client, task["id"])
    current = client.get(f"{TASKS}/{task['id']}").json()
    assert current["enabled"] is False
    assert current["metadata"]["disabledCode"] == "CONSECUTIVE-FAILURES"
    assert current["metadata"]["orchestration"]["lastRun"]["status"] == "FAILED"
    failed = client.get(TASKS, params={"filter": 'lastStatus eq "FAILED"'}).json()["data"]
    assert [t["id"] for t in failed] == [task["id"]]


def test_a_cycle_of_instant_runs_is_bounded(clock: ManualClock) -> None:
    emu = Emulator(EmulatorConfig(max_cascade_runs=20), clock=clock)
    headers = {"Authorization": "Bearer t"}
    with httpx.Client(base_url="https://t", transport=emu.sync_transport(), headers=headers) as c:
        a = create(c, task_body("A"))
        b = create(c, chained_body("B", [a["id"]]))
        ops = [{"op": "add", "path": "/events", "value": chained_body("A", [b["id"]])["events"]}]
        assert c.patch(f"{TASKS}/{a['id']}", json=ops).status_code == 200
        enable(c, a["id"])
        enable(c, b["id"])
        start(c, a["id"])
        # A continuous reload keeps going, at most max_cascade_runs finishes per request.
        first, second = len(emu.runs()), len(emu.runs())
        assert first <= 1 + 2 * 20
        assert second - first == 20


@pytest.fixture
def chain(client: httpx.Client) -> dict[str, str]:
    """A -> B -> C and D -> C."""
    a = create(client, task_body("A"))
    b = create(client, chained_body("B", [a["id"]]))
    d = create(client, task_body("D"))
    c = create(client, chained_body("C", [b["id"], d["id"]]))
    return {"A": a["id"], "B": b["id"], "C": c["id"], "D": d["id"]}


def test_topology(client: httpx.Client, chain: dict[str, str]) -> None:
    def topology(name: str) -> dict[str, bool]:
        result: dict[str, bool] = client.get(f"{TASKS}/{chain[name]}").json()["metadata"][
            "topology"
        ]
        return result

    assert topology("A") == {"isChild": False, "isParent": True}
    assert topology("B") == {"isChild": True, "isParent": True}
    assert topology("C") == {"isChild": True, "isParent": False}
    client.delete(f"{TASKS}/{chain['A']}")
    assert topology("B") == {"isChild": False, "isParent": True}


def test_ancestors_descendants_subgraph(client: httpx.Client, chain: dict[str, str]) -> None:
    name = {v: k for k, v in chain.items()}

    def fetch(task: str, kind: str, **params: Any) -> tuple[dict[str, int], set[tuple[str, str]]]:
        response = client.get(f"{TASKS}/{chain[task]}/graphs/{kind}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["taskId"] == chain[task]
        depths = {name[v["taskId"]]: v["attrs"]["depth"] for v in body["vertices"]}
        edges = {(name[e["source"]], name[e["target"]]) for e in body["edges"]}
        return depths, edges

    assert fetch("C", "ancestors") == (
        {"C": 0, "B": 1, "D": 1, "A": 2},
        {("B", "C"), ("D", "C"), ("A", "B")},
    )
    assert fetch("C", "ancestors", level=1) == ({"C": 0, "B": 1, "D": 1}, {("B", "C"), ("D", "C")})
    assert fetch("A", "descendants") == ({"A": 0, "B": 1, "C": 2}, {("A", "B"), ("B", "C")})
    assert fetch("B", "subgraph", level=1) == ({"B": 0, "A": 1, "C": 1}, {("A", "B"), ("B", "C")})
    assert fetch("D", "ancestors", level=0) == ({"D": 0}, set())
    vertices = client.get(f"{TASKS}/{chain['A']}/graphs/descendants?withTask=true").json()
    assert {v["task"]["name"] for v in vertices["vertices"]} == {"A", "B", "C"}
    root = vertices["vertices"][0]
    assert root["attrs"] == {"depth": 0, "isChild": False, "isParent": True}
    assert_error(client.get(f"{TASKS}/{chain['A']}/graphs/subgraph?level=-1"), 400)
    assert_error(client.get(f"{TASKS}/{chain['A']}/graphs/subgraph?withTask=maybe"), 400)
    assert_error(client.get(f"{TASKS}/nope/graphs/ancestors"), 404)


def test_children_and_parents_are_paginated(client: httpx.Client, chain: dict[str, str]) -> None:
    parents = client.get(f"{TASKS}/{chain['C']}/graphs/parents", params={"sort": "+name"}).json()
    assert [t["name"] for t in parents["data"]] == ["B", "D"]
    first = client.get(f"{TASKS}/{chain['C']}/graphs/parents", params={"limit": 1}).json()
    assert len(first["data"]) == 1
    assert "next" in first["links"]
    assert first["links"]["next"]["href"].startswith(f"{TASKS}/{chain['C']}/graphs/parents?")
    children = client.get(f"{TASKS}/{chain['A']}/graphs/children").json()
    assert [t["name"] for t in children["data"]] == ["B"]
    none = client.get(f"{TASKS}/{chain['C']}/graphs/children", params={"filter": "enabled eq true"})
    assert none.json()["data"] == []


def test_children_of_two_tasks_are_their_own(client: httpx.Client) -> None:
    """Two tasks with as many children each: each listing shows that task's children (a listing
    of a few tasks is never taken for another one of the same size)."""
    a = create(client, task_body("A"))
    b = create(client, task_body("B"))
    create(client, chained_body("after A", [a["id"]]))
    create(client, chained_body("after B", [b["id"]]))
    for parent, child in ((a, "after A"), (b, "after B"), (a, "after A")):
        listed = client.get(f"{TASKS}/{parent['id']}/graphs/children").json()
        assert [t["name"] for t in listed["data"]] == [child]
