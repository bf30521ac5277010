"""Which tenant a command talks to: the configured one, or the embedded local tenant.

With no tenant configured, plan and apply run against the local tenant: the emulator, in-process,
persisted in `.reconciler/local-tenant.json` and seeded on first use with a few legacy reload-tasks
and one unmanaged task, so that a newcomer sees migration and conflicts. In CI (`CI=true`) a missing
tenant is an error instead: a pipeline must never reconcile a scratch file by mistake. So are
credentials without a tenant: they say a real tenant was meant (a pipeline whose QLIK_TENANT_URL
variable is missing), and the local tenant would make that look like success.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from reconciler import apidoc
from reconciler.cli.output import err
from reconciler.config import Settings
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.model import MARKER
from reconciler.profile import DEFAULT, Profile
from reconciler.qlik.auth import Credentials, Secret
from reconciler.qlik.bounds import Bounds
from reconciler.qlik.client import OnRetry, RateLimits, RetryPolicy
from reconciler.qlik.profiled import ProfiledClient

T = TypeVar("T")

LOCAL_STATE = Path(".reconciler") / "local-tenant.json"
LOCAL_URL = "http://127.0.0.1"


@dataclass(slots=True)
class Tenant:
    """An open connection: the client, what to call the tenant in messages, and whether it is local."""

    client: ProfiledClient
    label: str
    url: str
    local: bool = False


EXAMPLE_APPS: tuple[dict[str, str], ...] = (
    {"id": "116dbfae-7fb9-4983-8e23-5ccd8c508722", "name": "Sales"},
    {"id": "3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718", "name": "Budget"},
    {"id": "5c1d9e8f-7a6b-4c3d-8e2f-1a0b9c8d7e6f", "name": "Data team monitoring"},
    {"id": "4b3a2c1d-0e9f-4a8b-8c7d-6e5f4a3b2c1d", "name": "HR headcount"},
    {"id": "6f67b6f1-3d0a-4c2e-9b1f-1a2b3c4d5e6f", "name": "Finance KPIs"},
    {"id": "7a0c2f44-52de-4f3b-8d21-0e9f8a7b6c5d", "name": "Board pack"},
    {"id": "8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d", "name": "Campaign results"},
    {"id": "0a6e3c9b-2d4f-4a8e-9c1b-7f6e5d4c3b2a", "name": "Stock"},
)
"""The apps the example task files reload (with the dev environment's vars): a new local tenant
has them, so a plan of the example tree finds every app it names."""


def local_seed() -> dict[str, Any]:
    """What a new local tenant holds: work a newcomer can migrate, and a task made by hand."""
    return {
        "apps": [
            {"id": "9c8b7a65-4321-4fed-8cba-987654321000", "name": "Inventory Monitor"},
            {"id": "1f2e3d4c-5b6a-4798-8877-665544332211", "name": "HR Absence"},
            *EXAMPLE_APPS,
        ],
        "legacyReloadTasks": [
            {
                "id": "64e5f6a7b8c9d0e1f2a3b4c5",
                "appId": "9c8b7a65-4321-4fed-8cba-987654321000",
                "partial": False,
                "timeZone": "America/Toronto",
                "autoReload": False,
                "recurrence": [
                    "RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=8;BYMINUTE=0;BYSECOND=0",
                    "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SA;BYHOUR=20;BYMINUTE=0;BYSECOND=0",
                ],
                "startDateTime": "2026-01-01T08:00:00",
                "state": "Enabled",
                "type": "scheduled_reload",
            },
            {
                "id": "64e5f6a7b8c9d0e1f2a3b4c6",
                "appId": "1f2e3d4c-5b6a-4798-8877-665544332211",
                "partial": False,
                "timeZone": "Europe/Berlin",
                "autoReload": True,
                "recurrence": ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=5;BYMINUTE=30"],
                "startDateTime": "2026-01-01T05:30:00",
                "state": "Enabled",
                "type": "scheduled_reload",
            },
        ],
        "tasks": [
            {
                "name": "Budget load",
                "description": "made by hand in the hub",
                "enabled": True,
                "specVersion": "0.8",
                "version": "1.0.0",
                "start": {
                    "stateName": "reload",
                    "schedule": {
                        "recurrence": "RRULE:FREQ=DAILY;BYHOUR=5;BYMINUTE=0;BYSECOND=0",
                        "timezone": "Europe/Zurich",
                        "startDateTime": "2026-01-01T05:00:00",
                    },
                },
                "states": [apidoc.reload_state("3f5e2a1b-8c9d-4e0f-a1b2-c3d4e5f60718")],
            }
        ],
    }


def open_tenant(
    tenant_url: str | None,
    environ: Mapping[str, str],
    *,
    root: Path,
    limits: RateLimits | None = None,
    retry: RetryPolicy | None = None,
    on_retry: OnRetry | None = None,
    profile: Profile = DEFAULT,
    marker: str = MARKER,
) -> Tenant:
    """A client for the configured tenant, or for the embedded local tenant when none is set; it
    speaks the tenant's `profile`, knows the managed tasks by `marker`, and is held to the bounds
    set in the environment (`RECONCILER_TIMEOUT`, ...)."""
    bounds = Bounds.from_env(environ)
    if tenant_url:
        if not Credentials.present_in(environ):
            raise ConfigError(
                f"no credentials for {tenant_url}: set QLIK_API_KEY, or QLIK_CLIENT_ID and "
                "QLIK_CLIENT_SECRET (an OAuth client)"
            )
        client = ProfiledClient(
            tenant_url,
            Credentials.from_env(environ),
            profile=profile,
            marker=marker,
            limits=limits,
            retry=retry,
            on_retry=on_retry,
            timeout=bounds.timeout,
            bounds=bounds,
        )
        return Tenant(client=client, label=client.tenant_url, url=client.tenant_url)
    if Credentials.present_in(environ):
        raise ConfigError(
            "credentials are set but no tenant is configured: set QLIK_TENANT_URL, --tenant, or "
            "the environment's `tenant` in reconciler.yaml (unset QLIK_API_KEY, QLIK_CLIENT_ID "
            "and QLIK_CLIENT_SECRET to use the local tenant)"
        )
    if environ.get("CI", "").lower() == "true":
        raise ConfigError(
            "no tenant configured and CI=true: refusing to use the local tenant in CI; set "
            "QLIK_TENANT_URL, --tenant, or the environment's `tenant` in reconciler.yaml"
        )
    # The emulator is loaded only here: a command against a real tenant never needs it.
    from reconciler.emulator import Emulator, EmulatorConfig

    state = root / LOCAL_STATE
    state.parent.mkdir(parents=True, exist_ok=True)
    try:
        emulator = Emulator(config=EmulatorConfig(), state_file=state, seed=local_seed())
    except ValueError as exc:  # the state file is corrupt (emulator.store.CorruptState)
        raise ConfigError(
            f"the local tenant cannot start: {exc}; move the file away to start afresh"
        ) from None
    client = ProfiledClient(
        LOCAL_URL,
        Credentials(api_key=Secret("local-tenant")),
        profile=profile,
        marker=marker,
        transport=emulator.transport(),
        retry=retry,
        on_retry=on_retry,
        limits=RateLimits(reads_per_minute=1_000_000, writes_per_minute=1_000_000),
        timeout=bounds.timeout,
        bounds=bounds,
    )
    return Tenant(client=client, label=f"local tenant ({LOCAL_STATE})", url="local", local=True)


def connect(
    settings: Settings, reads: float = 1000, writes: float = 100, on_retry: OnRetry | None = None
) -> Tenant:
    """The tenant of `settings`, held to the given read and write rates; a note on stderr when it
    is the local tenant."""
    tenant = open_tenant(
        settings.tenant,
        os.environ,
        root=settings.root,
        limits=RateLimits(reads_per_minute=reads, writes_per_minute=writes),
        on_retry=on_retry,
        profile=settings.profile,
        marker=settings.marker,
    )
    if tenant.local:
        err(f"note: no tenant configured; using the {tenant.label}")
    return tenant


def connect_after_files(
    settings: Settings,
    read: Callable[[], object],
    reads: float = 1000,
    writes: float = 100,
    on_retry: OnRetry | None = None,
) -> Tenant:
    """`connect`, except that problems in the task files (`read`) are reported before a
    connection error."""
    try:
        return connect(settings, reads, writes, on_retry=on_retry)
    except ReconcilerError:
        read()
        raise


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, except that what `main` returns never becomes the result of the
    event loop's main task.

    When `asyncio.run` ends it asks `signal.getsignal` whether its Ctrl-C handler is still in
    place, and that makes the text of an error naming the handler: the handler holds the main
    task, and the task's text holds its result. For a plan of 10,000 tasks that text is the whole
    plan, written out and thrown away: 0.4 s of a plan's run. Here the main task returns None
    and the result is handed over beside it."""
    result: list[T] = []

    async def main_task() -> None:
        result.append(await main)

    asyncio.run(main_task())
    return result[0]
