"""Injected faults (503s, dropped connections, latency) and the per-tier rate limits.

Both are deterministic: faults draw from one `random.Random(random_seed)`, and rate windows read
the injected clock.
"""

from __future__ import annotations

import math
import random
from collections import deque
from enum import StrEnum

from reconciler.emulator.config import EmulatorConfig


class Tier(StrEnum):
    """Rate-limit tiers (reference pages, "Facts"): Tier 1 reads, Tier 2 writes, reloads."""

    READS = "reads"
    WRITES = "writes"
    RELOADS = "reloads"


class Fault(StrEnum):
    FAIL = "fail"  # answer 503 CHO-024 before doing anything
    DROP_BEFORE = "drop-before"  # close the connection, nothing processed
    DROP_AFTER = "drop-after"  # process the request, then close without answering


class FaultGate:
    """Decides, per request, whether a fault is injected."""

    def __init__(self, seed: int | None) -> None:
        self.rng = random.Random(seed)

    def decide(self, config: EmulatorConfig) -> Fault | None:
        if config.fail_rate > 0 and self.rng.random() < config.fail_rate:
            return Fault.FAIL
        if config.drop_rate > 0 and self.rng.random() < config.drop_rate:
            return Fault.DROP_BEFORE if self.rng.random() < 0.5 else Fault.DROP_AFTER
        return None


class RateLimiter:
    """A sliding-window log per (tier, user): at most `limit` requests in any `window` seconds.

    A refused request does not count. The answer is the whole number of seconds (at least 1)
    until the oldest counted request leaves the window.
    """

    def __init__(self) -> None:
        self._log: dict[tuple[Tier, str], deque[float]] = {}

    def limit_for(self, tier: Tier, config: EmulatorConfig) -> int | None:
        return {
            Tier.READS: config.rate_limit_reads,
            Tier.WRITES: config.rate_limit_writes,
            Tier.RELOADS: config.rate_limit_reloads,
        }[tier]

    def admit(self, tier: Tier, user: str, config: EmulatorConfig, now: float) -> int | None:
        """None when admitted; otherwise the Retry-After seconds."""
        limit = self.limit_for(tier, config)
        if limit is None:
            return None
        window = config.rate_window_s
        log = self._log.setdefault((tier, user), deque())
        while log and log[0] <= now - window:
            log.popleft()
        if len(log) >= max(0, limit):
            oldest = log[0] if log else now
            return max(1, math.ceil(oldest + window - now))
        log.append(now)
        return None

    def reset(self) -> None:
        self._log.clear()
