"""Injected faults (503s, dropped connections, latency spikes, rules for chosen requests) and the
per-tier rate limits.

Both are deterministic: random faults draw from one `random.Random(random_seed)`, rules select
requests by what they ask, and rate windows read the injected clock.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.hostile import Hostile


class Tier(StrEnum):
    """Rate-limit tiers (reference pages, "Facts"): Tier 1 reads, Tier 2 writes, reloads."""

    READS = "reads"
    WRITES = "writes"
    RELOADS = "reloads"


class Fault(StrEnum):
    FAIL = "fail"  # answer with an error (503 CHO-024 by default) before doing anything
    DROP_BEFORE = "drop-before"  # close the connection, nothing processed
    DROP_AFTER = "drop-after"  # process the request, then close without answering


Match = Callable[[str, str, Sequence[tuple[str, str]]], bool]
"""Selects requests by method, path and decoded query pairs."""


@dataclass
class FaultRule:
    """A fault for the requests `matches` selects, instead of any random one: "the listing's page
    7 answers 500", "every DELETE is dropped after it is processed", "the 5th POST answers 700 ms
    late" (`fault` None, `delay_ms`). It hits at most `times` requests (None: every one it
    selects); `status` is the answer of a FAIL (`retry_after` the seconds a 429 asks for);
    `answer` rewrites the answer of a request carried out as usual (`hostile.Shape`)."""

    matches: Match
    fault: Fault | None = Fault.FAIL
    status: int = 503
    times: int | None = None
    delay_ms: float = 0.0
    hits: int = 0
    answer: Hostile | None = None
    retry_after: int = 1

    def selects(self, method: str, path: str, query: Sequence[tuple[str, str]]) -> bool:
        spent = self.times is not None and self.hits >= self.times
        return self.matches(method, path, query) and not spent


class FaultGate:
    """Decides, per request, whether a fault is injected and how much extra latency it gets."""

    def __init__(self, seed: int | None) -> None:
        self.rng = random.Random(seed)
        self.rules: list[FaultRule] = []

    def decide(self, config: EmulatorConfig) -> Fault | None:
        if config.fail_rate > 0 and self.rng.random() < config.fail_rate:
            return Fault.FAIL
        if config.drop_rate > 0 and self.rng.random() < config.drop_rate:
            return Fault.DROP_BEFORE if self.rng.random() < 0.5 else Fault.DROP_AFTER
        return None

    def rule_for(
        self, method: str, path: str, query: Sequence[tuple[str, str]]
    ) -> FaultRule | None:
        """The first rule that selects this request. Every rule is asked about every request, so
        that a predicate counting requests ("the 3rd POST") counts them all."""
        selected = [rule for rule in self.rules if rule.selects(method, path, query)]
        if not selected:
            return None
        selected[0].hits += 1
        return selected[0]

    def spike_s(self, config: EmulatorConfig) -> float:
        """Seconds of extra latency for this answer (0 unless a spike is drawn)."""
        if config.spike_rate > 0 and self.rng.random() < config.spike_rate:
            return max(0.0, config.spike_ms) / 1000.0
        return 0.0


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
