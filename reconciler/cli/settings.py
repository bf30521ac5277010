"""A command's settings: reconciler.yaml, the environment and the options resolved into one value;
the task files read with them; the time zone an option names."""

from __future__ import annotations

import os
from datetime import UTC, tzinfo
from pathlib import Path

from reconciler.cli.output import err, utc_now
from reconciler.config import Settings, resolve_settings
from reconciler.desired import Desired, read_desired
from reconciler.errors import ConfigError
from reconciler.schedule import subdaily


def settings_for(
    config: Path | None, tasks: Path | None, env: str | None, tenant: str | None
) -> Settings:
    work = os.environ.get("RECONCILER_SCHEDULE_WORK", "").strip()
    if work:
        if not work.isdigit() or int(work) < 1000:
            raise ConfigError(
                f"RECONCILER_SCHEDULE_WORK={work!r}: expected a number of steps, at least 1000 "
                f"(default {subdaily.DEFAULT_WORK_BOUND})"
            )
        subdaily.set_work_bound(int(work))
    return resolve_settings(
        config_file=config, tasks=tasks, env=env, tenant=tenant, environ=os.environ, cwd=Path.cwd()
    )


def read_tree(settings: Settings, *, allow_empty: bool = False, echo: bool = True) -> Desired:
    """The task files; their warnings on stderr unless `echo` is False (plan and apply print them
    once preflight is known, so that a warning a preflight problem repeats is said once)."""
    desired = read_desired(settings, now=utc_now(), allow_empty=allow_empty)
    if echo:
        for warning in desired.warnings:
            err(str(warning))
    return desired


def zone(name: str) -> tzinfo:
    """`--tz NAME` as a time zone, or a one-line error."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {name!r} is not an IANA time zone (e.g. Europe/Zurich)") from None
