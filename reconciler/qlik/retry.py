"""Retry decisions: pure answers to "should this be retried, after how long, in which tier", and the
retry budget of one operation. The send loop (`sender`) does the I/O; nothing here sends anything
(httpx is imported only to classify its exceptions).

Terminology:
    verdict   what to do with one attempt's outcome: done, retry, ambiguous (a POST that may have
              been processed) or fail
"""

from __future__ import annotations

import enum
import random
import ssl
from dataclasses import dataclass

import httpx

from reconciler.errors import ConfigError

# Statuses worth a second try: rate limited, or a gateway / the service briefly unavailable.
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


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

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1, 2, ...): `base` doubled per
        attempt, plus up to `base` of random jitter, never more than `cap`."""
        exponential = self.base * 2.0 ** min(max(attempt, 1) - 1, 60)
        return min(self.cap, min(self.cap, exponential) + random.uniform(0, self.base))


class Failure(enum.Enum):
    """What a transport failure says about whether the request reached the service."""

    NOT_SENT = "not sent"  # refused or timed out while connecting: nothing left the client
    MAYBE_SENT = "maybe sent"  # the request left; the answer did not arrive
    FATAL = "fatal"  # a local or protocol problem no retry will fix


class Decision(enum.Enum):
    """What the send loop does after an attempt: done, send again, report an answer that may
    hide a write, or fail."""

    DONE = "done"
    RETRY = "retry"
    AMBIGUOUS = "ambiguous"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision on one attempt: what to do, how long the answer asked us to wait (None: use the
    backoff), whether the whole tier must wait, and why (for logs and the on_retry hook)."""

    action: Decision
    reason: str
    retry_after: float | None = None
    blocks_tier: bool = False


def is_idempotent(method: str) -> bool:
    """GET, PUT, DELETE (RFC 9110 §9.2.2) and our PATCHes (they set values) may be repeated; a
    repeated `remove` is refused, and the client then reads the task back (`patch_task`)."""
    return method.upper() in ("GET", "HEAD", "PUT", "DELETE", "PATCH")


def decide_response(method: str, status: int, retry_after: float | None) -> Verdict:
    """The verdict on an answer with `status`."""
    if status < 300:
        return Verdict(Decision.DONE, f"HTTP {status}")
    reason = f"HTTP {status}"
    if status == 429:
        # Rate limited: certainly not processed, so even a POST may go again.
        return Verdict(Decision.RETRY, reason, retry_after, blocks_tier=True)
    if status in RETRYABLE_STATUSES:
        if is_idempotent(method):
            return Verdict(Decision.RETRY, reason, retry_after)
        # A gateway error after a POST was sent: it may have been processed behind the gateway.
        return Verdict(Decision.AMBIGUOUS, reason)
    return Verdict(Decision.FAIL, reason)


def decide_transport(method: str, failure: Failure, what: str) -> Verdict:
    """The verdict on an attempt that got no answer (`what` names the failure for messages)."""
    if failure is Failure.NOT_SENT:
        return Verdict(Decision.RETRY, what)
    if failure is Failure.MAYBE_SENT:
        return Verdict(Decision.RETRY if is_idempotent(method) else Decision.AMBIGUOUS, what)
    return Verdict(Decision.FAIL, what)


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
