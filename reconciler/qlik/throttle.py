"""Rate limits: a token bucket per tier, and the `Retry-After` an answer asks for. Pure arithmetic on
explicit times, plus `Throttle`, which waits (through the injected sleep) until a request may go.

Terminology:
    tier      the service's rate-limit class: reads (Tier 1: list, get, graphs, runs, apps, legacy
              list) and writes (Tier 2: create, update, delete, start, legacy delete)
    block     after a 429 the whole tier waits for `Retry-After`; the other tier goes on

The burst model. The service counts each tier per user over 5-minute windows. A token bucket of
capacity C refilled at r per minute sends at most C + r·W requests in any window of W minutes, so it
stays under a limit of N per minute in *every* window of one minute or more only if C + r ≤ N. We
therefore keep the bucket small (`burst_seconds` of traffic, 2 s by default: 3 writes at 100/min) and
refill it at N − C per minute, less a one-second allowance for network jitter; against a tenant
enforcing 600/min that sustains ~95% of the limit with no 429 at all, whether the tenant counts per
minute, per 5 minutes, or with a bucket of its own. The 5-minute allowance is not spent by default: the
quota is shared with every other client of the same user (the UI, other jobs), and a process cannot
know what they used. `burst_minutes` lets an idle bucket bank up to that many minutes of quota for
short runs after a pause, at the risk of 429s against a tenant measuring per minute.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from reconciler.errors import ConfigError

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

# Seconds of network jitter the sustained rate leaves room for (requests leave the client evenly
# spaced but may reach the service closer together).
LATENCY_ALLOWANCE_SECONDS = 1.0
# The service evaluates its limits over 5-minute windows (the rate-limit reference page).
SERVICE_WINDOW_MINUTES = 5.0


class Tier(enum.Enum):
    """The service's rate-limit tiers."""

    READ = "reads"
    WRITE = "writes"


def tier_for(method: str) -> Tier:
    """Reads are GETs; every other method the client uses (POST, PATCH, PUT, DELETE) is a write."""
    return Tier.READ if method.upper() in ("GET", "HEAD") else Tier.WRITE


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Requests per minute per tier, and how much of a burst the client allows itself."""

    reads_per_minute: float = 1000.0
    writes_per_minute: float = 100.0
    burst_minutes: float = 0.0
    burst_seconds: float = 2.0
    # Reads may start with a larger burst: a plan lists its pages at once, and 83 reads in
    # the first seconds still leave every minute under the limit (capacity + rate x 1 min <= N).
    read_burst_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in (
            "reads_per_minute",
            "writes_per_minute",
            "burst_seconds",
            "read_burst_seconds",
        ):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"rate limit {name} must be a positive number, not {value!r}")
        if not 0 <= self.burst_minutes <= SERVICE_WINDOW_MINUTES:
            raise ConfigError(
                f"rate limit burst_minutes must be between 0 and {SERVICE_WINDOW_MINUTES:g} "
                f"(the service's window), not {self.burst_minutes!r}"
            )

    def per_minute(self, tier: Tier) -> float:
        return self.reads_per_minute if tier is Tier.READ else self.writes_per_minute

    def bucket(self, tier: Tier, now: float) -> TokenBucket:
        """The bucket for `tier`, shaped so that no minute carries more than the limit."""
        limit = self.per_minute(tier)
        seconds = self.read_burst_seconds if tier is Tier.READ else self.burst_seconds
        capacity = max(1.0, math.floor(limit * seconds / 60.0))
        sustained = (limit - capacity) * 60.0 / (60.0 + LATENCY_ALLOWANCE_SECONDS)
        rate = max(sustained, limit / 2.0) / 60.0
        banked = max(capacity, math.floor(limit * self.burst_minutes))
        return TokenBucket(rate=rate, capacity=banked, tokens=capacity, updated=now)


@dataclass(slots=True)
class TokenBucket:
    """Token-bucket arithmetic with explicit times (seconds), no I/O: `reserve` takes one token and
    says how long to wait before sending. Reservations may drive the balance negative; waiters are
    then served in order, one every 1/rate seconds."""

    rate: float  # tokens per second
    capacity: float
    tokens: float
    updated: float
    blocked_until: float = -math.inf

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before the request may go (0: now)."""
        self.refill(now)
        self.tokens -= 1.0
        wait = -self.tokens / self.rate if self.tokens < 0 else 0.0
        return max(wait, self.blocked_until - now, 0.0)

    def block(self, now: float, seconds: float) -> None:
        """A 429: nothing in this tier goes before `now + seconds`; then one request may go (the
        retry), and the rest follow at the sustained rate: no burst, no refill during the block."""
        self.blocked_until = max(self.blocked_until, now + seconds)
        self.tokens = min(self.tokens, 1.0)
        self.updated = max(self.updated, self.blocked_until)


class Throttle:
    """One token bucket per tier; `acquire(tier)` waits until a request of that tier may go."""

    def __init__(self, limits: RateLimits, *, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        now = clock()
        self.buckets: dict[Tier, TokenBucket] = {t: limits.bucket(t, now) for t in Tier}

    async def acquire(self, tier: Tier) -> None:
        bucket = self.buckets[tier]
        while True:
            now = self._clock()
            if now < bucket.blocked_until:
                await self._sleep(bucket.blocked_until - now)
                continue
            wait = bucket.reserve(now)
            if wait > 0:
                await self._sleep(wait)
            if self._clock() >= bucket.blocked_until:
                return
            # A 429 arrived while we waited: the token is forfeited, queue again after the block.

    def block(self, tier: Tier, seconds: float) -> None:
        self.buckets[tier].block(self._clock(), seconds)

    def blocked_until(self, tier: Tier) -> float:
        """When the tier's current block ends (in the past if it is not blocked)."""
        return self.buckets[tier].blocked_until


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: delay-seconds or an HTTP-date (RFC 9110 §10.2.3); None if absent
    or unreadable."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def retry_after_from(headers: Mapping[str, str]) -> float | None:
    return parse_retry_after(headers.get("retry-after"))
