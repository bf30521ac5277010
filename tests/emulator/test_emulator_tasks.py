"""Create, read, patch, put and delete of scheduling tasks, with the service's rules and errors."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_docs import (
    BASE,
    TASKS,
    app_id,
    assert_error,
    create,
    enable,
    scheduled_body,
    task_body,
)

from reconciler.emulator import Emulator, EmulatorConfig

# The create example of the scheduling-tasks reference page, byte for byte (its curl body). Its
# eventRefs do not name its event, its ids are placeholders and it sends server-owned fields.
REFERENCE_CREATE_EXAMPLE = """{"id":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","name":"TaskExample","events":[{"name":"event1","type":"com.qlik/active-analytics-orch","source":"dataset.updated","correlation":[{"contextAttributeName":"appId","contextAttributeValue":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"}]}],"states":[{"end":true,"name":"Reload","type":"event","onEvents":[{"actions":[{"name":"app.reload","functionRef":{"refName":"app.reload","arguments":{"appId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","partial":false}}}],"eventRefs":["app1-dataset-updated"]}],"exclusive":false}],"enabled":true,"version":"1.0.0","metadata":{"usage":"ANALYTICS","ownerId":0,"spaceId":"","trigger":{"id":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","type":4},"tenantId":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","createdAt":"2025-08-31T23:22:27.929Z","createdBy":0,"updatedAt":"2025-08-31T23:27:51.207Z","orchestration":{"id":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","type":3,"attrs":{"last_run_status":"SUCCEEDED","last_run_endedAt":"2025-08-31T23:28:06Z","last_run_startedAt":"2025-08-31T23:28:04Z","last_run_worker_type":"reloads"}}},"keepActive":false,"resourceId":"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx","description":"this is an example of task response","specVersion":"1.16.0"}"""

# Top-level and metadata keys of the reference page's example response.
EXAMPLE_KEYS = {
    "id", "name", "events", "states", "enabled", "version", "metadata", "keepActive",
    "resourceId", "description", "specVersion",
}  # fmt: skip
EXAMPLE_METADATA_KEYS = {
    "usage", "ownerId", "spaceId", "trigger", "tenantId", "createdAt", "createdBy", "updatedAt",
    "orchestration",
}  # fmt: skip


def test_reference_create_example_is_accepted_verbatim(client: httpx.Client) -> None:
    response = client.post(
        TASKS, content=REFERENCE_CREATE_EXAMPLE, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    task = response.json()
    sent = json.loads(REFERENCE_CREATE_EXAMPLE)
    assert set(task) >= EXAMPLE_KEYS
    assert set(task["metadata"]) >= EXAMPLE_METADATA_KEYS
    assert task["id"] != sent["id"]  # server-generated
    assert task["enabled"] is False  # created disabled whatever the body says
    assert task["resourceId"] == "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"  # from the states
    for key in ("name", "events", "states", "version", "description", "specVersion"):
        assert task[key] == sent[key]
    assert task["metadata"]["trigger"]["type"] == 4  # the data-update trigger, as in the example
    assert task["metadata"]["orchestration"]["type"] == 3
    assert task["metadata"]["createdAt"] != sent["metadata"]["createdAt"]
    assert client.get(f"{TASKS}/{task['id']}").json() == task


def test_create_makes_the_caller_owner_and_fills_metadata(
    client: httpx.Client, emu: Emulator
) -> None:
    task = create(client, task_body("Sales ETL", description="Nightly"))
    owner = emu.user_id_for("test-token-owner-a")
    meta = task["metadata"]
    assert meta["ownerId"] == meta["createdBy"] == meta["updatedBy"] == owner
    assert meta["createdAt"] == meta["updatedAt"] == "2027-01-15T08:00:00.000Z"
    assert meta["tenantId"] == emu.config.tenant_id
    assert meta["topology"] == {"isChild": False, "isParent": False}
    assert "disabledCode" not in meta
    assert "migratedFrom" not in meta
    assert task["keepActive"] is False
    assert emu.get(task["id"]) == task


def test_body_id_resource_id_and_metadata_are_ignored(client: httpx.Client) -> None:
    app = app_id()
    body = task_body("T", app, id="my-id", resourceId="other", metadata={"ownerId": "someone"})
    task = create(client, body)
    assert task["id"] != "my-id"
    assert task["resourceId"] == app
    assert task["metadata"]["ownerId"] != "someone"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(states=[]), "task has 0 states instead of 1"),
        (lambda b: b.update(states=b["states"] * 2), "task has 2 states instead of 1"),
        (
            lambda b: b["states"][0]["onEvents"][0].update(actions=[]),
            "task has 0 Actions instead of 1",
        ),
        (
            lambda b: b["states"][0]["onEvents"].append(b["states"][0]["onEvents"][0]),
            "task has 2 Actions instead of 1",
        ),
        (lambda b: b.pop("name"), "name is required"),
        (lambda b: b.pop("specVersion"), "specVersion is required"),
    ],
)
def test_structure_is_enforced(client: httpx.Client, mutate: Any, message: str) -> None:
    body = task_body("T")
    mutate(body)
    error = assert_error(client.post(TASKS, json=body), 400)
    assert message in error["detail"]


def test_malformed_bodies_are_400(client: httpx.Client) -> None:
    assert_error(client.post(TASKS, content=b"{nope"), 400)
    assert_error(client.post(TASKS, json=[1, 2]), 400)
    assert_error(client.post(TASKS, content=b""), 400)


@pytest.mark.parametrize(
    "schedule",
    [
        {"recurrence": "RRULE:FREQ=SOMETIMES"},
        {"recurrence": "RRULE:FREQ=DAILY;BYHOUR=25"},
        {"recurrence": "DTSTART:20260101T000000\nRRULE:FREQ=DAILY"},
        {"recurrence": ["RRULE:FREQ=DAILY"]},
        {"timezone": "Mars/Olympus_Mons"},
        {"startDateTime": "2027-06-01T00:00:00", "endDateTime": "2027-05-01T00:00:00"},
        {"startDateTime": "2027-06-01T00:00:00", "endDateTime": "2027-06-01T00:00:00"},
        {"startDateTime": "2020-01-01T00:00:00", "endDateTime": "2021-01-01T00:00:00"},
        {"startDateTime": "not a date"},
        {"cron": "99 * * * *"},
    ],
)
def test_invalid_schedules_are_cho_017(client: httpx.Client, schedule: dict[str, Any]) -> None:
    assert_error(client.post(TASKS, json=scheduled_body("S", **schedule)), 400, "CHO-017")


def test_valid_schedules_are_accepted(client: httpx.Client) -> None:
    create(
        client, scheduled_body("a", timezone="Europe/Zurich", startDateTime="2027-02-01T06:00:00")
    )
    create(client, scheduled_body("b", recurrence="RRULE:FREQ=HOURLY;BYHOUR=10;BYMINUTE=20"))
    create(client, scheduled_body("c", recurrence=None, cron="0 6 * * 1-5"))
    body = task_body("d", start={"stateName": "reload", "schedule": "R/2027-01-01T00:00:00Z/PT1H"})
    assert create(client, body)["metadata"]["trigger"]["type"] == 1


def test_ten_tasks_per_app_then_cho_014(client: httpx.Client) -> None:
    app = app_id()
    for n in range(10):
        create(client, task_body(f"t{n}", app))
    error = assert_error(client.post(TASKS, json=task_body("t10", app)), 422, "CHO-014")
    assert "10" in error["detail"]
    create(client, task_body("elsewhere"))


def test_get_and_delete(client: httpx.Client) -> None:
    task = create(client, task_body("T"))
    assert client.get(f"{TASKS}/{task['id']}").status_code == 200
    response = client.delete(f"{TASKS}/{task['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(f"{TASKS}/{task['id']}"), 404)
    assert_error(client.delete(f"{TASKS}/{task['id']}"), 404)
    assert_error(client.patch(f"{TASKS}/nope", json=[]), 404)
    assert_error(client.put(f"{TASKS}/nope", json=task_body("x")), 404)


def test_patch_updates_and_transfers_ownership(
    client: httpx.Client, other: httpx.Client, emu: Emulator, clock: Any
) -> None:
    task = create(client, task_body("T"))
    clock.advance(5)
    ops = [
        {"op": "replace", "path": "/name", "value": "Renamed"},
        {"op": "add", "path": "/description", "value": "now described"},
        {"op": "add", "path": "/annotations", "value": ["managed-by:qlik-task-reconciler"]},
        {"op": "replace", "path": "/enabled", "value": True},
    ]
    response = other.patch(f"{TASKS}/{task['id']}", json=ops)
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["name"] == "Renamed"
    assert patched["enabled"] is True
    assert patched["annotations"] == ["managed-by:qlik-task-reconciler"]
    meta = patched["metadata"]
    assert meta["ownerId"] == meta["updatedBy"] == emu.user_id_for("test-token-owner-b")
    assert meta["createdBy"] == task["metadata"]["createdBy"]
    assert meta["createdAt"] == task["metadata"]["createdAt"]
    assert meta["updatedAt"] == "2027-01-15T08:00:05.000Z"
    assert patched["id"] == task["id"]


@pytest.mark.parametrize(
    "op",
    [
        {"op": "test", "path": "/name", "value": "T"},
        {"op": "replace", "path": "/id", "value": "x"},
        {"op": "replace", "path": "/resourceId", "value": "x"},
        {"op": "replace", "path": "/metadata/ownerId", "value": "x"},
        {"op": "remove", "path": "/metadata"},
        {"op": "move", "from": "/metadata/ownerId", "path": "/description"},
        {"op": "replace", "path": "", "value": {}},
        {"op": "frobnicate", "path": "/name"},
        {"op": "replace", "path": "/description", "value": "replace needs an existing member"},
    ],
)
def test_patch_refusals(client: httpx.Client, op: dict[str, Any]) -> None:
    task = create(client, task_body("T"))
    assert_error(client.patch(f"{TASKS}/{task['id']}", json=[op]), 400)
    assert client.get(f"{TASKS}/{task['id']}").json() == task


def test_patch_is_validated_like_create(client: httpx.Client) -> None:
    task = create(client, task_body("T"))
    path = f"{TASKS}/{task['id']}"
    assert_error(client.patch(path, json=[{"op": "remove", "path": "/states/0"}]), 400)
    bad = {"stateName": "reload", "schedule": {"recurrence": "RRULE:FREQ=NEVER"}}
    assert_error(client.patch(path, json=[{"op": "add", "path": "/start", "value": bad}]), 400)
    assert_error(client.patch(path, json={"op": "add"}), 400)


def test_patch_moving_to_a_full_app_is_cho_014(client: httpx.Client) -> None:
    full = app_id()
    for n in range(10):
        create(client, task_body(f"t{n}", full))
    task = create(client, task_body("mover"))
    op = {"op": "replace", "path": "/states/0/onEvents/0/actions/0/functionRef/arguments/appId"}
    response = client.patch(f"{TASKS}/{task['id']}", json=[{**op, "value": full}])
    assert_error(response, 422, "CHO-014")


def test_put_replaces_and_resets_omitted_fields(
    client: httpx.Client, other: httpx.Client, emu: Emulator
) -> None:
    task = create(client, task_body("T", description="d", keepActive=True, annotations=["a"]))
    enable(client, task["id"])
    replacement = task_body("T2")
    for key in ("enabled", "version"):
        replacement.pop(key)
    response = other.put(f"{TASKS}/{task['id']}", json=replacement)
    assert response.status_code == 200, response.text
    put = response.json()
    assert put["name"] == "T2"
    assert put["enabled"] is False
    assert put["keepActive"] is False
    for key in ("description", "annotations", "version"):
        assert key not in put
    assert put["metadata"]["ownerId"] == emu.user_id_for("test-token-owner-b")
    assert put["metadata"]["createdAt"] == task["metadata"]["createdAt"]
    assert put["metadata"]["disabledCode"] == "MANUALLY"


def test_enable_clears_disabled_code(client: httpx.Client, emu: Emulator) -> None:
    task = create(client, task_body("T"))
    emu.set_disabled(task["id"], "OWNER-DISABLED")
    assert (
        client.get(f"{TASKS}/{task['id']}").json()["metadata"]["disabledCode"] == "OWNER-DISABLED"
    )
    enable(client, task["id"])
    assert "disabledCode" not in client.get(f"{TASKS}/{task['id']}").json()["metadata"]


def test_unknown_routes_and_methods(client: httpx.Client) -> None:
    assert_error(client.get("/api/scheduling/nothing"), 404)
    response = client.post(f"{TASKS}/abc")
    assert_error(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "PATCH", "PUT", "DELETE"}


def test_hooks_put_task_raw_and_edit_task(client: httpx.Client, emu: Emulator) -> None:
    raw = task_body("Made in the UI")
    stored = emu.put_task_raw(raw)
    assert stored["id"]
    assert stored["metadata"]["ownerId"]
    assert stored["resourceId"]
    assert stored["enabled"] is True  # stored as given, not forced
    minimal = {k: v for k, v in raw.items() if k not in ("specVersion", "enabled", "version")}
    completed = emu.put_task_raw(minimal)
    assert completed["specVersion"] == "0.8"
    assert completed["enabled"] is False
    assert completed["keepActive"] is False
    ops = [{"op": "add", "path": "/description", "value": "adopted"}]
    assert client.patch(f"{TASKS}/{completed['id']}", json=ops).status_code == 200
    client.delete(f"{TASKS}/{completed['id']}")
    listed = client.get(TASKS).json()["data"]
    assert [t["name"] for t in listed] == ["Made in the UI"]
    edited = emu.edit_task(stored["id"], lambda doc: doc.update(description="changed") or doc)
    assert client.get(f"{TASKS}/{stored['id']}").json()["description"] == "changed"
    assert edited["description"] == "changed"
    kept = emu.put_task_raw({**task_body("fixed"), "id": "fixed-id", "annotations": ["x"]})
    assert kept["id"] == "fixed-id"
    assert emu.get("fixed-id") is not None


def test_patch_may_answer_204(clock: Any) -> None:
    emu = Emulator(EmulatorConfig(patch_answers_204=True), clock=clock)
    headers = {"Authorization": "Bearer t"}
    with httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers) as c:
        task = create(c, task_body("T"))
        response = c.patch(
            f"{TASKS}/{task['id']}", json=[{"op": "replace", "path": "/name", "value": "U"}]
        )
        assert response.status_code == 204
        assert response.content == b""
        assert c.get(f"{TASKS}/{task['id']}").json()["name"] == "U"
