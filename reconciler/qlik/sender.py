"""The send loop every operation of the tenant client goes through, POST included, in layers of one
concern each (as httpx layers its own send):

    send                      the operation, handed back as an answer (or what a look found)
    _send_handling_retries    asks `retry.decide` about each outcome and does what it says: wait,
                              block the tier, look, send again, or raise
    _send_throttled           waits for the tier's rate limit, never past the command's deadline
    _send_single              one request, its whole answer within the bounds, classified into an
                              `Outcome`: httpx exceptions stop here and never escape

Also what the loop counts (`RequestCounter`) and reading answers into JSON objects.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import answers
from reconciler.qlik.auth import QlikAuth, TokenError
from reconciler.qlik.bounds import Bounds, Budget
from reconciler.qlik.error_body import api_error, with_note
from reconciler.qlik.retry import (
    Answered,
    Attempts,
    Decision,
    Failure,
    Outcome,
    Request,
    RetryPolicy,
    Step,
    TokenRefused,
    TooLong,
    Unanswered,
    decide,
)
from reconciler.qlik.throttle import Clock, Sleep, Throttle, retry_after_from, tier_for

__all__ = ["Check", "JsonObject", "Look", "OnRetry", "RequestCounter", "Sender"]

log = logging.getLogger("reconciler.qlik")

JsonObject = dict[str, Any]
OnRetry = Callable[[str, int, float, str], None]  # (operation, attempt, wait_seconds, reason)
Check = Callable[[JsonObject, int | None], None]
Look = Callable[[], Awaitable[JsonObject | None]]
"""Asked after a POST whose outcome is unknown: what it made, or None if it made nothing."""


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


@dataclass(frozen=True, slots=True)
class _Call:
    """One operation, the same for each of its attempts."""

    operation: str
    method: str
    url: str | httpx.URL
    params: Mapping[str, str] | None
    body: Any
    acting: httpx.Auth | None  # the auth of the user the client writes as
    look: Look | None
    facts: Request

    @property
    def what(self) -> str:
        """The request as bounds messages name it: `GET /api/scheduling/tasks`."""
        path = self.url.path if isinstance(self.url, httpx.URL) else self.url.partition("?")[0]
        return f"{self.method} {path}"


@dataclass(frozen=True, slots=True)
class _Attempt:
    """One attempt, classified: its outcome, and what its error is made from."""

    outcome: Outcome
    path: str
    response: httpx.Response | None = None
    token_error: TokenError | None = None
    text: str = ""  # the transport error's own words, scrubbed of secrets


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
        the user the client writes as (None: the client's own credentials); an error status in
        `expected` is handed back instead of raised."""
        facts = Request(method, expected)
        call = _Call(operation, method, url, params, body, acting, None, facts)
        answer = await self._send_handling_retries(call)
        assert isinstance(answer, httpx.Response)  # only a look finds a document
        return answer

    async def send_looking(
        self,
        operation: str,
        method: str,
        url: str | httpx.URL,
        *,
        look: Look | None,
        looks_for: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        acting: httpx.Auth | None = None,
    ) -> httpx.Response | JsonObject:
        """`send`, for a write whose outcome, when unknown, `look` can learn: the answer, or what
        `look` found (`looks_for` names it in messages: "the task"). Without `look`, `send`."""
        facts = Request(method, looks_for=looks_for if look is not None else None)
        call = _Call(operation, method, url, params, body, acting, look, facts)
        return await self._send_handling_retries(call)

    # -- retry: do what the decision says ---------------------------------------------------------

    async def _send_handling_retries(self, call: _Call) -> httpx.Response | JsonObject:
        started = self._clock()
        processed = False
        number = 0
        while True:
            number += 1
            attempt = await self._send_throttled(call)
            now = self._clock()
            left = self.budget.deadline - now
            state = Attempts(number, now - started, left, processed, random.random())
            decision = decide(call.facts, attempt.outcome, state, self.retry)
            processed = decision.processed
            self._pace(call, decision)
            if decision.step is Step.DONE:
                for note in decision.notes:
                    log.info("%s %s: %s", call.method, attempt.path, note)
                assert attempt.response is not None
                return attempt.response
            error = self._error(call, attempt, decision)
            if decision.step is Step.RETRY:
                self._count_retry(call.operation, number, decision.wait, error, decision.reason)
                await self._sleep(decision.wait)
            if decision.look:
                assert call.look is not None
                found = await call.look()
                if found is not None:
                    return found
            if decision.step is Step.FAIL:
                raise error

    def _pace(self, call: _Call, decision: Decision) -> None:
        """A 429's wait: counted towards the command's bound, then imposed on the whole tier."""
        tier = tier_for(call.method)
        if decision.hold is not None:
            self.budget.hold(call.what, decision.hold, self._throttle.blocked_until(tier))
        if decision.block is not None:
            self._throttle.block(tier, decision.block)

    def _error(self, call: _Call, attempt: _Attempt, decision: Decision) -> ApiError:
        """The attempt's error, of the class and with the notes the decision asks for."""
        cls = AmbiguousWriteError if decision.ambiguous else ApiError
        error: ApiError
        match attempt.outcome:
            case TokenRefused():
                assert attempt.token_error is not None
                error = attempt.token_error
            case TooLong():
                error = ApiError(call.method, attempt.path, 0, title=self.budget.too_large())
            case Unanswered(what=what):
                title = f"from the tenant: {what}"  # reads on from "no response"
                error = cls(call.method, attempt.path, 0, title=title, detail=attempt.text or None)
            case Answered(status=status):
                response = attempt.response
                assert response is not None
                error = api_error(
                    call.method,
                    attempt.path,
                    status,
                    body=response.content,
                    content_type=response.headers.get("content-type", ""),
                    reason=response.reason_phrase,
                    scrub=self._auth.scrub,
                    cls=cls,
                )
        for note in decision.notes:
            error = with_note(error, note)
        return error

    def _count_retry(
        self, operation: str, attempt: int, wait: float, error: ApiError, reason: str
    ) -> None:
        self.requests.retries += 1
        log.info("%s: %s; retry %d in %.1f s", operation, error.one_line(), attempt, wait)
        if self._on_retry is not None:
            self._on_retry(operation, attempt, wait, reason)

    # -- throttle ---------------------------------------------------------------------------------

    async def _send_throttled(self, call: _Call) -> _Attempt:
        self.budget.check_deadline(call.what)
        await self._throttle.acquire(tier_for(call.method))
        self.budget.check_deadline(call.what)
        self.requests.sent(call.operation)
        return await self._send_single(call)

    # -- send one request, and classify what came of it -------------------------------------------

    async def _send_single(self, call: _Call) -> _Attempt:
        request = self._http.build_request(
            call.method, call.url, params=call.params, json=call.body
        )
        path = request.url.path
        limit = self.budget.request_seconds()
        # The outcome is classified inside the handlers, the errors built outside them: nothing
        # chains to an httpx exception (its request holds the Authorization header).
        try:
            async with asyncio.timeout(limit):
                response = await self._receive(request, call.acting)
        except httpx.HTTPError as exc:
            failure, what = classify_failure(exc, request)
            return _Attempt(Unanswered(failure, what), path, text=self._auth.scrub(str(exc)))
        except TokenError as exc:
            return _Attempt(TokenRefused(exc.status), path, token_error=exc)
        except TimeoutError:
            return _Attempt(Unanswered(Failure.MAYBE_SENT, self.budget.timed_out(limit)), path)
        except _TooLarge:
            return _Attempt(TooLong(), path)
        status = response.status_code
        log.debug("%s %s -> %s", call.method, path, status)
        if status == 429:
            self.requests.throttled += 1
        outcome = Answered(status, retry_after_from(response.headers))
        return _Attempt(outcome, path, response=response)

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


def classify_failure(exc: httpx.HTTPError, request: httpx.Request) -> tuple[Failure, str]:
    """Whether a transport error could have let `request` reach the service, and a name for it."""
    name = type(exc).__name__
    chain: list[BaseException] = [exc]
    for link in chain:  # causes and contexts, breadth first; they can form cycles
        for cause in (link.__cause__, link.__context__):
            if cause is not None and cause not in chain and len(chain) < 12:
                chain.append(cause)
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in chain):
        return Failure.FATAL, f"TLS certificate check failed ({name})"
    if not isinstance(exc, httpx.TransportError) or isinstance(
        exc, httpx.UnsupportedProtocol | httpx.ProxyError | httpx.LocalProtocolError
    ):
        return Failure.FATAL, f"request failed ({name})"
    try:
        ours = exc.request is request
    except RuntimeError:
        ours = True
    if not ours:  # the token request failed: ours never left
        return Failure.NOT_SENT, f"token request failed ({name})"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return Failure.NOT_SENT, f"could not connect ({name})"
    if isinstance(exc, httpx.TimeoutException):
        return Failure.MAYBE_SENT, f"timed out waiting for the answer ({name})"
    return Failure.MAYBE_SENT, f"connection lost before the answer ({name})"
