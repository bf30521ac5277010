"""The send loop of the tenant client: throttle, send, decide, retry with tenacity, within the
bounds; reading answers; counting what was sent. httpx exceptions become `ApiError` here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.stop import stop_base

from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import answers
from reconciler.qlik.auth import QlikAuth, TokenError
from reconciler.qlik.bounds import Bounds, Budget
from reconciler.qlik.error_body import api_error, with_note
from reconciler.qlik.retry import (
    RETRYABLE_STATUSES,
    Decision,
    Failure,
    RetryPolicy,
    Verdict,
    classify_failure,
    decide_response,
    decide_transport,
)
from reconciler.qlik.throttle import Clock, Sleep, Throttle, retry_after_from, tier_for

__all__ = ["Check", "JsonObject", "OnRetry", "RequestCounter", "Sender"]

log = logging.getLogger("reconciler.qlik")

JsonObject = dict[str, Any]
OnRetry = Callable[[str, int, float, str], None]  # (operation, attempt, wait_seconds, reason)
Check = Callable[[JsonObject, int | None], None]


@dataclass(slots=True)
class RequestCounter:
    """What a client sent: attempts per operation (retries and token requests included), retries,
    and 429 answers seen."""

    by_operation: dict[str, int] = field(default_factory=dict)
    total: int = 0
    retries: int = 0
    throttled: int = 0

    def sent(self, operation: str) -> None:
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        self.total += 1

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "retries": self.retries,
            "throttled": self.throttled,
            "by_operation": dict(sorted(self.by_operation.items())),
        }


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
    acting: httpx.Auth | None = None  # the auth of the user the client writes as


class _OutOfTime(stop_base):
    """Stop when the next wait would end past the operation's time budget (on the injected clock)."""

    def __init__(self, clock: Clock, start: float, seconds: float, deadline: float) -> None:
        self._clock, self._start, self._seconds = clock, start, seconds
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        now = self._clock()
        wake = now + retry_state.upcoming_sleep
        return wake - self._start > self._seconds or wake >= self._deadline


class Sender:
    """Sends the operations of one tenant client: shares its connection pool, auth, rate limits,
    retry policy, bounds and counters."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: QlikAuth,
        *,
        tenant_url: str,
        requests: RequestCounter,
        retry: RetryPolicy,
        throttle: Throttle,
        budget: Budget,
        bounds: Bounds,
        sleep: Sleep,
        clock: Clock,
        on_retry: OnRetry | None,
    ) -> None:
        self._http = http
        self._auth = auth
        self.tenant_url = tenant_url
        self.requests = requests
        self.retry = retry
        self._throttle = throttle
        self.budget = budget
        self.bounds = bounds
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry

    # -- the send loop ----------------------------------------------------------------------------

    async def send(
        self,
        operation: str,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        expected: frozenset[int] = frozenset(),
        acting: httpx.Auth | None = None,
    ) -> httpx.Response:
        """Send one operation, retrying within the policy and the bounds. `acting` is the auth of
        the user the client writes as (None: the client's own credentials)."""
        call = _Call(operation, method, url, params, body, expected, acting=acting)
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
                response = await self._receive(request, call.acting)
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
            verdict = Verdict(Decision.RETRY, f"token endpoint HTTP {token_error.status}")
            raise _Again(verdict, token_error)
        if failure is not None:
            kind, what, text = failure
            verdict = decide_transport(call.method, kind, what)
            error_cls = AmbiguousWriteError if verdict.action is Decision.AMBIGUOUS else ApiError
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
        if verdict.action is Decision.DONE or status in call.expected:
            return response
        if call.method == "DELETE" and status == 404 and call.maybe_processed:
            log.info("%s %s: gone after an unanswered attempt; counted as deleted", "DELETE", path)
            return response
        if verdict.action is Decision.RETRY and status != 429:
            call.maybe_processed = True
        # A patch refused after an attempt whose answer was lost: that attempt may have applied it.
        refused_again = (
            call.method == "PATCH" and call.maybe_processed and status in (400, 409, 422)
        )
        ambiguous = verdict.action is Decision.AMBIGUOUS or refused_again
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

    async def _receive(self, request: httpx.Request, acting: httpx.Auth | None) -> httpx.Response:
        """Send `request` and read its answer, at most `bounds.max_bytes` of it."""
        auth = acting or httpx.USE_CLIENT_DEFAULT
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
        if verdict.action is Decision.RETRY:
            raise _Again(verdict, error)
        if verdict.action is Decision.AMBIGUOUS:
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
        self.count_retry(
            call.operation, call.attempts, state.upcoming_sleep, again.error, again.verdict.reason
        )

    def count_retry(
        self, operation: str, attempt: int, wait: float, error: ApiError, reason: str
    ) -> None:
        self.requests.retries += 1
        log.info("%s: %s; retry %d in %.1f s", operation, error.one_line(), attempt, wait)
        if self._on_retry is not None:
            self._on_retry(operation, attempt, wait, reason)

    # -- answers ----------------------------------------------------------------------------------

    def object(self, response: httpx.Response) -> JsonObject:
        try:
            return answers.json_object(response.content)
        except answers.Malformed as exc:
            raise self.malformed(response, str(exc)) from None

    def task(self, response: httpx.Response) -> JsonObject:
        doc = self.object(response)
        try:
            answers.check_task(doc)
        except answers.Malformed as exc:
            raise self.malformed(response, str(exc)) from None
        return doc

    def malformed(self, response: httpx.Response, why: str) -> ApiError:
        request = response.request
        return ApiError(request.method, request.url.path, response.status_code, title=why)


class _TooLarge(Exception):
    """Internal: an answer longer than the bounds allow."""


def _path_of(url: str | httpx.URL) -> str:
    return url.path if isinstance(url, httpx.URL) else url.partition("?")[0]


def _again(state: RetryCallState) -> _Again:
    outcome = state.outcome
    exc = outcome.exception() if outcome is not None else None
    assert isinstance(exc, _Again)
    return exc
