"""The emulator's fault hooks: random faults, fault rules (errors, dropped connections, late or
rewritten answers) and rate limits, changed while it serves. A mixin of `Emulator`, which holds
the configuration, the fault gate, the router and the lock."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from reconciler.emulator.faults import Fault, FaultGate, FaultRule, Match
from reconciler.emulator.hostile import Hostile

if TYPE_CHECKING:
    from reconciler.emulator.config import EmulatorConfig
    from reconciler.emulator.routes import Router


class FaultHooks:
    """Faults of the local tenant, as tests and benchmarks set them."""

    config: EmulatorConfig
    _lock: threading.RLock
    _faults: FaultGate
    _router: Router

    def set_faults(
        self,
        *,
        latency_ms: float | None = None,
        fail_rate: float | None = None,
        drop_rate: float | None = None,
        spike_rate: float | None = None,
        spike_ms: float | None = None,
    ) -> None:
        """Change the random faults (None: leave as is); rules stay (`clear_fault_rules`)."""
        with self._lock:
            if latency_ms is not None:
                self.config.latency_ms = latency_ms
            if fail_rate is not None:
                self.config.fail_rate = fail_rate
            if drop_rate is not None:
                self.config.drop_rate = drop_rate
            if spike_rate is not None:
                self.config.spike_rate = spike_rate
            if spike_ms is not None:
                self.config.spike_ms = spike_ms

    def add_fault_rule(
        self,
        matches: Match,
        *,
        fault: Fault | None = Fault.FAIL,
        status: int = 503,
        times: int | None = None,
        delay_ms: float = 0.0,
        answer: Hostile | None = None,
        retry_after: int = 1,
    ) -> FaultRule:
        """Inject `fault` (None: none), `delay_ms` of latency or a rewritten `answer` into the
        requests `matches(method, path, query_pairs)` selects, at most `times` (None: all)."""
        rule = FaultRule(matches, fault, status, times, delay_ms, 0, answer, retry_after)
        with self._lock:
            self._faults.rules.append(rule)
        return rule

    def clear_fault_rules(self) -> None:
        with self._lock:
            self._faults.rules.clear()

    def set_rate_limits(
        self,
        *,
        reads: int | None = None,
        writes: int | None = None,
        reloads: int | None = None,
    ) -> None:
        """Set the per-minute limits (None: unlimited) and forget the requests counted so far."""
        with self._lock:
            self.config.rate_limit_reads = reads
            self.config.rate_limit_writes = writes
            self.config.rate_limit_reloads = reloads
            self._router.limiter.reset()
