"""How plan and apply make a plan: the task files and the tenant read together, then what the
plan knows of the tenant (apps, preflight problems, impact, the day's reloads)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from reconciler import hub_renames, preflight
from reconciler.cli.connect import Tenant
from reconciler.cli.output import err, utc_now
from reconciler.cli.settings import zone
from reconciler.config import DefaultOwner, Settings
from reconciler.desired import Desired
from reconciler.errors import ProblemsFound, ReconcilerError
from reconciler.insight import DEFAULT_MAX_CONCURRENT, Insight
from reconciler.insight import build as build_insight
from reconciler.live import Live, LiveReader
from reconciler.load import paused_gc
from reconciler.owners import annotate
from reconciler.plan import Options, Plan, build_plan

READING_SWITCH_SECONDS = 0.001
"""How long the thread reading the task files holds the interpreter, at most, while an answer of
the listing waits for it (Python's default is 5 ms). Each page is a few such waits: at 5 ms the
pages of a tenant that answers at once came in behind the reading, and the reading behind them;
at 1 ms a plan of 10,000 tasks reads and lists in about a tenth less time, and no more against a
tenant 20 ms away (benchmarks: plan, plan-latency)."""

PLAN_COLOURS = {"+": "green", "~": "yellow", "-": "red", ">": "blue", "!": "magenta"}
"""The colour of a plan's line on a terminal, by its leading symbol."""


def plan_options(
    settings: Settings,
    *,
    adopt: bool,
    no_prune: bool,
    keep_legacy: bool,
    target: list[str] | None,
) -> Options:
    """What the command line says of how to plan, with the ownership marker and the
    `ignoreDifferences` rules of the settings."""
    return Options(
        marker=settings.marker,
        adopt=adopt,
        prune=not no_prune,
        keep_legacy=keep_legacy,
        targets=tuple(target or ()),
        ignore_rules=settings.ignore,
    )


@dataclass(frozen=True, slots=True)
class Reading:
    """How a plan reads the tenant for people: the time zone of its chart, the collision limit."""

    zone_name: str = "UTC"
    max_concurrent: int = DEFAULT_MAX_CONCURRENT


async def compute_plan(
    read: Callable[[], Desired],
    tenant: Tenant,
    options: Options,
    default_owner: DefaultOwner | None = None,
    reading: Reading = Reading(),
) -> tuple[Plan, Live, Insight]:
    """The plan, the live state it was made from, and what it knows of the tenant (apps,
    preflight problems, impact, the day's reloads).

    The task files are read (`read`, in a thread) while the listing's pages arrive: a plan takes
    about as long as the longer of the two, not their sum. Problems in the task files are
    reported before any error of the tenant, as when they were read first.

    The cyclic collector stays paused throughout: the documents of both sides are acyclic, and
    with tens of thousands of them every full collection walks the whole heap again, which made
    a plan of 50,000 tasks grow faster than its size (benchmarks/README.md)."""
    with paused_gc():
        return await _compute_plan(read, tenant, options, default_owner, reading)


async def _compute_plan(
    read: Callable[[], Desired],
    tenant: Tenant,
    options: Options,
    default_owner: DefaultOwner | None,
    reading: Reading,
) -> tuple[Plan, Live, Insight]:
    reader = LiveReader(tenant.client)
    listing = asyncio.create_task(reader.tasks())
    with _switching_every(READING_SWITCH_SECONDS):
        try:
            desired = await asyncio.to_thread(read)
        except BaseException:
            listing.cancel()
            await asyncio.gather(listing, return_exceptions=True)
            raise
    live = await listing
    migrates = any(t.spec.migrateFrom for t in desired.tasks)
    legacy = await reader.legacy() if migrates else None
    plan = build_plan(desired.tasks, live, options, legacy=legacy)
    # Owners by name, and writes as declared owners: refused before anything is written.
    owners, problems = await reader.owners(desired.tasks, default_owner)
    if problems:
        raise ProblemsFound(problems)
    annotate(plan, desired.tasks, live, owners)
    hub_renames.mark(plan)
    files_said = len(plan.warnings)  # the task files' warnings go here, once preflight is known
    if legacy is None and migrates:
        plan.warnings.append(
            "this tenant has no legacy reload-tasks endpoint: migrateFrom is ignored"
        )
    # Legacy reload-tasks count toward an app's 10 tasks and reload too: read them for preflight
    # and the day's reloads even when no task file migrates one (the plan does not list them then).
    await reader.apps(preflight.apps_to_read(plan, live, await reader.legacy()))
    insight, warnings = build_insight(
        desired.tasks,
        plan,
        reader.live,
        now=utc_now(),
        marker=options.marker,
        tz=zone(reading.zone_name),
        zone=reading.zone_name,
        max_concurrent=reading.max_concurrent,
    )
    said = [str(w) for w in preflight.said_once(desired.warnings, insight.problems)]
    for warning in said:
        err(warning)
    plan.warnings[files_said:files_said] = said
    plan.warnings.extend(warnings)
    return plan, reader.live, insight


@contextmanager
def _switching_every(seconds: float) -> Iterator[None]:
    """The interpreter's thread switch interval set to `seconds` for a while, then restored."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def refuse_problems(insight: Insight, *, listed: bool) -> None:
    """Exit 1 when preflight found problems; `listed`: they are in what was printed already."""
    if not insight.problems:
        return
    if not listed:
        for problem in insight.problems:
            err(str(problem))
    raise ReconcilerError(
        f"{len(insight.problems)} problem(s) that the tenant would refuse; nothing was written"
    )
