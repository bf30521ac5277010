"""The client over real sockets on 127.0.0.1: the default transport, OAuth, a refused connection and
an answer that never comes."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import Credentials, RetryPolicy, Secret, TenantClient
from tests.qlik.conftest import SECRET, FakeTime

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


class _Tenant(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hang = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        sent = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/oauth/token":
            if sent.get("client_secret") != SECRET:
                self._answer(401, {"errors": [{"code": "OAUTH", "title": "bad client"}]})
                return
            self._answer(200, {"access_token": "tok", "token_type": "bearer", "expires_in": 600})
            return
        self.hang.wait(2)  # never answer in time: the client's read timeout fires first

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer tok":
            self._answer(401, {"errors": [{"code": 401, "title": "Unauthorized"}]})
        elif "page=2" in self.path:
            self._answer(200, {"data": [{"id": "b"}]})
        else:
            next_link = {"next": {"href": "/api/scheduling/tasks?page=2"}}
            self._answer(200, {"data": [{"id": "a"}], "links": next_link})


@pytest.fixture
def tenant() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tenant)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Tenant.hang.set()
        server.shutdown()
        server.server_close()
        thread.join()
        _Tenant.hang.clear()


OAUTH = Credentials(client_id="c", client_secret=Secret(SECRET))


async def test_oauth_and_paging_over_http(tenant: str, fake_time: FakeTime) -> None:
    async with TenantClient(tenant, OAUTH, sleep=fake_time.sleep, clock=fake_time.clock) as client:
        assert [t["id"] for t in await client.list_tasks()] == ["a", "b"]
    assert client.requests.by_operation == {"oauth_token": 1, "list_tasks": 2}


async def test_lost_answer_to_a_post_is_ambiguous(tenant: str, fake_time: FakeTime) -> None:
    timeout = httpx.Timeout(0.2, connect=1.0)
    client = TenantClient(
        tenant, OAUTH, timeout=timeout, sleep=fake_time.sleep, clock=fake_time.clock
    )
    async with client:
        with pytest.raises(AmbiguousWriteError, match="no response") as info:
            await client.create_task({"name": "x"})
    assert info.value.__context__ is None
    assert client.requests.by_operation == {"oauth_token": 1, "create_task": 1}


async def test_refused_connection_is_retried_then_an_api_error(fake_time: FakeTime) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    retry = RetryPolicy(max_attempts=3)
    credentials = Credentials(api_key=Secret(SECRET))
    async with TenantClient(
        f"http://127.0.0.1:{port}",
        credentials,
        retry=retry,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as client:
        with pytest.raises(ApiError) as info:
            await client.create_task({"name": "x"})
    assert not isinstance(info.value, AmbiguousWriteError)  # nothing was sent
    assert info.value.status == 0
    assert "could not connect" in str(info.value)
    assert client.requests.by_operation == {"create_task": 3}
    assert SECRET not in repr(info.value)
