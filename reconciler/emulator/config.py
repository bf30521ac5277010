"""The emulator's settings (faults, limits, run behaviour) and the clock it can be driven by."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
"""Seconds since the epoch, like `time.time`; every timestamp and rate window reads it."""


@dataclass
class EmulatorConfig:
    """How the local tenant behaves. Every field has a default that makes a friendly sandbox.

    Secrets (`api_key`, `oauth_clients`) are kept out of the repr.
    """

    # Auth: with `api_key` set only that key (or a token from /oauth/token) is accepted; without it
    # any non-empty bearer token is. `oauth_clients` maps client_id to client_secret; when empty,
    # /oauth/token takes `api_key` as every client's secret, or any non-empty secret without one.
    api_key: str | None = field(default=None, repr=False)
    oauth_clients: dict[str, str] = field(default_factory=dict, repr=False)
    # Client ids allowed the user impersonation grant ("*": every client). Off by default, as in
    # a real tenant, where a client must be given the grant.
    impersonation_clients: frozenset[str] = frozenset()
    token_expires_in: int = 21600
    tenant_id: str = "local-tenant-0000000000000000000"

    # Fault injection, drawn from one random generator seeded with `random_seed`.
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    # Latency spikes: this share of answers comes `spike_ms` later still (a slow gateway).
    spike_rate: float = 0.0
    spike_ms: float = 0.0
    random_seed: int | None = None

    # Rate limits per tier, requests per `rate_window_s` (None: unlimited).
    rate_limit_reads: int | None = None
    rate_limit_writes: int | None = None
    rate_limit_reloads: int | None = None
    rate_window_s: float = 60.0

    # Service limits and behaviour.
    max_tasks_per_app: int = 10
    max_tasks_per_user: int | None = None
    default_page_limit: int = 10
    max_page_limit: int = 100  # the largest `limit` a listing accepts (the service's is unknown)
    run_duration_s: float = 0.0
    consecutive_failures_limit: int = 3
    max_runs_per_task: int = 100
    max_cascade_runs: int = 200
    honour_enabled_on_create: bool = False
    # Apps: only those seeded or added exist (404 otherwise, as in a tenant), each with its own
    # `privileges`; with `open_apps` every app id is an app the caller may reload.
    open_apps: bool = False
    patch_answers_204: bool = False  # the service may answer a PATCH 204 without a body
    fsync: bool = True

    # Named ways a real tenant may store or answer differently (`reconciler.emulator.quirks`):
    # e.g. ("date-z", "rrule-part-order"), or ("all",). Unknown names refuse to build the emulator.
    quirks: tuple[str, ...] = ()


class ManualClock:
    """A clock tests move by hand: `clock.advance(61)` makes a minute pass instantly."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
