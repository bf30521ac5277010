"""Token buckets, the throttle and `Retry-After`, as pure arithmetic: no client, no network."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

import pytest

from reconciler.errors import ConfigError
from reconciler.qlik.throttle import (
    RateLimits,
    Throttle,
    Tier,
    TokenBucket,
    parse_retry_after,
    tier_for,
)
from tests.qlik.conftest import FakeTime


def test_bucket_starts_with_its_capacity_then_spaces_requests_at_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, capacity=3.0, tokens=3.0, updated=0.0)
    assert [bucket.reserve(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    # Empty: each further reservation waits one more 1/rate.
    assert bucket.reserve(0.0) == pytest.approx(0.5)
    assert bucket.reserve(0.0) == pytest.approx(1.0)


def test_bucket_refills_up_to_capacity_only() -> None:
    bucket = TokenBucket(rate=1.0, capacity=2.0, tokens=0.0, updated=0.0)
    bucket.refill(100.0)
    assert bucket.tokens == 2.0
    bucket.refill(50.0)  # time never runs backwards
    assert bucket.tokens == 2.0


def test_block_holds_the_tier_and_leaves_no_burst_after_it() -> None:
    bucket = TokenBucket(rate=1.0, capacity=10.0, tokens=10.0, updated=0.0)
    bucket.block(0.0, 30.0)
    assert bucket.blocked_until == 30.0
    assert bucket.reserve(5.0) == pytest.approx(25.0)
    # At the end of the block one request may go, then the rate applies: no refill during the block.
    bucket = TokenBucket(rate=1.0, capacity=10.0, tokens=10.0, updated=0.0)
    bucket.block(0.0, 30.0)
    assert bucket.reserve(30.0) == 0.0
    assert bucket.reserve(30.0) == pytest.approx(1.0)


def test_rate_limits_shape_buckets_below_the_limit_per_minute() -> None:
    limits = RateLimits(reads_per_minute=1000, writes_per_minute=100)
    writes = limits.bucket(Tier.WRITE, now=0.0)
    reads = limits.bucket(Tier.READ, now=0.0)
    # A fresh process starts small: 2 seconds of writes (5 of reads: most of a plan's pages),
    # not the 5-minute allowance.
    assert writes.tokens == writes.capacity == 3
    assert reads.tokens == reads.capacity == 83
    # capacity + a minute (and a second of jitter) of refill never exceeds the limit.
    for bucket, limit in ((writes, 100), (reads, 1000)):
        assert bucket.capacity + bucket.rate * 61 <= limit + 1e-9
        assert bucket.rate * 60 >= 0.9 * limit


def test_burst_minutes_banks_idle_quota_up_to_the_service_window() -> None:
    bucket = RateLimits(writes_per_minute=100, burst_minutes=5).bucket(Tier.WRITE, now=0.0)
    assert bucket.tokens == 3
    assert bucket.capacity == 500
    with pytest.raises(ConfigError, match="burst_minutes"):
        RateLimits(burst_minutes=6)
    with pytest.raises(ConfigError, match="writes_per_minute"):
        RateLimits(writes_per_minute=0)


def _max_in_window(times: list[float], window: float) -> int:
    best, queue = 0, deque[float]()
    for t in times:
        queue.append(t)
        while queue[0] <= t - window:
            queue.popleft()
        best = max(best, len(queue))
    return best


def test_throttle_never_exceeds_600_per_minute_and_reaches_90_percent() -> None:
    """Against a tenant enforcing 600 writes per minute (any 60-s window, or 3000 per 5 minutes),
    a client sending as fast as its bucket allows never exceeds the limit."""
    fake = FakeTime()
    throttle = Throttle(RateLimits(writes_per_minute=600), clock=fake.clock, sleep=fake.sleep)
    sent: list[float] = []

    async def run() -> None:
        start = fake.now
        while fake.now - start < 300:
            await throttle.acquire(Tier.WRITE)
            sent.append(fake.now)

    asyncio.run(run())
    assert _max_in_window(sent, 60.0) <= 600
    assert _max_in_window(sent, 300.0) <= 3000
    per_minute = len(sent) / ((sent[-1] - sent[0]) / 60)
    assert per_minute >= 0.9 * 600


def test_throttle_block_on_writes_leaves_reads_alone() -> None:
    fake = FakeTime()
    throttle = Throttle(RateLimits(), clock=fake.clock, sleep=fake.sleep)
    throttle.block(Tier.WRITE, 30.0)

    async def read_then_write() -> None:
        await throttle.acquire(Tier.READ)
        assert fake.sleeps == []
        await throttle.acquire(Tier.WRITE)

    asyncio.run(read_then_write())
    assert fake.sleeps == [30.0]


def test_tiers_follow_the_method() -> None:
    assert tier_for("GET") is Tier.READ
    assert {tier_for(m) for m in ("POST", "PATCH", "PUT", "DELETE")} == {Tier.WRITE}


def test_parse_retry_after() -> None:
    assert parse_retry_after(None) is None
    assert parse_retry_after("13") == 13.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
