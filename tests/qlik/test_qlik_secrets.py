"""Secrets never leak: every error path runs with a recognisable API key, client secret and token,
against a tenant that even echoes them back, and every captured text is scanned for them."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable

import httpx
import pytest

from reconciler.errors import ApiError, ConfigError
from reconciler.qlik import Credentials, RetryPolicy, Secret, TenantClient
from tests.qlik.conftest import SECRET, TENANT, MakeClient

pytestmark = pytest.mark.anyio

TOKEN = f"{SECRET}-token"
ECHO = f"you sent Authorization: Bearer {SECRET} and client_secret={SECRET}"


def _json_echo(status: int) -> httpx.Response:
    body = {
        "errors": [{"code": status, "title": f"refused {SECRET}", "detail": ECHO}],
        "traceId": SECRET,
    }
    return httpx.Response(status, json=body)


def _raise(error: type[httpx.HTTPError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error(f"failed while sending Bearer {SECRET}")

    return handler


def _always(response: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        return response

    return handler


def _token_refused(request: httpx.Request) -> httpx.Response:
    return _json_echo(401)


API_KEY = Credentials(api_key=Secret(SECRET))
OAUTH = Credentials(client_id="client-1", client_secret=Secret(SECRET))

CASES: list[tuple[str, Credentials, Callable[[httpx.Request], httpx.Response]]] = [
    ("401", API_KEY, _always(_json_echo(401))),
    ("401 oauth", OAUTH, _always(_json_echo(401))),
    ("403", API_KEY, _always(_json_echo(403))),
    ("404", OAUTH, _always(_json_echo(404))),
    ("500 text", API_KEY, _always(httpx.Response(500, text=ECHO))),
    ("503 exhausted", OAUTH, _always(_json_echo(503))),
    ("502 html", API_KEY, _always(httpx.Response(502, html=f"<p>{ECHO}</p>"))),
    ("read timeout", API_KEY, _raise(httpx.ReadTimeout)),
    ("connect timeout", OAUTH, _raise(httpx.ConnectTimeout)),
    ("connection refused", API_KEY, _raise(httpx.ConnectError)),
    ("connection lost", OAUTH, _raise(httpx.RemoteProtocolError)),
    ("oauth refused", OAUTH, _token_refused),
    ("oauth unreachable", OAUTH, _raise(httpx.ConnectError)),
]

Operation = Callable[[TenantClient], Awaitable[object]]
OPERATIONS: list[tuple[str, Operation]] = [
    ("get", lambda c: c.get_task("t1")),
    ("list", lambda c: c.list_tasks()),
    ("create", lambda c: c.create_task({"name": "x"})),
    ("patch", lambda c: c.patch_task("t1", [])),
]


def _texts(exc: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, args, its formatted traceback with the chain,
    and the same for every cause and context."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        link = todo.pop()
        if link is None or link in seen:
            continue
        seen.append(link)
        assert not isinstance(link, httpx.HTTPError), "an httpx exception escaped or is chained"
        texts += [str(link), repr(link), repr(link.args), repr(vars(link))]
        todo += [link.__cause__, link.__context__]
    return texts


@pytest.mark.parametrize(("name", "credentials", "handler"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize(("op_name", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
async def test_no_error_path_shows_a_secret(
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    name: str,
    credentials: Credentials,
    handler: Callable[[httpx.Request], httpx.Response],
    op_name: str,
    operation: Operation,
) -> None:
    caplog.set_level(logging.DEBUG)
    retry = RetryPolicy(max_attempts=3)
    async with make_client(handler=handler, credentials=credentials, retry=retry) as client:
        with pytest.raises(ApiError) as info:
            await operation(client)
        texts = [*_texts(info.value), repr(client), repr(credentials), str(client.requests)]
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    texts += [record.getMessage() for record in caplog.records]
    assert all(SECRET not in text for text in texts), name
    assert info.value.one_line()  # still a useful line


def test_bad_url_and_config_errors_show_no_secret() -> None:
    for url in (f"https://user:{SECRET}@tenant.example", f"http://{SECRET}.example.com"):
        with pytest.raises(ConfigError) as info:
            TenantClient(url, API_KEY)
        message = "".join(traceback.format_exception(info.value))
        # The host is not a secret, but the password is.
        if "@" in url:
            assert SECRET not in message
    with pytest.raises(ConfigError) as info:
        Credentials.from_env({"QLIK_API_KEY": SECRET, "QLIK_CLIENT_SECRET": SECRET})
    assert SECRET not in "".join(traceback.format_exception(info.value))


def test_the_tenant_constant_is_not_secret() -> None:
    assert SECRET not in TENANT


OAUTH_CASES = [case for case in CASES if case[1] is OAUTH]


@pytest.mark.parametrize(
    ("name", "credentials", "handler"), OAUTH_CASES, ids=[c[0] for c in OAUTH_CASES]
)
async def test_no_impersonation_path_shows_a_secret(
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    name: str,
    credentials: Credentials,
    handler: Callable[[httpx.Request], httpx.Response],
) -> None:
    """Writes made as a task's owner use a token of their own: it is scrubbed like the others."""
    caplog.set_level(logging.DEBUG)
    retry = RetryPolicy(max_attempts=3)
    async with make_client(handler=handler, credentials=credentials, retry=retry) as client:
        as_owner = client.acting_as("subject", "auth0|anna-berg")
        with pytest.raises(ApiError) as info:
            await as_owner.patch_task("t1", [])
        texts = [*_texts(info.value), repr(client), repr(as_owner), str(client.requests)]
    captured = capsys.readouterr()
    texts += [caplog.text, captured.out, captured.err]
    texts += [record.getMessage() for record in caplog.records]
    assert all(SECRET not in text for text in texts), name


# A secret with a character no header can carry: httpx refuses the header with an error that
# quotes it, escaped (`b'Bearer SECRET-abc\\n123-XYZ'`), where a plain search for it finds nothing.
HALVES = ("SECRET-abc", "123-XYZ-second-half")
UNSENDABLE = [f"{HALVES[0]}{sep}{HALVES[1]}" for sep in ("\n", "\r\n", "\t", " ", "\x00", "é")]


def _no_half_in(texts: list[str]) -> None:
    for text in texts:
        for half in HALVES:
            assert half not in text, "a part of the secret appears"


@pytest.mark.parametrize("key", UNSENDABLE, ids=repr)
def test_an_api_key_no_header_can_carry_is_refused_without_showing_it(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        Credentials.from_env({"QLIK_API_KEY": key})
    _no_half_in(_texts(info.value))
    assert "QLIK_API_KEY" in str(info.value)


@pytest.mark.parametrize("token", UNSENDABLE, ids=repr)
@pytest.mark.parametrize(("op_name", "operation"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
async def test_an_access_token_no_header_can_carry_is_refused_without_showing_it(
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
    token: str,
    op_name: str,
    operation: Operation,
) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": token, "expires_in": 3600})
        return httpx.Response(200, json={"id": "t1", "data": []})

    async with make_client(handler=handler, credentials=OAUTH) as client:
        with pytest.raises(ApiError) as info:
            await operation(client)
    _no_half_in([*_texts(info.value), caplog.text])
    assert "/oauth/token" in info.value.one_line()


def test_scrubbing_finds_every_spelling_of_a_secret() -> None:
    from reconciler.qlik.auth import QlikAuth, spellings

    secret = f"{HALVES[0]}\n{HALVES[1]}"
    auth = QlikAuth(
        Credentials(client_id="c", client_secret=Secret(secret)),
        tenant_url=TENANT,
        user_agent="test",
        clock=lambda: 0.0,
    )
    for form in spellings(secret):
        _no_half_in([auth.scrub(f"before {form} after")])
    escaped = f"Illegal header value {f'Bearer {secret}'.encode()!r}"
    _no_half_in([auth.scrub(escaped), auth.scrub(repr(secret)), auth.scrub(f"{secret!a}")])
