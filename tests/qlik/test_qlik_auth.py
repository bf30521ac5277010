"""Secrets, credentials from the environment, the tenant URL check, and the OAuth token flow."""

from __future__ import annotations

import asyncio
import copy
import json
import pickle

import httpx
import pytest
import respx

from reconciler.errors import ApiError, ConfigError
from reconciler.qlik import Credentials, Secret, validate_tenant_url
from tests.qlik.conftest import SECRET, FakeTime, MakeClient

pytestmark = pytest.mark.anyio

OAUTH = Credentials(client_id="client-1", client_secret=Secret(SECRET))


# -- Secret ---------------------------------------------------------------------------------------


def test_secret_never_prints() -> None:
    secret = Secret(SECRET)
    rendered = [
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        "%s" % secret,  # noqa: UP031 - old-style formatting must hide it too
        f"{secret}",
        f"{secret:>5}",
    ]
    assert all(SECRET not in text for text in rendered)
    assert str(secret) == "***"
    assert secret.reveal() == SECRET
    assert SECRET not in repr(Credentials(api_key=secret))
    assert SECRET not in repr(OAUTH)


def test_secret_is_never_serialised() -> None:
    secret = Secret(SECRET)
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(TypeError):
        pickle.dumps(OAUTH)
    with pytest.raises(TypeError):
        json.dumps({"key": secret})
    assert copy.deepcopy(secret) is secret
    assert Secret(SECRET) == secret
    assert Secret("other") != secret


# -- Credentials ----------------------------------------------------------------------------------


def test_credentials_from_env_api_key() -> None:
    creds = Credentials.from_env({"QLIK_API_KEY": SECRET})
    assert creds.api_key is not None
    assert creds.api_key.reveal() == SECRET
    assert not creds.is_oauth


def test_credentials_from_env_oauth() -> None:
    creds = Credentials.from_env({"QLIK_CLIENT_ID": "id-1", "QLIK_CLIENT_SECRET": SECRET})
    assert creds.is_oauth
    assert creds.client_id == "id-1"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "no credentials"),
        ({"QLIK_API_KEY": "  "}, "no credentials"),
        ({"QLIK_CLIENT_ID": "id-1"}, "both QLIK_CLIENT_ID and QLIK_CLIENT_SECRET"),
        ({"QLIK_CLIENT_SECRET": SECRET}, "both QLIK_CLIENT_ID and QLIK_CLIENT_SECRET"),
        ({"QLIK_API_KEY": SECRET, "QLIK_CLIENT_ID": "id-1"}, "set only one"),
    ],
)
def test_credentials_from_env_refuses(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Credentials.from_env(environ)
    assert SECRET not in str(info.value)
    assert Credentials.present_in(environ) == any(v.strip() for v in environ.values())


# -- tenant URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://tenant.eu.qlikcloud.com", "https://tenant.eu.qlikcloud.com"),
        ("https://tenant.eu.qlikcloud.com///", "https://tenant.eu.qlikcloud.com"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.9.9.9:1", "http://127.9.9.9:1"),
        ("http://localhost:5000", "http://localhost:5000"),
        ("http://[::1]:5000", "http://[::1]:5000"),
    ],
)
def test_tenant_url_accepted(url: str, expected: str) -> None:
    assert validate_tenant_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://tenant.eu.qlikcloud.com", "must use https"),
        ("http://10.0.0.1:8080", "must use https"),
        ("http://localhost.evil.example", "must use https"),
        ("ftp://tenant.example", "must look like https://"),
        ("tenant.eu.qlikcloud.com", "must look like https://"),
        ("https://", "must look like https://"),
        ("https://tenant.example/?x=1", "query"),
        ("https://tenant.example:99999", "not a valid URL"),
        (f"https://user:{SECRET}@tenant.example", "user name or password"),
    ],
)
def test_tenant_url_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        validate_tenant_url(url)
    assert SECRET not in str(info.value)


def test_client_refuses_plain_http_for_a_remote_host() -> None:
    from reconciler.qlik import TenantClient

    with pytest.raises(ConfigError, match="https"):
        TenantClient("http://tenant.eu.qlikcloud.com", OAUTH)


# -- OAuth ----------------------------------------------------------------------------------------


def _token_route(router: respx.MockRouter, *tokens: str, expires_in: int = 21600) -> respx.Route:
    answers = [
        httpx.Response(
            200, json={"access_token": t, "token_type": "bearer", "expires_in": expires_in}
        )
        for t in tokens
    ]
    return router.post("/oauth/token").mock(side_effect=answers)


async def test_token_is_fetched_once_and_cached(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    tokens = _token_route(router, "tok-1")
    tasks = router.get(url__regex=r"/api/scheduling/tasks/t\d$").mock(
        return_value=httpx.Response(200, json={"id": "t"})
    )
    async with make_client(credentials=OAUTH) as client:
        await asyncio.gather(*(client.get_task(f"t{i}") for i in range(5)))
    assert tokens.call_count == 1
    sent = json.loads(tokens.calls[0].request.content)
    assert sent == {
        "client_id": "client-1",
        "client_secret": SECRET,
        "grant_type": "client_credentials",
    }
    assert tokens.calls[0].request.headers["content-type"] == "application/json"
    assert all(c.request.headers["authorization"] == "Bearer tok-1" for c in tasks.calls)
    assert client.requests.by_operation == {"oauth_token": 1, "get_task": 5}


async def test_token_is_refreshed_shortly_before_it_expires(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    tokens = _token_route(router, "tok-1", "tok-2", expires_in=600)
    task = router.get("/api/scheduling/tasks/t1").mock(
        return_value=httpx.Response(200, json={"id": "t1"})
    )
    async with make_client(credentials=OAUTH) as client:
        await client.get_task("t1")
        fake_time.now += 600 - 61  # still inside the 60 s margin
        await client.get_task("t1")
        assert tokens.call_count == 1
        fake_time.now += 2  # now within 60 s of expiry
        await client.get_task("t1")
    assert tokens.call_count == 2
    assert task.calls[-1].request.headers["authorization"] == "Bearer tok-2"


async def test_401_refreshes_the_token_once_then_succeeds(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    tokens = _token_route(router, "tok-1", "tok-2")

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == "Bearer tok-1":
            return httpx.Response(401, json={"errors": [{"code": 401, "title": "Unauthorized"}]})
        return httpx.Response(200, json={"id": "t1"})

    router.get("/api/scheduling/tasks/t1").mock(side_effect=answer)
    async with make_client(credentials=OAUTH) as client:
        assert await client.get_task("t1") == {"id": "t1"}
    assert tokens.call_count == 2


async def test_a_second_401_is_an_error(make_client: MakeClient, router: respx.MockRouter) -> None:
    tokens = _token_route(router, "tok-1", "tok-2", "tok-3")
    task = router.get("/api/scheduling/tasks/t1").mock(
        return_value=httpx.Response(401, json={"errors": [{"code": 401, "title": "Unauthorized"}]})
    )
    async with make_client(credentials=OAUTH) as client:
        with pytest.raises(ApiError) as info:
            await client.get_task("t1")
    assert info.value.status == 401
    assert tokens.call_count == 2
    assert task.call_count == 2


async def test_api_key_401_is_not_retried(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    task = router.get("/api/scheduling/tasks/t1").mock(return_value=httpx.Response(401))
    async with make_client() as client:
        with pytest.raises(ApiError, match="HTTP 401"):
            await client.get_task("t1")
    assert task.call_count == 1
    assert task.calls[0].request.headers["authorization"] == f"Bearer {SECRET}"


async def test_token_endpoint_refusal_is_an_api_error(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.post("/oauth/token").mock(
        return_value=httpx.Response(
            401, json={"errors": [{"code": "OAUTH-1", "title": "invalid client"}]}
        )
    )
    task = router.get("/api/scheduling/tasks/t1")
    async with make_client(credentials=OAUTH) as client:
        with pytest.raises(ApiError) as info:
            await client.get_task("t1")
    assert (info.value.method, info.value.path, info.value.status) == ("POST", "/oauth/token", 401)
    assert info.value.code == "OAUTH-1"
    assert task.call_count == 0


async def test_token_endpoint_503_is_retried(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.post("/oauth/token").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(200, json={"access_token": "tok-1", "expires_in": 3600}),
        ]
    )
    router.post("/api/scheduling/tasks").mock(return_value=httpx.Response(201, json={"id": "n"}))
    async with make_client(credentials=OAUTH) as client:
        # A create whose token request failed was never sent: it is retried, not ambiguous.
        assert await client.create_task({"name": "x"}) == {"id": "n"}


async def test_token_answer_without_access_token(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.post("/oauth/token").mock(return_value=httpx.Response(200, json={"token_type": "x"}))
    async with make_client(credentials=OAUTH) as client:
        with pytest.raises(ApiError, match="access_token"):
            await client.get_task("t1")
