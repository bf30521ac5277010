"""Fixtures for the client tests: a fake clock whose sleeps return at once, and client factories over
a respx router or a plain handler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from reconciler.qlik import Credentials, RateLimits, RetryPolicy, Secret, TenantClient

TENANT = "https://tenant.eu.qlikcloud.com"
SECRET = "SECRET-abc123-XYZ"


class FakeTime:
    """A monotonic clock and a sleep that records the wait, advances the clock and yields."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


Handler = Callable[[httpx.Request], httpx.Response]
MakeClient = Callable[..., TenantClient]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.MockRouter(base_url=TENANT, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def make_client(fake_time: FakeTime, router: respx.MockRouter) -> MakeClient:
    """A client on the respx router (or on `handler=`), with fake time and generous limits so that
    the token buckets do not make tests wait unless a test asks for limits."""

    def make(
        *,
        handler: Handler | None = None,
        credentials: Credentials | None = None,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> TenantClient:
        transport = httpx.MockTransport(handler or router.async_handler)
        return TenantClient(
            TENANT,
            credentials or Credentials(api_key=Secret(SECRET)),
            transport=transport,
            limits=limits or RateLimits(reads_per_minute=60_000, writes_per_minute=60_000),
            retry=retry or RetryPolicy(),
            sleep=fake_time.sleep,
            clock=fake_time.clock,
            **kwargs,
        )

    return make


def error_body(code: object, title: str, *, detail: str | None = None, trace: str = "t-1") -> Any:
    err: dict[str, object] = {"code": code, "title": title}
    if detail is not None:
        err["detail"] = detail
    return {"errors": [err], "traceId": trace}
