"""The local tenant's users: `users/me`, a user by id, SCIM filters, the impersonation grant, and
ownership (`ownerId`, `scriptOwnerId`, `updatedBy`) following the identity that writes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from emulator_docs import BASE, TASKS, assert_error, create, task_body

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock

USERS = "/api/v1/users"
GRANT = "urn:qlik:oauth:user-impersonation"
CLIENT = {"client_id": "qlik-gitops", "client_secret": "s3cret"}


def impersonating(clock: ManualClock, allowed: frozenset[str]) -> Emulator:
    config = EmulatorConfig(oauth_clients={"qlik-gitops": "s3cret"}, impersonation_clients=allowed)
    return Emulator(config, clock=clock)


def token(c: httpx.Client, **grant: Any) -> httpx.Response:
    return c.post("/oauth/token", json={**CLIENT, **grant})


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def test_a_new_tenant_knows_people_and_the_caller(client: httpx.Client) -> None:
    people = client.get(USERS, params={"limit": 100}).json()["data"]
    assert {"Anna Berg", "Ben Okafor", "Carla Diaz"} <= {p["name"] for p in people}
    me = client.get(f"{USERS}/me")
    assert me.status_code == 200
    caller = me.json()
    assert caller["status"] == "active"
    assert "test-token-owner-a" not in me.text  # the key is never part of its user
    assert client.get(f"{USERS}/{caller['id']}").json() == caller
    assert_error(client.get(f"{USERS}/no-such-user"), 404)


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ('email eq "ben.okafor@example.com"', ["Ben Okafor"]),
        ('subject eq "auth0|anna-berg"', ["Anna Berg"]),
        ('name eq "carla diaz"', ["Carla Diaz"]),
        ('status eq "disabled"', ["Carla Diaz"]),
        ('email eq "nobody@example.com"', []),
    ],
)
def test_users_filter(client: httpx.Client, expression: str, names: list[str]) -> None:
    found = client.get(USERS, params={"filter": expression}).json()["data"]
    assert [u["name"] for u in found] == names


def test_users_filter_by_id_and_a_bad_field(client: httpx.Client) -> None:
    anna = client.get(USERS, params={"filter": 'name eq "Anna Berg"'}).json()["data"][0]
    by_id = client.get(USERS, params={"filter": f'id eq "{anna["id"]}"'}).json()["data"]
    assert by_id == [anna]
    assert_error(client.get(USERS, params={"filter": 'password eq "x"'}), 400)


def test_impersonation_is_off_unless_allowed(clock: ManualClock) -> None:
    emu = impersonating(clock, frozenset())
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        lookup = {"field": "subject", "value": "auth0|ben-okafor"}
        refused = token(c, grant_type=GRANT, user_lookup=lookup)
        assert refused.status_code == 400
        assert refused.json()["error"] == "unauthorized_client"
        assert token(c, grant_type="client_credentials").status_code == 200


def test_writes_with_an_impersonation_token_are_the_users(clock: ManualClock) -> None:
    emu = impersonating(clock, frozenset({"qlik-gitops"}))
    ben = next(u for u in emu.users() if u["name"] == "Ben Okafor")
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        lookup = {"field": "subject", "value": "auth0|ben-okafor"}
        issued = token(c, grant_type=GRANT, user_lookup=lookup, scope="user_default")
        assert issued.status_code == 200, issued.text
        as_ben = bearer(issued.json()["access_token"])
        assert c.get(f"{USERS}/me", headers=as_ben).json()["id"] == ben["id"]
        created = create(
            httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=as_ben),
            task_body("t"),
        )
        meta = created["metadata"]
        assert meta["ownerId"] == meta["scriptOwnerId"] == meta["updatedBy"] == ben["id"]

        bot = bearer(token(c, grant_type="client_credentials").json()["access_token"])
        bot_user = c.get(f"{USERS}/me", headers=bot).json()
        assert bot_user["name"] == "qlik-gitops"
        ops = [{"op": "add", "path": "/description", "value": "x"}]
        answer = c.patch(f"{TASKS}/{created['id']}", json=ops, headers=bot)
        assert answer.status_code == 200, answer.text
        patched = answer.json()["metadata"]
        assert patched["ownerId"] == patched["scriptOwnerId"] == bot_user["id"]
        assert patched["updatedBy"] == bot_user["id"]
        assert patched["createdBy"] == ben["id"]

        by_id = {"field": "userId", "value": ben["id"]}
        assert token(c, grant_type=GRANT, user_lookup=by_id).status_code == 200


@pytest.mark.parametrize(
    ("lookup", "error"),
    [
        ({"field": "subject", "value": "auth0|carla-diaz"}, "invalid_grant"),  # disabled
        ({"field": "subject", "value": "auth0|nobody"}, "invalid_grant"),
        ({"field": "email", "value": "ben.okafor@example.com"}, "invalid_request"),
        (None, "invalid_request"),
    ],
)
def test_impersonation_refusals(clock: ManualClock, lookup: Any, error: str) -> None:
    emu = impersonating(clock, frozenset({"*"}))
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        refused = token(c, grant_type=GRANT, user_lookup=lookup)
        assert refused.status_code == 400
        assert refused.json()["error"] == error


def test_a_disabled_user_cannot_be_impersonated_any_more(clock: ManualClock) -> None:
    emu = impersonating(clock, frozenset({"*"}))
    ben = next(u for u in emu.users() if u["name"] == "Ben Okafor")
    emu.set_user_status(ben["id"], "disabled")
    with httpx.Client(base_url=BASE, transport=emu.sync_transport()) as c:
        lookup = {"field": "userId", "value": ben["id"]}
        assert token(c, grant_type=GRANT, user_lookup=lookup).status_code == 400


def test_change_owner_hook_and_seeded_users(clock: ManualClock) -> None:
    seed = {"users": [{"name": "Dana Li", "email": "dana@example.com", "subject": "idp|dana"}]}
    emu = Emulator(EmulatorConfig(), seed=seed, clock=clock)
    dana = emu.users()[0]
    assert dana["name"] == "Dana Li"
    with httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=bearer("k")) as c:
        task = create(c, task_body("t"))
    clock.advance(60)
    moved = emu.change_owner(task["id"], dana["id"])["metadata"]
    assert moved["ownerId"] == moved["scriptOwnerId"] == moved["updatedBy"] == dana["id"]
    assert moved["updatedAt"] > task["metadata"]["updatedAt"]
