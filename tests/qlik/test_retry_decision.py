"""The retry decision, from a table: each row a request, what its attempt came to, where the
operation stands, and the decision (docs/reliability.md, "How each fault is survived" and "Bounds";
DESIGN, "Retries" and "Rate limits"). Pure: no client, no clock, no network.

The default policy: 6 attempts, 120 s, backoff 0.5 s doubled per attempt (jitter 0 unless a row
says otherwise), capped at 20 s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from reconciler.errors import ConfigError
from reconciler.qlik.retry import (
    AMBIGUOUS_NOTE,
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

DONE, RETRY, FAIL = Step.DONE, Step.RETRY, Step.FAIL
LOOKING = Request("POST", looks_for="the task")
LOST = Unanswered(Failure.MAYBE_SENT, "connection lost before the answer (ReadError)")
NO_CONNECTION = Unanswered(Failure.NOT_SENT, "could not connect (ConnectError)")
BAD_CERT = Unanswered(Failure.FATAL, "TLS certificate check failed (ConnectError)")


def first(*, processed: bool = False, jitter: float = 0.0) -> Attempts:
    return Attempts(1, 0.0, processed=processed, jitter=jitter)


@dataclass(frozen=True)
class Row:
    case: str
    request: Request
    outcome: Outcome
    attempts: Attempts
    expected: Decision


ROWS = [
    # -- answers that are done
    Row("GET 200", Request("GET"), Answered(200), first(), Decision(DONE, "HTTP 200")),
    Row("PATCH 204", Request("PATCH"), Answered(204), first(), Decision(DONE, "HTTP 204")),
    Row(
        "an expected 404 is handed back",
        Request("GET", frozenset({404})),
        Answered(404),
        first(),
        Decision(DONE, "HTTP 404"),
    ),
    Row(
        "a DELETE finding the task gone after an unanswered attempt counts as deleted",
        Request("DELETE"),
        Answered(404),
        first(processed=True),
        Decision(
            DONE,
            "HTTP 404",
            notes=("gone after an unanswered attempt; counted as deleted",),
            processed=True,
        ),
    ),
    # -- 429: retried, POST included, after Retry-After; the tier waits as long
    *(
        Row(
            f"{method} 429 waits for Retry-After and blocks its tier",
            Request(method),
            Answered(429, 13.0),
            first(),
            Decision(RETRY, "HTTP 429", 13.0, block=13.0, hold=13.0),
        )
        for method in ("GET", "PATCH", "POST")
    ),
    Row(
        "429 on a POST that can look is simply sent again: it was not processed",
        LOOKING,
        Answered(429, 2.0),
        first(),
        Decision(RETRY, "HTTP 429", 2.0, block=2.0, hold=2.0),
    ),
    Row(
        "429 without Retry-After backs off",
        Request("GET"),
        Answered(429),
        first(jitter=1.0),
        Decision(RETRY, "HTTP 429", 1.0, block=1.0, hold=1.0),
    ),
    Row(
        "429 asking longer than the budget gives up at once, the tier blocked at most the budget",
        Request("GET"),
        Answered(429, 600.0),
        first(),
        Decision(FAIL, "HTTP 429", notes=("gave up after 1 attempts",), block=120.0),
    ),
    Row(
        "429 whose wait would pass the budget's seconds gives up, the wait still counted",
        Request("POST"),
        Answered(429, 59.0),
        Attempts(2, 70.0),
        Decision(FAIL, "HTTP 429", notes=("gave up after 2 attempts",), block=59.0, hold=59.0),
    ),
    # -- 502, 503, 504: retried when the method may be repeated
    *(
        Row(
            f"{method} {status} is retried after the backoff",
            Request(method),
            Answered(status),
            first(),
            Decision(RETRY, f"HTTP {status}", 0.5, processed=True),
        )
        for method, status in (("GET", 503), ("PUT", 502), ("DELETE", 504), ("PATCH", 503))
    ),
    Row(
        "503 with Retry-After waits for it, without blocking the tier",
        Request("GET"),
        Answered(503, 7.0),
        first(),
        Decision(RETRY, "HTTP 503", 7.0, processed=True),
    ),
    Row(
        "the backoff doubles per attempt, plus up to `base` of jitter",
        Request("GET"),
        Answered(503),
        Attempts(3, 1.5, jitter=1.0),
        Decision(RETRY, "HTTP 503", 2.5, processed=True),
    ),
    Row(
        "the sixth attempt is the last",
        Request("DELETE"),
        Answered(503),
        Attempts(6, 15.0),
        Decision(FAIL, "HTTP 503", notes=("gave up after 6 attempts",), processed=True),
    ),
    Row(
        "no retry whose wait ends past the command's deadline",
        Request("GET"),
        Answered(503),
        Attempts(1, 0.0, left=0.4),
        Decision(FAIL, "HTTP 503", notes=("gave up after 1 attempts",), processed=True),
    ),
    # -- a POST whose outcome is unknown is never simply sent again
    *(
        Row(
            f"POST {status} may have been processed: ambiguous",
            Request("POST"),
            Answered(status),
            first(),
            Decision(FAIL, f"HTTP {status}", ambiguous=True, notes=(AMBIGUOUS_NOTE,)),
        )
        for status in (502, 503, 504)
    ),
    Row(
        "POST whose answer was lost: ambiguous",
        Request("POST"),
        LOST,
        first(),
        Decision(FAIL, LOST.what, ambiguous=True, notes=(AMBIGUOUS_NOTE,), processed=True),
    ),
    Row(
        "POST 503 that can look: wait the backoff, look, and only then send again",
        LOOKING,
        Answered(503, 30.0),
        first(),
        Decision(
            RETRY,
            "HTTP 503, the task may have been created: looking for it first",
            0.5,
            look=True,
            ambiguous=True,
            notes=(AMBIGUOUS_NOTE,),
        ),
    ),
    Row(
        "POST whose answer was lost, that can look",
        LOOKING,
        LOST,
        Attempts(2, 1.0),
        Decision(
            RETRY,
            "no answer, the task may have been created: looking for it first",
            1.0,
            look=True,
            ambiguous=True,
            notes=(AMBIGUOUS_NOTE,),
            processed=True,
        ),
    ),
    Row(
        "POST that can look, budget spent: look once more at once, then give up",
        LOOKING,
        Answered(503),
        Attempts(6, 20.0),
        Decision(
            FAIL,
            "HTTP 503, the task may have been created: looking for it first",
            look=True,
            ambiguous=True,
            notes=(AMBIGUOUS_NOTE, "gave up after 6 attempts; the task was not found"),
        ),
    ),
    Row(
        "POST that can look, at the command's deadline: look once more at once, then give up",
        LOOKING,
        LOST,
        Attempts(2, 5.0, left=0.9),
        Decision(
            FAIL,
            "no answer, the task may have been created: looking for it first",
            look=True,
            ambiguous=True,
            notes=(AMBIGUOUS_NOTE, "gave up after 2 attempts; the task was not found"),
            processed=True,
        ),
    ),
    # -- no answer
    Row("POST not sent: retried", Request("POST"), NO_CONNECTION, first(), Decision(RETRY, NO_CONNECTION.what, 0.5)),
    Row("GET answer lost: retried", Request("GET"), LOST, first(), Decision(RETRY, LOST.what, 0.5, processed=True)),
    Row("DELETE answer lost: retried", Request("DELETE"), LOST, first(), Decision(RETRY, LOST.what, 0.5, processed=True)),
    Row("POST TLS failure: fails at once", Request("POST"), BAD_CERT, first(), Decision(FAIL, BAD_CERT.what)),
    Row("GET TLS failure: fails at once", Request("GET"), BAD_CERT, first(), Decision(FAIL, BAD_CERT.what)),
    Row("an answer too long: fails at once", Request("GET"), TooLong(), first(), Decision(FAIL, "the answer is too long")),
    # -- errors that are final
    *(
        Row(f"{method} {status} fails", Request(method), Answered(status), first(), Decision(FAIL, f"HTTP {status}"))
        for method, status in (("GET", 500), ("GET", 404), ("POST", 400), ("GET", 401), ("DELETE", 404))
    ),
    *(
        Row(
            f"PATCH {status} after an unanswered attempt: that attempt may have applied it",
            Request("PATCH"),
            Answered(status),
            first(processed=True),
            Decision(FAIL, f"HTTP {status}", ambiguous=True, processed=True),
        )
        for status in (400, 409, 422)
    ),
    Row("PATCH 500 after an unanswered attempt fails plainly", Request("PATCH"), Answered(500), first(processed=True), Decision(FAIL, "HTTP 500", processed=True)),
    Row("PATCH 409 at the first attempt fails plainly", Request("PATCH"), Answered(409), first(), Decision(FAIL, "HTTP 409")),
    # -- the token endpoint
    Row("token endpoint 503: retried", Request("GET"), TokenRefused(503), first(), Decision(RETRY, "token endpoint HTTP 503", 0.5)),
    Row("token endpoint 429: retried, the tier not blocked", Request("POST"), TokenRefused(429), first(), Decision(RETRY, "token endpoint HTTP 429", 0.5)),
    Row("token endpoint 401: fails at once", Request("GET"), TokenRefused(401), first(), Decision(FAIL, "token endpoint HTTP 401")),
    Row(
        "token endpoint 503 at the last attempt",
        Request("GET"),
        TokenRefused(503),
        Attempts(6, 10.0),
        Decision(FAIL, "token endpoint HTTP 503", notes=("gave up after 6 attempts",)),
    ),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=[row.case for row in ROWS])
def test_decision(row: Row) -> None:
    assert decide(row.request, row.outcome, row.attempts, RetryPolicy()) == row.expected


def test_a_smaller_budget_gives_up_sooner() -> None:
    policy = RetryPolicy(max_attempts=3, max_seconds=2.0)
    busy = Answered(503)
    assert decide(Request("GET"), busy, Attempts(2, 0.0), policy).step is RETRY
    assert decide(Request("GET"), busy, Attempts(3, 0.0), policy).step is FAIL
    assert decide(Request("GET"), busy, Attempts(2, 1.5), policy).step is FAIL  # 1.5 + 1 > 2


def test_the_backoff_is_capped() -> None:
    assert RetryPolicy().delay(7, 0.0) == 20.0
    assert RetryPolicy(cap=3.0).delay(4, 1.0) == 3.0


def test_retry_policy_validation() -> None:
    assert RetryPolicy() == RetryPolicy(max_attempts=6, max_seconds=120, base=0.5, cap=20)
    with pytest.raises(ConfigError):
        RetryPolicy(max_attempts=0)
    assert math.isfinite(RetryPolicy().max_seconds)
