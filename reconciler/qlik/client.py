"""The only code that speaks HTTP to a tenant: one thin send loop (throttle, send, decide, retry with
tenacity) and the typed operations plan, apply, drift and migrate call. httpx exceptions are
translated here, once, into `ApiError`; they never escape.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from reconciler import __version__
from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import answers
from reconciler.qlik.auth import Credentials, QlikAuth, TokenError, validate_tenant_url
from reconciler.qlik.bounds import Bounds, Budget
from reconciler.qlik.error_body import api_error, with_note
from reconciler.qlik.limits import (
    RETRYABLE_STATUSES,
    Action,
    Clock,
    Failure,
    RateLimits,
    RequestCounter,
    RetryPolicy,
    Sleep,
    Throttle,
    Verdict,
    classify_failure,
    decide_response,
    decide_transport,
    retry_after_from,
    tier_for,
)

__all__ = ["Bounds", "OnRetry", "RateLimits", "RequestCounter", "RetryPolicy", "TenantClient"]

log = logging.getLogger("reconciler.qlik")

JsonObject = dict[str, Any]
OnRetry = Callable[[str, int, float, str], None]  # (operation, attempt, wait_seconds, reason)
FindCreated = Callable[[], Awaitable[JsonObject | None]]
Check = Callable[[JsonObject, int | None], None]

TASKS = "/api/scheduling/tasks"
LEGACY_TASKS = "/api/v1/reload-tasks"
APPS = "/api/v1/apps"
PAGE_LIMIT = 100
USER_AGENT = f"qlik-task-reconciler/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


class _Again(Exception):
    """Internal: this attempt failed in a way worth retrying; `error` is raised if the budget ends."""

    def __init__(self, verdict: Verdict, error: ApiError) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict
        self.error = error


@dataclass(slots=True)
class _Call:
    """One operation across its attempts."""

    operation: str
    method: str
    url: str | httpx.URL
    params: Mapping[str, str] | None
    body: Any
    expected: frozenset[int]  # error statuses handed back to the operation instead of raised
    attempts: int = 0
    maybe_processed: bool = False


class _OutOfTime(stop_base):
    """Stop when the next wait would end past the operation's time budget (on the injected clock)."""

    def __init__(self, clock: Clock, start: float, seconds: float, deadline: float) -> None:
        self._clock, self._start, self._seconds = clock, start, seconds
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        now = self._clock()
        wake = now + retry_state.upcoming_sleep
        return wake - self._start > self._seconds or wake >= self._deadline


def _quoted(segment: str) -> str:
    return quote(segment, safe="")


def scim_string(value: str) -> str:
    """A SCIM string literal (RFC 7644 §3.4.2.2: JSON string rules, so quotes and backslashes are
    escaped)."""
    return json.dumps(value, ensure_ascii=False)


class TenantClient:
    """An async client for one tenant. Use as `async with TenantClient(url, credentials) as c:`."""

    def __init__(
        self,
        tenant_url: str,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        on_retry: OnRetry | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = 16,
        page_limit: int = PAGE_LIMIT,
        bounds: Bounds | None = None,
    ) -> None:
        self.tenant_url = validate_tenant_url(tenant_url)
        self.page_limit = page_limit
        self.is_oauth = credentials.is_oauth
        if bounds is None:
            read = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
            bounds = Bounds(timeout=read or DEFAULT_TIMEOUT.read or 60.0)
        self.bounds = bounds
        if not isinstance(timeout, httpx.Timeout):
            # Seconds to wait for an answer; connecting never waits longer than the default.
            timeout = httpx.Timeout(
                timeout, connect=min(timeout, DEFAULT_TIMEOUT.connect or timeout)
            )
        self.requests = RequestCounter()
        self.limits = limits or RateLimits()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry
        self.budget = Budget(bounds, clock)
        self._throttle = Throttle(self.limits, clock=clock, sleep=sleep)
        self._auth = QlikAuth(
            credentials,
            tenant_url=self.tenant_url,
            user_agent=USER_AGENT,
            clock=clock,
            on_token_request=lambda: self.requests.sent("oauth_token"),
            on_token_answer=self._saw_token_answer,
        )
        self._http = httpx.AsyncClient(
            base_url=self.tenant_url,
            auth=self._auth,
            transport=transport,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )
        # Writes as another user (OAuth user impersonation): None is the client's own identity.
        self._acting: httpx.Auth | None = None
        self._acting_as: dict[tuple[str, str], httpx.Auth] = {}

    def acting_as(self, field: str, value: str) -> TenantClient:
        """This client, sending as the user `field` (`subject` or `userId`) = `value` names: one
        token per user, fetched with the impersonation grant and cached. Shares the connection
        pool, rate limits and counters; only `aclose` of the original client closes them."""
        auth = self._acting_as.get((field, value))
        if auth is None:
            auth = self._acting_as[field, value] = self._auth.impersonating(field, value)
        view = copy.copy(self)
        view._acting = auth
        return view

    def __repr__(self) -> str:
        return f"TenantClient({self.tenant_url!r})"

    async def __aenter__(self) -> TenantClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- scheduling tasks -------------------------------------------------------------------------

    async def list_tasks(self, filter: str | None = None) -> list[JsonObject]:
        """Every task the caller can see (all pages), optionally narrowed by a SCIM filter. Sorted by
        creation so that tasks updated while we page do not move between pages."""
        params = {"limit": str(self.page_limit), "sort": "+createdAt"}
        if filter is not None:
            params["filter"] = filter
        pages = await self._pages("list_tasks", TASKS, params, check=answers.check_task)
        assert pages is not None
        return pages

    async def find_tasks_by_name(self, name: str) -> list[JsonObject]:
        """Tasks named exactly `name` (the service compares case-insensitively; we do not)."""
        params = {"limit": str(self.page_limit), "filter": f"name eq {scim_string(name)}"}
        found = await self._pages("find_tasks_by_name", TASKS, params, check=answers.check_task)
        assert found is not None
        return [task for task in found if task.get("name") == name]

    async def get_task(self, task_id: str) -> JsonObject:
        return await self._read_task(task_id)

    async def _read_task(self, task_id: str) -> JsonObject:
        """The task as the tenant stores it (what the client's own checks compare with)."""
        response = await self._send("get_task", "GET", f"{TASKS}/{_quoted(task_id)}")
        return self._task(response)

    async def create_task(
        self,
        doc: JsonObject,
        migrate_from: str | None = None,
        *,
        find_created: FindCreated | None = None,
    ) -> JsonObject:
        """Create a task. A POST whose outcome is unknown (no answer, or a gateway error) is never
        simply sent again: with `find_created` the client waits its backoff, asks `find_created()`
        whether the task exists (then that task is the answer) and only if not sends the POST
        again, within the retry budget. Without it, or once the budget is spent and the task is
        still not found, raises AmbiguousWriteError."""
        params = {"migrateFrom": migrate_from} if migrate_from is not None else None
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send("create_task", "POST", TASKS, params=params, body=doc)
            except AmbiguousWriteError as error:
                if find_created is None:
                    raise
                unknown = error
            else:
                return self._task(response)
            wait = self.retry.delay(attempt)
            more = (
                attempt < self.retry.max_attempts
                and self._clock() - started + wait <= self.retry.max_seconds
            )
            if more:
                cause = f"HTTP {unknown.status}" if unknown.status else "no answer"
                reason = f"{cause}, the task may have been created: looking for it first"
                self._count_retry("create_task", attempt, wait, unknown, reason)
                await self._sleep(wait)
            found = await find_created()
            if found is not None:
                return found
            if not more:
                raise with_note(
                    unknown, f"gave up after {attempt} attempts; the task was not found"
                )

    async def patch_task(self, task_id: str, ops: Sequence[JsonObject]) -> JsonObject | None:
        """Apply a JSON Patch (RFC 6902); the task as answered (200), or None (204).

        A retry of a patch whose first answer was lost may be refused because the first attempt
        did apply it (a `remove` cannot be applied twice): then the task is read back, and if every
        operation holds, that is the answer."""
        try:
            response = await self._send(
                "patch_task", "PATCH", f"{TASKS}/{_quoted(task_id)}", body=list(ops)
            )
        except AmbiguousWriteError as error:
            refused = error
        else:
            if response.status_code == 204 or not response.content.strip():
                return None
            return self._task(response)
        task = await self._read_task(task_id)
        if _patch_holds(task, ops):
            log.info("PATCH %s: refused on retry, but the lost attempt applied it", task_id)
            return task
        raise refused

    async def put_task(self, task_id: str, doc: JsonObject) -> JsonObject:
        """Replace a task; the task as answered (read back if the answer has no body)."""
        response = await self._send("put_task", "PUT", f"{TASKS}/{_quoted(task_id)}", body=doc)
        if response.status_code == 204 or not response.content.strip():
            return await self._read_task(task_id)
        return self._task(response)

    async def delete_task(self, task_id: str) -> None:
        await self._send("delete_task", "DELETE", f"{TASKS}/{_quoted(task_id)}")

    async def start_task(self, task_id: str, source: str | None = None) -> JsonObject:
        params = {"source": source} if source is not None else None
        path = f"{TASKS}/{_quoted(task_id)}/actions/start"
        response = await self._send("start_task", "POST", path, params=params)
        return self._object(response) if response.content.strip() else {}

    async def last_run(self, task_id: str) -> JsonObject | None:
        """The task's most recent run, or None if it never ran (404)."""
        path = f"{TASKS}/{_quoted(task_id)}/runs/last"
        response = await self._send("last_run", "GET", path, expected=frozenset({404}))
        return None if response.status_code == 404 else self._object(response)

    async def list_runs(self, task_id: str, *, max_runs: int | None = None) -> list[JsonObject]:
        """The task's runs, newest first (all pages, or the first `max_runs`)."""
        path = f"{TASKS}/{_quoted(task_id)}/runs"
        runs = await self._pages(
            "list_runs", path, {"limit": str(self.page_limit)}, max_items=max_runs
        )
        assert runs is not None
        return runs

    # -- legacy reload-tasks and apps -------------------------------------------------------------

    async def list_legacy_reload_tasks(self) -> list[JsonObject] | None:
        """Every legacy reload-task (all pages), or None when the tenant no longer has the legacy
        endpoint (404 on the first page)."""
        params = {"limit": str(self.page_limit)}
        return await self._pages(
            "list_legacy_reload_tasks",
            LEGACY_TASKS,
            params,
            missing_ok=True,
            check=answers.check_legacy,
        )

    async def delete_legacy_reload_task(self, legacy_id: str) -> None:
        path = f"{LEGACY_TASKS}/{_quoted(legacy_id)}"
        await self._send("delete_legacy_reload_task", "DELETE", path)

    async def get_app(self, app_id: str) -> JsonObject | None:
        """The app, or None when it does not exist or is not visible to the caller (404, 403)."""
        path = f"{APPS}/{_quoted(app_id)}"
        response = await self._send("get_app", "GET", path, expected=frozenset({403, 404}))
        return None if response.status_code in (403, 404) else self._object(response)

    # -- paging -----------------------------------------------------------------------------------

    async def _pages(
        self,
        operation: str,
        path: str,
        params: Mapping[str, str],
        *,
        missing_ok: bool = False,
        max_items: int | None = None,
        check: Check | None = None,
    ) -> list[JsonObject] | None:
        """All items of a paged list, following `links.next.href` until it is absent. Any page
        failing fails the whole list: a short list would look like deleted tasks. `check` refuses
        a malformed item; a list longer than the bounds allow stops the command."""
        items: list[JsonObject] = []
        ids: set[str] = set()
        url: str | httpx.URL = path
        query: Mapping[str, str] | None = params
        seen: set[str] = set()
        while True:
            expected = frozenset({404}) if missing_ok and not seen else frozenset()
            response = await self._send(operation, "GET", url, params=query, expected=expected)
            if response.status_code == 404:
                return None
            doc = self._object(response)
            data = doc.get("data")
            if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
                raise self._malformed(response, "the answer has no list of data")
            for index, item in enumerate(data):
                if check is not None:
                    try:
                        check(item, len(items) + index)
                    except answers.Malformed as exc:
                        raise self._malformed(response, str(exc)) from None
                key = item.get("id")
                if not isinstance(key, str) or key not in ids:
                    items.append(item)
                    if isinstance(key, str):
                        ids.add(key)
            self.budget.check_listing(_what(response), len(seen) + 1, len(items))
            if max_items is not None and len(items) >= max_items:
                return items[:max_items]
            href = _next_href(doc)
            if href is None:
                return items
            next_url = self._on_tenant(response.request.url, href)
            if next_url is None:
                raise self._malformed(response, "the next page link is not a URL")
            if str(next_url) in seen:
                raise self._malformed(response, "the next page link repeats a page")
            self.budget.check_listing(_what(response), len(seen) + 2, len(items))
            seen.add(str(next_url))
            url, query = next_url, None

    def _on_tenant(self, current: httpx.URL, href: str) -> httpx.URL | None:
        """A link (absolute, or relative to the page it came from) as a path and query on the
        tenant's own origin: whatever host a link names, the credentials only go to the tenant."""
        base = httpx.URL(self.tenant_url)
        try:
            url = current.join(href)
            return url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
        except httpx.InvalidURL:
            return None

    # -- the send loop ----------------------------------------------------------------------------

    async def _send(
        self,
        operation: str,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        expected: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        call = _Call(operation, method, url, params, body, expected)
        policy = self.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.max_attempts)
            | _OutOfTime(self._clock, self._clock(), policy.max_seconds, self.budget.deadline),
            wait=self._wait,
            retry=retry_if_exception_type(_Again),
            sleep=self._sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            response: httpx.Response = await retrying(self._attempt, call)
        except _Again as again:
            error = again.error
        else:
            return response
        # Raised outside the handler so that nothing is chained to it.
        raise with_note(error, f"gave up after {call.attempts} attempts")

    async def _attempt(self, call: _Call) -> httpx.Response:
        tier = tier_for(call.method)
        what = f"{call.method} {_path_of(call.url)}"
        self.budget.check_deadline(what)
        await self._throttle.acquire(tier)
        self.budget.check_deadline(what)
        call.attempts += 1
        self.requests.sent(call.operation)
        request = self._http.build_request(
            call.method, call.url, params=call.params, json=call.body
        )
        path = request.url.path
        failure: tuple[Failure, str, str] | None = None
        token_error: TokenError | None = None
        too_large = False
        limit = self.budget.request_seconds()
        try:
            async with asyncio.timeout(limit):
                response = await self._receive(request)
        except httpx.HTTPError as exc:
            kind, what = classify_failure(exc, request)
            failure = (kind, what, self._auth.scrub(str(exc)))
        except TokenError as exc:
            token_error = exc
        except TimeoutError:
            failure = (Failure.MAYBE_SENT, self.budget.timed_out(limit), "")
        except _TooLarge:
            too_large = True
        if too_large:
            raise ApiError(call.method, path, 0, title=self.budget.too_large())
        # Errors are raised below, outside the handlers: nothing chains to an httpx exception (its
        # request holds the Authorization header).
        if token_error is not None:
            if token_error.status not in RETRYABLE_STATUSES:
                raise token_error
            verdict = Verdict(Action.RETRY, f"token endpoint HTTP {token_error.status}")
            raise _Again(verdict, token_error)
        if failure is not None:
            kind, what, text = failure
            verdict = decide_transport(call.method, kind, what)
            error_cls = AmbiguousWriteError if verdict.action is Action.AMBIGUOUS else ApiError
            title = f"from the tenant: {what}"  # reads on from "no response"
            error = error_cls(call.method, path, 0, title=title, detail=text or None)
            if kind is Failure.MAYBE_SENT:
                call.maybe_processed = True
            return self._act(verdict, error)

        status = response.status_code
        log.debug("%s %s -> %s", call.method, path, status)
        verdict = decide_response(call.method, status, retry_after_from(response.headers))
        if status == 429:
            self.requests.throttled += 1
            seconds = verdict.retry_after
            seconds = self.retry.delay(call.attempts) if seconds is None else seconds
            if seconds <= self.retry.max_seconds:  # else the operation gives up without waiting
                blocked = self._throttle.buckets[tier_for(call.method)].blocked_until
                self.budget.hold(what, seconds, blocked)
        if verdict.action is Action.DONE or status in call.expected:
            return response
        if call.method == "DELETE" and status == 404 and call.maybe_processed:
            log.info("%s %s: gone after an unanswered attempt; counted as deleted", "DELETE", path)
            return response
        if verdict.action is Action.RETRY and status != 429:
            call.maybe_processed = True
        # A patch refused after an attempt whose answer was lost: that attempt may have applied it.
        refused_again = (
            call.method == "PATCH" and call.maybe_processed and status in (400, 409, 422)
        )
        ambiguous = verdict.action is Action.AMBIGUOUS or refused_again
        error_cls = AmbiguousWriteError if ambiguous else ApiError
        error = api_error(
            call.method,
            path,
            status,
            body=response.content,
            content_type=response.headers.get("content-type", ""),
            reason=response.reason_phrase,
            scrub=self._auth.scrub,
            cls=error_cls,
        )
        return self._act(verdict, error)

    async def _receive(self, request: httpx.Request) -> httpx.Response:
        """Send `request` and read its answer, at most `bounds.max_bytes` of it."""
        auth = self._acting or httpx.USE_CLIENT_DEFAULT
        response = await self._http.send(request, auth=auth, stream=True)
        try:
            parts: list[bytes] = []
            size = 0
            async for part in response.aiter_bytes():
                size += len(part)
                if size > self.bounds.max_bytes:
                    raise _TooLarge
                parts.append(part)
            # What `Response.aread()` does, with the byte count checked on the way.
            response._content = b"".join(parts)
        finally:
            await response.aclose()
        return response

    def _act(self, verdict: Verdict, error: ApiError) -> httpx.Response:
        if verdict.action is Action.RETRY:
            raise _Again(verdict, error)
        if verdict.action is Action.AMBIGUOUS:
            raise with_note(error, "the write may or may not have been applied")
        raise error

    def _wait(self, state: RetryCallState) -> float:
        """Seconds before the next attempt: the answer's Retry-After, else exponential backoff with
        jitter. A 429 makes its whole tier wait as long (the other tier goes on)."""
        again = _again(state)
        seconds = again.verdict.retry_after
        if seconds is None:
            seconds = self.retry.delay(state.attempt_number)
        if again.verdict.blocks_tier:
            call: _Call = state.args[0]
            self._throttle.block(tier_for(call.method), min(seconds, self.retry.max_seconds))
        return seconds

    def _before_sleep(self, state: RetryCallState) -> None:
        again = _again(state)
        call: _Call = state.args[0]
        self._count_retry(
            call.operation, call.attempts, state.upcoming_sleep, again.error, again.verdict.reason
        )

    def _count_retry(
        self, operation: str, attempt: int, wait: float, error: ApiError, reason: str
    ) -> None:
        self.requests.retries += 1
        log.info("%s: %s; retry %d in %.1f s", operation, error.one_line(), attempt, wait)
        if self._on_retry is not None:
            self._on_retry(operation, attempt, wait, reason)

    def _saw_token_answer(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.requests.throttled += 1

    # -- answers ----------------------------------------------------------------------------------

    def _object(self, response: httpx.Response) -> JsonObject:
        try:
            return answers.json_object(response.content)
        except answers.Malformed as exc:
            raise self._malformed(response, str(exc)) from None

    def _task(self, response: httpx.Response) -> JsonObject:
        doc = self._object(response)
        try:
            answers.check_task(doc)
        except answers.Malformed as exc:
            raise self._malformed(response, str(exc)) from None
        return doc

    def _malformed(self, response: httpx.Response, why: str) -> ApiError:
        request = response.request
        return ApiError(request.method, request.url.path, response.status_code, title=why)


class _TooLarge(Exception):
    """Internal: an answer longer than the bounds allow."""


def _path_of(url: str | httpx.URL) -> str:
    return url.path if isinstance(url, httpx.URL) else url.partition("?")[0]


def _what(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def _again(state: RetryCallState) -> _Again:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    assert isinstance(exc, _Again)
    return exc


def _patch_holds(doc: JsonObject, ops: Sequence[JsonObject]) -> bool:
    """Whether every operation's effect is already in `doc`: each `add`/`replace` value is at its
    path, each `remove`d path is absent. Other operations cannot be checked this way (False)."""
    for op in ops:
        parts = [
            p.replace("~1", "/").replace("~0", "~") for p in str(op.get("path")).split("/")[1:]
        ]
        if not parts or op.get("op") not in ("add", "replace", "remove"):
            return False
        node: Any = doc
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return False
        present = parts[-1] in node
        if op["op"] == "remove" and present:
            return False
        if op["op"] != "remove" and (not present or node[parts[-1]] != op.get("value")):
            return False
    return True


def _next_href(doc: JsonObject) -> str | None:
    links = doc.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) and href.strip() else None
