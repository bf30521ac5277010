"""The typed operations, paging, retries, the POST policy, errors and counters, against respx."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path

import httpx
import pytest
import respx

from reconciler import __version__
from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import RateLimits, RetryPolicy
from reconciler.qlik import client as client_module
from tests.qlik.conftest import TENANT, FakeTime, MakeClient, error_body

pytestmark = pytest.mark.anyio

TASKS = "/api/scheduling/tasks"


def page(ids: list[str], next_href: str | None = None) -> httpx.Response:
    doc: dict[str, object] = {"data": [{"id": i, "name": f"task {i}"} for i in ids]}
    doc["links"] = {"self": {"href": "x"}} | ({"next": {"href": next_href}} if next_href else {})
    return httpx.Response(200, json=doc)


# -- paging ---------------------------------------------------------------------------------------


async def test_list_tasks_follows_absolute_and_relative_next_links(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("page")
        if cursor is None:
            return page(["a", "b"], f"{TENANT}{TASKS}?limit=100&page=p2")
        if cursor == "p2":
            return page(["c"], f"{TASKS}?limit=100&page=p3")
        return page(["d"])

    route = router.get(TASKS).mock(side_effect=answer)
    async with make_client() as client:
        tasks = await client.list_tasks()
    assert [t["id"] for t in tasks] == ["a", "b", "c", "d"]
    first = route.calls[0].request.url.params
    assert first["limit"] == "100"
    assert [c.request.url.params.get("page") for c in route.calls] == [None, "p2", "p3"]
    assert client.requests.by_operation == {"list_tasks": 3}


async def test_next_link_on_another_host_stays_on_the_tenant(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    route = router.get(TASKS).mock(
        side_effect=[
            page(["a"], "http://internal.example:81/api/scheduling/tasks?page=p2"),
            page(["b"]),
        ]
    )
    async with make_client() as client:
        assert [t["id"] for t in await client.list_tasks()] == ["a", "b"]
    assert str(route.calls[1].request.url) == f"{TENANT}{TASKS}?page=p2"


async def test_a_failing_second_page_raises_never_a_short_list(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.get(TASKS).mock(
        side_effect=[page(["a"], f"{TASKS}?page=p2"), httpx.Response(500, json=error_body(7, "x"))]
    )
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.list_tasks()
    assert info.value.status == 500


async def test_a_second_page_503_exhausting_retries_raises(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.get(TASKS).mock(
        side_effect=[page(["a"], f"{TASKS}?page=p2")] + [httpx.Response(503)] * 3
    )
    async with make_client(retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ApiError, match="HTTP 503"):
            await client.list_tasks()


async def test_a_repeating_next_link_is_an_error(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.get(TASKS).mock(side_effect=lambda request: page(["a"], f"{TASKS}?page=p2"))
    async with make_client() as client:
        with pytest.raises(ApiError, match="repeats"):
            await client.list_tasks()


async def test_a_next_link_that_is_not_a_url_is_an_api_error(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.get(TASKS).mock(return_value=page(["a"], "http://[::g]/x"))
    async with make_client() as client:
        with pytest.raises(ApiError, match="not a URL"):
            await client.list_tasks()


async def test_list_with_filter_and_malformed_answer(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    route = router.get(TASKS).mock(return_value=httpx.Response(200, json={"data": "nope"}))
    async with make_client() as client:
        with pytest.raises(ApiError, match="no list of data"):
            await client.list_tasks(filter="enabled eq true")
    assert route.calls[0].request.url.params["filter"] == "enabled eq true"


async def test_find_by_name_escapes_quotes_and_keeps_exact_matches(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    name = 'Sales "EU" \\ nightly'
    route = router.get(TASKS).mock(
        return_value=httpx.Response(
            200, json={"data": [{"id": "1", "name": name}, {"id": "2", "name": name.lower()}]}
        )
    )
    async with make_client() as client:
        found = await client.find_tasks_by_name(name)
    assert [t["id"] for t in found] == ["1"]
    assert route.calls[0].request.url.params["filter"] == 'name eq "Sales \\"EU\\" \\\\ nightly"'


async def test_list_runs_pages_and_max_runs(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    path = f"{TASKS}/t1/runs"
    router.get(path).mock(side_effect=[page(["r1", "r2"], f"{path}?page=2"), page(["r3"])])
    async with make_client() as client:
        assert [r["id"] for r in await client.list_runs("t1")] == ["r1", "r2", "r3"]
    router.get(path).mock(side_effect=[page(["r1", "r2"], f"{path}?page=2")])
    async with make_client() as client:
        assert [r["id"] for r in await client.list_runs("t1", max_runs=1)] == ["r1"]


# -- legacy and apps ------------------------------------------------------------------------------


async def test_legacy_list_pages_and_none_when_absent(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    legacy = "/api/v1/reload-tasks"
    router.get(legacy).mock(side_effect=[page(["l1"], f"{legacy}?next=c2"), page(["l2"])])
    async with make_client() as client:
        assert [t["id"] for t in await client.list_legacy_reload_tasks() or []] == ["l1", "l2"]
    router.get(legacy).mock(return_value=httpx.Response(404))
    async with make_client() as client:
        assert await client.list_legacy_reload_tasks() is None
    # A 404 on a later page is not "absent": it is an error.
    router.get(legacy).mock(side_effect=[page(["l1"], f"{legacy}?next=c2"), httpx.Response(404)])
    async with make_client() as client:
        with pytest.raises(ApiError, match="HTTP 404"):
            await client.list_legacy_reload_tasks()


async def test_legacy_delete_and_get_app(make_client: MakeClient, router: respx.MockRouter) -> None:
    delete = router.delete("/api/v1/reload-tasks/l1").mock(return_value=httpx.Response(204))
    router.get("/api/v1/apps/a1").mock(return_value=httpx.Response(200, json={"attributes": {}}))
    router.get("/api/v1/apps/a2").mock(return_value=httpx.Response(404))
    router.get("/api/v1/apps/a3").mock(return_value=httpx.Response(403))
    router.get("/api/v1/apps/a4").mock(return_value=httpx.Response(500))
    async with make_client() as client:
        await client.delete_legacy_reload_task("l1")
        assert await client.get_app("a1") == {"attributes": {}}
        assert await client.get_app("a2") is None
        assert await client.get_app("a3") is None
        with pytest.raises(ApiError):
            await client.get_app("a4")
    assert delete.called


# -- single-task operations -----------------------------------------------------------------------


async def test_patch_answers_200_with_the_task_or_204_without(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    route = router.patch(f"{TASKS}/t1").mock(
        side_effect=[httpx.Response(204), httpx.Response(200, json={"id": "t1"})]
    )
    ops = [{"op": "replace", "path": "/enabled", "value": False}]
    async with make_client() as client:
        assert await client.patch_task("t1", ops) is None
        assert await client.patch_task("t1", ops) == {"id": "t1"}
    request = route.calls[0].request
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == ops


async def test_create_start_put_delete_get(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    create = router.post(TASKS).mock(return_value=httpx.Response(201, json={"id": "new"}))
    start = router.post(f"{TASKS}/t1/actions/start").mock(
        return_value=httpx.Response(200, json={"message": "started"})
    )
    router.put(f"{TASKS}/t1").mock(
        side_effect=[httpx.Response(200, json={"id": "t1", "v": 1}), httpx.Response(204)]
    )
    router.get(f"{TASKS}/t1").mock(return_value=httpx.Response(200, json={"id": "t1", "v": 2}))
    delete = router.delete(f"{TASKS}/t1").mock(return_value=httpx.Response(204))
    async with make_client() as client:
        assert await client.create_task({"name": "n"}, migrate_from="legacy-1") == {"id": "new"}
        assert await client.start_task("t1", source="upstream") == {"message": "started"}
        assert await client.put_task("t1", {"name": "n"}) == {"id": "t1", "v": 1}
        assert await client.put_task("t1", {"name": "n"}) == {"id": "t1", "v": 2}  # 204: read back
        await client.delete_task("t1")
    assert create.calls[0].request.url.params["migrateFrom"] == "legacy-1"
    assert json.loads(create.calls[0].request.content) == {"name": "n"}
    assert start.calls[0].request.url.params["source"] == "upstream"
    assert delete.called


async def test_ids_are_quoted_into_one_path_segment(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    route = router.get(url__regex=r".*").mock(
        return_value=httpx.Response(200, json={"id": "../a b?c"})
    )
    async with make_client() as client:
        await client.get_task("../a b?c")
    assert route.calls[0].request.url.raw_path == b"/api/scheduling/tasks/..%2Fa%20b%3Fc"


async def test_last_run_none_on_404(make_client: MakeClient, router: respx.MockRouter) -> None:
    router.get(f"{TASKS}/t1/runs/last").mock(return_value=httpx.Response(200, json={"id": "r"}))
    router.get(f"{TASKS}/t2/runs/last").mock(return_value=httpx.Response(404))
    async with make_client() as client:
        assert await client.last_run("t1") == {"id": "r"}
        assert await client.last_run("t2") is None


async def test_headers_user_agent_and_accept(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    route = router.get(f"{TASKS}/t1").mock(return_value=httpx.Response(200, json={"id": "t1"}))
    async with make_client() as client:
        await client.get_task("t1")
    headers = route.calls[0].request.headers
    assert headers["user-agent"] == f"qlik-task-reconciler/{__version__}"
    assert headers["accept"] == "application/json"


def test_certificate_checks_are_never_turned_off() -> None:
    package = Path(__file__).resolve().parents[2] / "reconciler" / "qlik"
    for source in package.glob("*.py"):
        assert "verify=False" not in source.read_text(), source


# -- retries --------------------------------------------------------------------------------------


async def test_429_waits_for_retry_after(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    limited = httpx.Response(
        429,
        headers={"Retry-After": "13"},
        json=error_body("HTTP-429", "API rate limit reached."),
    )
    router.get(f"{TASKS}/t1").mock(side_effect=[limited, httpx.Response(200, json={"id": "t1"})])
    calls: list[tuple[str, int, float, str]] = []
    async with make_client(on_retry=lambda *args: calls.append(args)) as client:
        assert await client.get_task("t1") == {"id": "t1"}
    assert fake_time.sleeps[0] == 13.0
    assert calls == [("get_task", 1, 13.0, "HTTP 429")]
    assert (client.requests.total, client.requests.retries, client.requests.throttled) == (2, 1, 1)


async def test_429_without_retry_after_backs_off(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.get(f"{TASKS}/t1").mock(
        side_effect=[httpx.Response(429), httpx.Response(200, json={"id": "t1"})]
    )
    async with make_client() as client:
        await client.get_task("t1")
    assert 0.5 <= fake_time.sleeps[0] <= 1.0


async def test_429_on_writes_does_not_block_reads(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    order: list[str] = []
    limited = asyncio.Event()

    def write(request: httpx.Request) -> httpx.Response:
        order.append("PATCH")
        limited.set()
        if order.count("PATCH") == 1:
            return httpx.Response(429, headers={"Retry-After": "30"})
        return httpx.Response(204)

    def read(request: httpx.Request) -> httpx.Response:
        order.append("GET")
        return httpx.Response(200, json={"id": "t2"})

    router.patch(f"{TASKS}/t1").mock(side_effect=write)
    router.get(f"{TASKS}/t2").mock(side_effect=read)
    async with make_client() as client:

        async def patch_first() -> None:
            await client.patch_task("t1", [])

        async def read_after_the_429() -> None:
            await limited.wait()
            await client.get_task("t2")
            await client.get_task("t2")

        await asyncio.gather(patch_first(), read_after_the_429())
    assert order == ["PATCH", "GET", "GET", "PATCH"]
    assert fake_time.sleeps == [30.0]


async def test_503_is_retried_then_succeeds(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{TASKS}/t1").mock(
        side_effect=[
            httpx.Response(503),
            httpx.Response(502),
            httpx.Response(200, json={"id": "t1"}),
        ]
    )
    async with make_client() as client:
        assert await client.get_task("t1") == {"id": "t1"}
    assert route.call_count == 3
    assert 0.5 <= fake_time.sleeps[0] <= 1.0
    assert 1.0 <= fake_time.sleeps[1] <= 1.5
    assert client.requests.retries == 2


async def test_retry_budget_exhausted_raises_with_status_and_code(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    unavailable = httpx.Response(
        503, json=error_body("CHO-024", "Scheduler unavailable", trace="trace-9")
    )
    route = router.delete(f"{TASKS}/t1").mock(return_value=unavailable)
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.delete_task("t1")
    err = info.value
    assert (err.status, err.code, err.trace_id) == (503, "CHO-024", "trace-9")
    assert route.call_count == 6
    assert "gave up after 6 attempts" in str(err)


async def test_retry_time_budget_stops_before_a_long_wait(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    route = router.get(f"{TASKS}/t1").mock(
        return_value=httpx.Response(429, headers={"Retry-After": "600"})
    )
    async with make_client() as client:
        with pytest.raises(ApiError, match="HTTP 429"):
            await client.get_task("t1")
    assert route.call_count == 1
    assert fake_time.sleeps == []


@pytest.mark.parametrize(
    "error", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_idempotent_requests_retry_on_connection_failures(
    make_client: MakeClient, router: respx.MockRouter, error: type[Exception]
) -> None:
    route = router.put(f"{TASKS}/t1").mock(
        side_effect=[error, httpx.Response(200, json={"id": "t1"})]
    )
    async with make_client() as client:
        assert await client.put_task("t1", {}) == {"id": "t1"}
    assert route.call_count == 2


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_post_is_not_retried_after_a_gateway_error(
    make_client: MakeClient, router: respx.MockRouter, status: int
) -> None:
    route = router.post(TASKS).mock(return_value=httpx.Response(status))
    async with make_client() as client:
        with pytest.raises(AmbiguousWriteError) as info:
            await client.create_task({"name": "n"})
    assert info.value.status == status
    assert route.call_count == 1


@pytest.mark.parametrize(
    "error", [httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.WriteError]
)
async def test_post_is_ambiguous_when_the_answer_is_lost(
    make_client: MakeClient, router: respx.MockRouter, error: type[Exception]
) -> None:
    route = router.post(f"{TASKS}/t1/actions/start").mock(side_effect=error)
    async with make_client() as client:
        with pytest.raises(AmbiguousWriteError) as info:
            await client.start_task("t1")
    assert info.value.status == 0
    assert route.call_count == 1


@pytest.mark.parametrize(
    "first",
    [
        httpx.Response(429, headers={"Retry-After": "2"}),
        httpx.ConnectError,
        httpx.ConnectTimeout,
    ],
)
async def test_post_is_retried_when_certainly_not_processed(
    make_client: MakeClient, router: respx.MockRouter, first: httpx.Response | type[Exception]
) -> None:
    route = router.post(TASKS).mock(side_effect=[first, httpx.Response(201, json={"id": "n"})])
    async with make_client() as client:
        assert await client.create_task({"name": "n"}) == {"id": "n"}
    assert route.call_count == 2


async def test_post_on_500_is_a_plain_error(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.post(TASKS).mock(return_value=httpx.Response(422, json=error_body("CHO-014", "Limit")))
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.create_task({})
    assert not isinstance(info.value, AmbiguousWriteError)
    assert info.value.code == "CHO-014"


async def test_delete_gone_after_an_unanswered_attempt_counts_as_deleted(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.delete(f"{TASKS}/t1").mock(side_effect=[httpx.ReadTimeout, httpx.Response(404)])
    async with make_client() as client:
        await client.delete_task("t1")
    router.delete(f"{TASKS}/t2").mock(return_value=httpx.Response(404))
    async with make_client() as client:
        with pytest.raises(ApiError, match="HTTP 404"):
            await client.delete_task("t2")


async def test_certificate_failure_is_not_retried(make_client: MakeClient) -> None:
    calls: list[httpx.Request] = []

    def fail(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("bad cert") from ssl.SSLCertVerificationError("verify failed")

    async with make_client(handler=fail) as client:
        with pytest.raises(ApiError, match="TLS certificate check failed"):
            await client.get_task("t1")
    assert len(calls) == 1


@pytest.mark.parametrize(
    "error", [httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.DecodingError]
)
async def test_httpx_exceptions_never_escape(
    make_client: MakeClient, router: respx.MockRouter, error: type[Exception]
) -> None:
    router.get(f"{TASKS}/t1").mock(side_effect=error)
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.get_task("t1")
    assert info.value.status == 0
    assert not isinstance(info.value, httpx.HTTPError)


async def test_rate_limits_space_writes(
    make_client: MakeClient, router: respx.MockRouter, fake_time: FakeTime
) -> None:
    router.delete(url__regex=r"/api/scheduling/tasks/t\d+$").mock(return_value=httpx.Response(204))
    async with make_client(limits=RateLimits(writes_per_minute=60)) as client:
        await asyncio.gather(*(client.delete_task(f"t{i}") for i in range(5)))
    # 60/min: two tokens to start, then about one a second (a little slower, for headroom).
    assert fake_time.sleeps == pytest.approx([61 / 58] * 3)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            httpx.Response(404, json=error_body(404, "Not found", detail="no task t1")),
            "GET /api/scheduling/tasks/t1: HTTP 404: 404 Not found (no task t1) [traceId t-1]",
        ),
        (
            httpx.Response(
                400,
                json={
                    "errors": [
                        {"code": "CHO-017", "title": "Invalid recurrence", "context": "RRULE"},
                        {"code": "CHO-017", "title": "again"},
                    ],
                    "traceId": "abc",
                },
            ),
            "GET /api/scheduling/tasks/t1: HTTP 400: CHO-017 Invalid recurrence "
            "(RRULE (+1 more error)) [traceId abc]",
        ),
        (
            httpx.Response(500, text="upstream\nexploded", headers={"content-type": "text/plain"}),
            "GET /api/scheduling/tasks/t1: HTTP 500 Internal Server Error (upstream exploded)",
        ),
        (
            httpx.Response(403, html="<html><body>Forbidden</body></html>"),
            "GET /api/scheduling/tasks/t1: HTTP 403 Forbidden",
        ),
        (
            httpx.Response(400, json={"code": "X-1", "message": "flat shape"}),
            "GET /api/scheduling/tasks/t1: HTTP 400: X-1 (flat shape)",
        ),
    ],
)
async def test_error_answers_become_one_line(
    make_client: MakeClient, router: respx.MockRouter, answer: httpx.Response, expected: str
) -> None:
    router.get(f"{TASKS}/t1").mock(return_value=answer)
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.get_task("t1")
    assert str(info.value) == expected
    assert "\n" not in str(info.value)


async def test_error_path_has_no_query(make_client: MakeClient, router: respx.MockRouter) -> None:
    router.get(TASKS).mock(return_value=httpx.Response(400))
    async with make_client() as client:
        with pytest.raises(ApiError) as info:
            await client.list_tasks(filter='name eq "x"')
    assert info.value.path == TASKS


async def test_invalid_json_on_success_is_an_api_error(
    make_client: MakeClient, router: respx.MockRouter
) -> None:
    router.get(f"{TASKS}/t1").mock(return_value=httpx.Response(200, text="not json"))
    async with make_client() as client:
        with pytest.raises(ApiError, match="JSON"):
            await client.get_task("t1")


# -- counters -------------------------------------------------------------------------------------


async def test_request_counters(make_client: MakeClient, router: respx.MockRouter) -> None:
    router.get(TASKS).mock(side_effect=[page(["a"], f"{TASKS}?page=2"), page(["b"])])
    router.get(f"{TASKS}/a").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"id": "a"})]
    )
    router.post(TASKS).mock(return_value=httpx.Response(201, json={"id": "n"}))
    async with make_client() as client:
        await client.list_tasks()
        await client.get_task("a")
        await client.create_task({})
    counter = client.requests
    assert counter.by_operation == {"list_tasks": 2, "get_task": 2, "create_task": 1}
    assert (counter.total, counter.retries, counter.throttled) == (5, 1, 0)
    assert counter.as_dict()["total"] == 5


# -- TLS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://tenant.eu.qlikcloud.com", "https://127.0.0.1:8443", "https://localhost"],
)
def test_an_https_tenant_is_checked_against_the_trusted_authorities(url: str) -> None:
    assert client_module._tls_for(url) is True


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost", "http://[::1]:9"])
def test_a_plain_http_tenant_gets_a_tls_context_that_trusts_no_one(url: str) -> None:
    """It never opens TLS; if it ever did, no certificate would pass."""
    context = client_module._tls_for(url)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.get_ca_certs() == []
