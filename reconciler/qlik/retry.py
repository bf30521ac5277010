"""The retry decision: "retry or not, after how long, in which tier", one pure function of the
request, what its attempt came to, and the attempts so far. The send loop (`sender`) sends, sleeps
and reads the clock; it acts on the decision and decides nothing itself.

Terminology:
    outcome    what one attempt came to: an answer (its status and `Retry-After`), no answer (and
               whether the request may have reached the service), a refused token, an answer
               longer than the bounds allow
    processed  an earlier attempt may have been carried out although its answer was lost
    look       a POST whose outcome is unknown is never simply sent again: the caller looks for
               what it would have made, and only if that is not there is it sent again
    budget     one operation's attempts and seconds (`RetryPolicy`), and what is left of the
               command's deadline

What it decides (each case a row of tests/qlik/test_retry_decision.py):
    - 2xx, or a status the operation expects (a 404 of an optional read): done
    - 429: retried, POST included (it was certainly not processed), after its `Retry-After`, else
      the backoff; the whole tier waits as long (the other tier goes on), and that wait counts
      towards RECONCILER_MAX_WAIT; a `Retry-After` longer than the budget gives up at once
    - 502, 503, 504, or a lost answer, after GET, PUT, PATCH or DELETE: retried after the backoff
      (RFC 9110 §9.2.2: these may be repeated; our PATCHes set values)
    - the same after a POST: ambiguous; looked for when the caller can look, else never sent again
    - could not connect, or the token request failed: nothing left the client; retried, POST too
    - a TLS certificate, protocol or proxy failure, or an answer too long: fails at once
    - a DELETE answered 404 after an attempt that may have been processed: done (it was deleted)
    - a PATCH refused (400, 409, 422) after an attempt that may have been processed: ambiguous
      (that attempt may have applied it: a `remove` cannot be applied twice)
    - the token endpoint answering 429, 502, 503 or 504: retried after the backoff; else fails
    - any retry only within the budget: the attempts, the seconds since the first attempt began
      and the wait, and the command's deadline; past it the last error is raised ("gave up after")
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, replace

from reconciler.errors import ConfigError

# Statuses worth a second try: rate limited, or a gateway / the service briefly unavailable.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
# A retry of a PATCH refused with these may have been refused because the lost attempt applied it.
REFUSED_STATUSES = frozenset({400, 409, 422})
AMBIGUOUS_NOTE = "the write may or may not have been applied"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """The retry budget of one operation: attempts, total seconds, and the backoff curve
    (exponential from `base`, capped at `cap`, plus up to `base` of random jitter)."""

    max_attempts: int = 6
    max_seconds: float = 120.0
    base: float = 0.5
    cap: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.max_seconds < 0 or self.base < 0 or self.cap < 0:
            raise ConfigError("retry max_seconds, base and cap must not be negative")

    def delay(self, attempt: int, jitter: float) -> float:
        """Seconds to wait after failed attempt number `attempt` (1, 2, ...): `base` doubled per
        attempt, plus `jitter` (0 to 1, drawn by the caller) times `base`, never more than `cap`."""
        exponential = self.base * 2.0 ** min(max(attempt, 1) - 1, 60)
        return min(self.cap, min(self.cap, exponential) + jitter * self.base)


def is_idempotent(method: str) -> bool:
    """GET, PUT, DELETE (RFC 9110 §9.2.2) and our PATCHes (they set values) may be repeated; a
    repeated `remove` is refused, and the client then reads the task back (`patch_task`)."""
    return method.upper() in ("GET", "HEAD", "PUT", "DELETE", "PATCH")


# -- what an attempt came to ----------------------------------------------------------------------


class Failure(enum.Enum):
    """What a transport failure says about whether the request reached the service."""

    NOT_SENT = "not sent"  # refused or timed out while connecting: nothing left the client
    MAYBE_SENT = "maybe sent"  # the request left; the answer did not arrive
    FATAL = "fatal"  # a local or protocol problem no retry will fix


@dataclass(frozen=True, slots=True)
class Answered:
    status: int
    retry_after: float | None = None  # seconds, from the answer's `Retry-After`


@dataclass(frozen=True, slots=True)
class Unanswered:
    failure: Failure
    what: str  # names the failure for messages: "could not connect (ConnectError)"


@dataclass(frozen=True, slots=True)
class TokenRefused:
    """The OAuth token endpoint answered `status`: the request itself was never sent."""

    status: int


@dataclass(frozen=True, slots=True)
class TooLong:
    """The answer was longer than the bounds allow (RECONCILER_MAX_ANSWER_BYTES)."""


Outcome = Answered | Unanswered | TokenRefused | TooLong


# -- the facts, the state, the decision -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """What the decision needs to know of the operation."""

    method: str
    expected: frozenset[int] = frozenset()  # error statuses handed back to the operation
    looks_for: str | None = None  # what a look finds ("the task"); None: the caller cannot look


@dataclass(frozen=True, slots=True)
class Attempts:
    """Where the operation stands once its attempt number `number` came to an outcome."""

    number: int
    elapsed: float  # seconds since the first attempt began
    left: float = math.inf  # seconds left of the command's deadline
    processed: bool = False  # an earlier attempt may have been carried out
    jitter: float = 0.0  # 0 to 1: the random part of this attempt's backoff


class Step(enum.Enum):
    DONE = "done"  # hand the answer back
    RETRY = "retry"  # wait `wait` seconds, then send again
    FAIL = "fail"  # raise the attempt's error


@dataclass(frozen=True, slots=True)
class Decision:
    """What the send loop does next. `look` comes before the step: look for what a lost POST
    would have made (after the wait), and if it is there, that is the answer."""

    step: Step
    reason: str  # for the log and the on_retry hook
    wait: float = 0.0
    look: bool = False
    ambiguous: bool = False  # the error is an AmbiguousWriteError
    notes: tuple[str, ...] = ()  # added to the error's detail, or logged when done
    block: float | None = None  # seconds the whole tier waits (a 429)
    hold: float | None = None  # seconds a 429 holds the command back (RECONCILER_MAX_WAIT)
    processed: bool = False  # carried to the next attempt's `Attempts.processed`


def decide(request: Request, outcome: Outcome, attempts: Attempts, policy: RetryPolicy) -> Decision:
    """The decision on one attempt's outcome, within the policy's budget."""
    backoff = policy.delay(attempts.number, attempts.jitter)
    decision = _on_outcome(request, outcome, attempts.processed, backoff)
    if decision.block is not None:
        # A 429: the tier waits as long, at most the budget; a wait the operation will not make
        # is not counted as holding the command back.
        hold = decision.wait if decision.wait <= policy.max_seconds else None
        decision = replace(decision, block=min(decision.wait, policy.max_seconds), hold=hold)
    if decision.step is not Step.RETRY:
        return decision
    spent = (
        attempts.number >= policy.max_attempts
        or attempts.elapsed + decision.wait > policy.max_seconds
        or decision.wait >= attempts.left
    )
    if not spent:
        return decision
    gave_up = f"gave up after {attempts.number} attempts"
    if decision.look:  # look once more, at once; if it is not there, give up
        gave_up = f"{gave_up}; {request.looks_for} was not found"
    return replace(decision, step=Step.FAIL, wait=0.0, notes=(*decision.notes, gave_up))


def _on_outcome(request: Request, outcome: Outcome, processed: bool, backoff: float) -> Decision:
    """What the outcome alone says: RETRY here means "worth another attempt", after `wait`."""
    match outcome:
        case TooLong():
            return Decision(Step.FAIL, "the answer is too long", processed=processed)
        case TokenRefused(status=status):
            reason = f"token endpoint HTTP {status}"
            if status in RETRYABLE_STATUSES:
                return Decision(Step.RETRY, reason, backoff, processed=processed)
            return Decision(Step.FAIL, reason, processed=processed)
        case Unanswered(failure=failure, what=what):
            processed = processed or failure is Failure.MAYBE_SENT
            if failure is Failure.FATAL:
                return Decision(Step.FAIL, what, processed=processed)
            if failure is Failure.NOT_SENT or is_idempotent(request.method):
                return Decision(Step.RETRY, what, backoff, processed=processed)
            return _unknown(request, "no answer", what, backoff, processed)
        case Answered(status=status, retry_after=retry_after):
            return _on_answer(request, status, retry_after, processed, backoff)
    raise AssertionError(outcome)  # pragma: no cover - the match covers every outcome


def _on_answer(
    request: Request, status: int, retry_after: float | None, processed: bool, backoff: float
) -> Decision:
    reason = f"HTTP {status}"
    method = request.method.upper()
    if status < 300 or status in request.expected:
        return Decision(Step.DONE, reason, processed=processed)
    if method == "DELETE" and status == 404 and processed:
        gone = "gone after an unanswered attempt; counted as deleted"
        return Decision(Step.DONE, reason, notes=(gone,), processed=processed)
    if status == 429:
        # Rate limited: certainly not processed, so even a POST may go again; the tier waits.
        wait = backoff if retry_after is None else retry_after
        return Decision(Step.RETRY, reason, wait, block=wait, processed=processed)
    if status in RETRYABLE_STATUSES:
        if is_idempotent(method):
            wait = backoff if retry_after is None else retry_after
            return Decision(Step.RETRY, reason, wait, processed=True)
        # A gateway error after a POST was sent: it may have been processed behind the gateway.
        return _unknown(request, reason, reason, backoff, processed)
    refused_again = method == "PATCH" and processed and status in REFUSED_STATUSES
    return Decision(Step.FAIL, reason, ambiguous=refused_again, processed=processed)


def _unknown(
    request: Request, cause: str, reason: str, backoff: float, processed: bool
) -> Decision:
    """A POST that may have been processed: looked for before it is sent again, if the caller
    can look; else never sent again."""
    notes = (AMBIGUOUS_NOTE,)
    if request.looks_for is None:
        return Decision(Step.FAIL, reason, ambiguous=True, notes=notes, processed=processed)
    looking = f"{cause}, {request.looks_for} may have been created: looking for it first"
    return Decision(
        Step.RETRY, looking, backoff, look=True, ambiguous=True, notes=notes, processed=processed
    )
