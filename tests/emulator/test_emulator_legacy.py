"""Legacy reload-tasks, migrateFrom, reloads, apps, OAuth client credentials and bearer auth."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from emulator_docs import BASE, TASKS, app_id, assert_error, create, scheduled_body, task_body

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock

LEGACY = "/api/v1/reload-tasks"

# The create example of the legacy reload-tasks reference page, verbatim (its curl body).
REFERENCE_LEGACY_EXAMPLE = """{"appId":"116dbfae-7fb9-4983-8e23-5ccd8c508722","partial":false,"timeZone":"America/Toronto","autoReload":false,"recurrence":["RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=11;BYMINUTE=18;BYSECOND=0","RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0"],"endDateTime":"2022-10-12T23:59:00","startDateTime":"2022-09-19T11:18:00","autoReloadPartial":false,"type":"scheduled_reload"}"""
LEGACY_REQUIRED_KEYS = {"appId", "timeZone", "id", "links", "state", "userId", "tenantId"}


def legacy_doc(app: str | None = None, **extra: Any) -> dict[str, Any]:
    doc = json.loads(REFERENCE_LEGACY_EXAMPLE)
    doc.pop("type")
    if app:
        doc["appId"] = app
    doc.update(extra)
    return doc


def test_reference_legacy_example_is_accepted_verbatim(client: httpx.Client) -> None:
    response = client.post(
        LEGACY, content=REFERENCE_LEGACY_EXAMPLE, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    task = response.json()
    sent = json.loads(REFERENCE_LEGACY_EXAMPLE)
    assert set(task) >= LEGACY_REQUIRED_KEYS
    for key in sent.keys() - {"type"}:
        assert task[key] == sent[key]
    assert task["state"] == "Enabled"
    assert task["links"]["self"]["href"] == f"{LEGACY}/{task['id']}"
    assert len(task["id"]) == 24
    assert client.get(f"{LEGACY}/{task['id']}").json() == task


def test_legacy_crud_and_errors(client: httpx.Client) -> None:
    task = client.post(LEGACY, json=legacy_doc()).json()
    path = f"{LEGACY}/{task['id']}"
    updated = client.put(path, json={"state": "Disabled", "partial": True})
    assert updated.status_code == 200
    assert updated.json()["state"] == "Disabled"
    assert updated.json()["partial"] is True
    assert updated.json()["recurrence"] == task["recurrence"]
    assert_error(client.put(path, json={"state": "Sleeping"}), 400, "TASKS-400")
    assert client.delete(path).status_code == 204
    assert_error(client.get(path), 404, "TASKS-404")
    assert_error(client.post(LEGACY, json=legacy_doc(appId="")), 400)
    assert_error(client.post(LEGACY, json=legacy_doc(timeZone="Nowhere/City")), 400)
    assert_error(client.post(LEGACY, json=legacy_doc(recurrence=["RRULE:FREQ=NO"])), 400)


def test_legacy_pagination_and_filters(client: httpx.Client, emu: Emulator) -> None:
    app = app_id()
    ids = [
        client.post(LEGACY, json=legacy_doc(app if n % 2 else None)).json()["id"] for n in range(12)
    ]
    seen, href, pages = [], f"{LEGACY}?limit=5", 0
    while href:
        body = client.get(href).json()
        seen += [t["id"] for t in body["data"]]
        href = body["links"].get("next", {}).get("href")
        pages += 1
        if href:
            assert "next=" in href
            assert "limit=5" in href
    assert seen == ids
    assert pages == 3
    last = client.get(f"{LEGACY}?limit=5").json()
    second = client.get(last["links"]["next"]["href"]).json()
    assert "prev=" in second["links"]["prev"]["href"]
    back = client.get(second["links"]["prev"]["href"]).json()
    assert [t["id"] for t in back["data"]] == ids[:5]
    assert len(client.get(LEGACY, params={"appId": app, "limit": 100}).json()["data"]) == 6
    assert_error(client.get(LEGACY, params={"limit": 101}), 400)
    assert [t["id"] for t in emu.legacy_tasks()] == ids


def test_migrate_from_flags_the_legacy_task(client: httpx.Client, emu: Emulator) -> None:
    legacy = emu.add_legacy(legacy_doc())
    assert legacy["id"]
    assert legacy["links"]["self"]["href"].endswith(legacy["id"])
    # Migration keeps the legacy schedule, even one that already ended.
    body = scheduled_body(
        "migrated", startDateTime="2022-09-19T11:18:00", endDateTime="2022-10-12T23:59:00"
    )
    assert_error(client.post(TASKS, json=body), 400, "CHO-017")
    task = create(client, body, migrateFrom=legacy["id"])
    assert task["metadata"]["migratedFrom"] == legacy["id"]
    assert client.get(f"{LEGACY}/{legacy['id']}").json()["migrated"] is True
    assert_error(client.post(TASKS, json=task_body("x"), params={"migrateFrom": "nope"}), 404)
    ops = [{"op": "add", "path": "/description", "value": "x"}]
    patched = client.patch(f"{TASKS}/{task['id']}", json=ops)
    assert patched.json()["metadata"]["migratedFrom"] == legacy["id"]


def test_reloads(client: httpx.Client, emu: Emulator) -> None:
    app = app_id()
    response = client.post("/api/v1/reloads", json={"appId": app, "partial": False})
    assert response.status_code == 201, response.text
    reload = response.json()
    assert reload["appId"] == app
    assert reload["status"] == "SUCCEEDED"
    assert reload["type"] == "external"
    assert {"id", "type", "appId", "status", "userId", "tenantId", "creationTime"} <= set(reload)
    assert client.get(f"/api/v1/reloads/{reload['id']}").json() == reload
    emu.fail_app(app)
    failed = client.post("/api/v1/reloads", json={"appId": app}).json()
    assert failed["status"] == "FAILED"
    assert failed["errorCode"]
    assert_error(client.post("/api/v1/reloads", json={"partial": True}), 400, "RELOADS-001")
    assert_error(client.get("/api/v1/reloads/nope"), 404)


def test_apps(client: httpx.Client, emu: Emulator) -> None:
    app = app_id()
    assert_error(client.get(f"/api/v1/apps/{app}"), 404)
    emu.add_app(app, "Sales", space_id="space-1")
    attributes = client.get(f"/api/v1/apps/{app}").json()["attributes"]
    assert attributes["id"] == app
    assert attributes["name"] == "Sales"
    task = create(client, task_body("on a known app", app))
    assert task["metadata"]["resourceName"] == "Sales"
    assert task["metadata"]["spaceId"] == "space-1"


def test_bearer_auth_is_required(emu: Emulator) -> None:
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as anonymous:
        assert_error(anonymous.get(TASKS), 401)
        assert_error(anonymous.get(TASKS, headers={"Authorization": "Bearer "}), 401)
        assert_error(anonymous.get(TASKS, headers={"Authorization": "Basic abc"}), 401)
        assert_error(anonymous.get(LEGACY), 401)
        assert anonymous.get(TASKS, headers={"Authorization": "Bearer anything"}).status_code == 200


def oauth_emulator(clock: ManualClock) -> Emulator:
    config = EmulatorConfig(api_key="the-key", oauth_clients={"ci": "s3cret"}, token_expires_in=600)
    return Emulator(config, clock=clock)


def test_api_key_and_oauth_tokens(clock: ManualClock) -> None:
    emu = oauth_emulator(clock)
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        assert_error(c.get(TASKS, headers={"Authorization": "Bearer wrong"}), 401)
        assert c.get(TASKS, headers={"Authorization": "Bearer the-key"}).status_code == 200
        grant = {"client_id": "ci", "client_secret": "s3cret", "grant_type": "client_credentials"}
        assert_error(c.post("/oauth/token", json={**grant, "client_secret": "nope"}), 401)
        assert_error(c.post("/oauth/token", json={**grant, "grant_type": "password"}), 400)
        issued = c.post("/oauth/token", json=grant)
        assert issued.status_code == 200, issued.text
        token = issued.json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 600
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        with httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers) as ci:
            task = create(ci, task_body("t"))
        again = c.post("/oauth/token", json=grant).json()["access_token"]
        assert emu.user_id_for(again) == task["metadata"]["ownerId"]  # one client, one owner
        clock.advance(601)
        assert_error(c.get(TASKS, headers=headers), 401)


def test_secrets_are_not_in_the_config_repr() -> None:
    config = EmulatorConfig(api_key="the-key", oauth_clients={"ci": "s3cret"})
    assert "the-key" not in repr(config)
    assert "s3cret" not in repr(config)


@pytest.mark.parametrize("path", ["/api/v1/apps/x", LEGACY, "/api/v1/reloads/x"])
def test_every_api_answers_errors_in_the_service_shape(client: httpx.Client, path: str) -> None:
    assert_error(client.delete(path), 405)


def test_api_key_is_the_client_secret_when_no_clients_are_configured(clock: ManualClock) -> None:
    emu = Emulator(EmulatorConfig(api_key="the-key"), clock=clock)
    grant = {"client_id": "anyone", "grant_type": "client_credentials"}
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        assert_error(c.post("/oauth/token", json={**grant, "client_secret": "guess"}), 401)
        form = {**grant, "client_secret": "the-key"}
        issued = c.post("/oauth/token", data=form)  # form-encoded is accepted too
        assert issued.status_code == 200, issued.text
        headers = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        assert c.get(TASKS, headers=headers).status_code == 200
