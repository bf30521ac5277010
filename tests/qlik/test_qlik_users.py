"""The users API through the client, and writes made as another user (OAuth user impersonation),
against the local tenant in-process."""

from __future__ import annotations

import pytest

from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.errors import ApiError, ConfigError
from reconciler.qlik import Credentials, Secret, TenantClient
from reconciler.qlik import users as users_api
from tests.emulator.emulator_docs import task_body

pytestmark = pytest.mark.anyio
TENANT = "https://tenant.example.local"
BODY = task_body("t", "116dbfae-7fb9-4983-8e23-5ccd8c508722")


def oauth_client(emu: Emulator) -> TenantClient:
    credentials = Credentials(client_id="qlik-gitops", client_secret=Secret("s3cret"))
    return TenantClient(TENANT, credentials, transport=emu.transport())


def tenant(*allowed: str) -> Emulator:
    config = EmulatorConfig(
        oauth_clients={"qlik-gitops": "s3cret"}, impersonation_clients=frozenset(allowed)
    )
    return Emulator(config)


async def test_identities_resolve_each_owner_once() -> None:
    emu = tenant("qlik-gitops")
    anna = next(u for u in emu.users() if u["name"] == "Anna Berg")
    async with oauth_client(emu) as client:
        ids = await users_api.read_identities(
            client,
            [anna["id"], anna["id"], "gone-user"],
            ["ben.okafor@example.com", "auth0|anna-berg", anna["id"], "nobody@example.com"],
        )
        counted = dict(client.requests.by_operation)
    assert ids.caller.name == "qlik-gitops"
    assert ids.oauth is True
    assert ids.resolved["ben.okafor@example.com"] is not None
    assert ids.resolved["auth0|anna-berg"] == ids.resolved[anna["id"]]
    assert ids.resolved["nobody@example.com"] is None
    assert ids.people["gone-user"].name == "unknown user gone-user"
    assert counted["get_user"] == 3  # the id given as owner, a subject tried as an id, gone-user
    assert all(reason is None for reason in ids.refusals.values())
    assert len(ids.refusals) == 2  # Ben and Anna, each checked once


async def test_a_client_without_the_grant_is_refused_in_words() -> None:
    emu = tenant()
    async with oauth_client(emu) as client:
        ids = await users_api.read_identities(client, [], ["ben.okafor@example.com"])
    ben = ids.resolved["ben.okafor@example.com"]
    assert ben is not None
    refusal = ids.refusals[ben.id]
    assert refusal is not None
    assert "400" in refusal


async def test_writes_as_the_owner_keep_the_task_theirs() -> None:
    emu = tenant("qlik-gitops")
    async with oauth_client(emu) as client:
        ben = (await users_api.find_users(client, "email", "ben.okafor@example.com"))[0]
        as_ben = client.acting_as("subject", ben.subject)
        created = await as_ben.create_task(BODY)
        await as_ben.patch_task(
            created["id"], [{"op": "replace", "path": "/enabled", "value": True}]
        )
        again = client.acting_as("subject", ben.subject)
        await again.patch_task(created["id"], [{"op": "add", "path": "/description", "value": "x"}])
        tokens = client.requests.by_operation["oauth_token"]
    meta = emu.get(created["id"])["metadata"]  # type: ignore[index]
    assert meta["ownerId"] == meta["scriptOwnerId"] == meta["updatedBy"] == ben.id
    assert tokens == 2  # the client's own token (for the lookup), and one cached for Ben


async def test_an_api_key_cannot_act_as_anyone() -> None:
    emu = tenant("*")
    client = TenantClient(TENANT, Credentials(api_key=Secret("k")), transport=emu.transport())
    async with client:
        with pytest.raises(ConfigError):
            client.acting_as("subject", "auth0|ben-okafor")
        me = await users_api.me(client)
    assert me.name.startswith("API key user")


async def test_impersonating_a_disabled_user_fails_with_the_tenants_answer() -> None:
    emu = tenant("*")
    async with oauth_client(emu) as client:
        with pytest.raises(ApiError) as info:
            await users_api.me(client.acting_as("subject", "auth0|carla-diaz"))
    assert info.value.status == 400
