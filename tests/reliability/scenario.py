"""A reproducible reconciliation scenario: a starting tenant and a desired tree that differ by a
chosen number of mixed changes, and the checks that say whether a tenant converged.

The starting tenant is made the way a real one is: a start tree applied by the tool (managed
tasks, chains with real ids), then edits behind git's back (a description changed in the hub, a
task disabled by the service), manual copies of managed tasks (duplicates), and tasks made by hand
(unmanaged, some chained to managed ones). The desired tree then creates (chains of new tasks
included), updates (descriptions, schedules, enabled, partial, schedule <-> chain switches that
remove a field), renames (`renamedFrom`) and deletes (chained ones included).

Used by the reliability tests and by `benchmarks/soak.py`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reconciler import apidoc
from reconciler.apply import ApplyResult, apply_plan
from reconciler.emulator import Emulator
from reconciler.load import LoadedTask, load_tree
from reconciler.model import MARKER
from reconciler.plan import Options, Plan, build_plan
from reconciler.qlik.auth import Credentials, Secret
from reconciler.qlik.bounds import Bounds
from reconciler.qlik.client import RateLimits, RetryPolicy, TenantClient
from reconciler.validate import validate

TIMEZONES = ("UTC", "Europe/Zurich", "America/Toronto", "Asia/Tokyo")
TASKS_PER_APP = 4  # the service allows 10; duplicates and hand-made tasks share some apps


@dataclass(frozen=True)
class Spec:
    """One task file in the short form."""

    name: str
    app: str
    # ("schedule", hour, tz) | ("cron", hour) | ("chain", ((upstream, status), ...), when)
    # | ("demand",)
    trigger: tuple[Any, ...]
    description: str = ""
    enabled: bool = True
    partial: bool = False
    renamed_from: str | None = None

    def yaml(self) -> str:
        lines = [
            f"name: {self.name}",
            f"description: {self.description or 'no description'}",
            f"reload: {{appId: {self.app}, partial: {str(self.partial).lower()}}}",
        ]
        kind = self.trigger[0]
        if kind == "schedule":
            _, hour, tz = self.trigger
            lines += [
                "schedule:",
                f"  recurrence: RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE=0;BYSECOND=0",
                f"  timezone: {tz}",
                "  startDateTime: 2026-01-01T00:00:00",
            ]
        elif kind == "cron":
            lines += ["schedule:", f'  cron: "0 {self.trigger[1]} * * 1-5"', "  timezone: UTC"]
        elif kind == "chain":
            _, ups, when = self.trigger
            lines.append("after:")
            lines += [f"  - {{task: {up}, status: {status}}}" for up, status in ups]
            lines.append(f"when: {when}")
        if not self.enabled:
            lines.append("enabled: false")
        if self.renamed_from:
            lines.append(f"renamedFrom: [{self.renamed_from}]")
        return "\n".join(lines) + "\n"


@dataclass
class Expected:
    """What the first plan must show for the scenario (a check of the generator itself)."""

    create: int = 0
    update: int = 0
    delete: int = 0


@dataclass
class Scenario:
    start: list[Spec]
    desired: list[Spec]
    drift: list[str] = field(default_factory=list)  # names edited in the hub after the start
    disabled: list[str] = field(default_factory=list)  # names disabled by the service
    copies: list[str] = field(default_factory=list)  # names copied by hand (duplicates)
    hand_made: int = 0  # unmanaged tasks
    expected: Expected = field(default_factory=Expected)


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _trigger(rng: random.Random, upstream_pool: Sequence[str]) -> tuple[Any, ...]:
    kind = rng.choices(["schedule", "cron", "chain", "demand"], [4, 2, 4, 1])[0]
    if kind == "chain" and upstream_pool:
        count = 1 if len(upstream_pool) < 2 or rng.random() < 0.7 else 2
        ups = rng.sample(list(upstream_pool[-40:]), count)
        statuses = [rng.choice(["succeeded", "failed", "any"]) for _ in ups]
        return ("chain", tuple(zip(ups, statuses, strict=True)), rng.choice(["any", "all"]))
    if kind == "cron":
        return ("cron", rng.randrange(24))
    if kind == "demand":
        return ("demand",)
    return ("schedule", rng.randrange(24), rng.choice(TIMEZONES))


def _changed(spec: Spec, rng: random.Random, pool: Sequence[str]) -> Spec:
    """`spec` with one change git makes (never a no-op)."""
    kind = spec.trigger[0]
    options = ["description", "enabled", "partial", "hour"]
    if kind in ("schedule", "cron") and pool:
        options.append("to-chain")  # removes /start, adds /events
    if kind == "chain":
        options += ["to-schedule", "status"]  # removes /events, adds /start
    choice = rng.choice(options)
    if choice == "description":
        return replace(spec, description=spec.description + " (revised)")
    if choice == "enabled":
        return replace(spec, enabled=not spec.enabled)
    if choice == "partial":
        return replace(spec, partial=not spec.partial)
    if choice == "to-chain":
        return replace(spec, trigger=("chain", ((rng.choice(list(pool)), "succeeded"),), "any"))
    if choice == "to-schedule":
        return replace(spec, trigger=("schedule", rng.randrange(24), "UTC"))
    if choice == "status":
        _, ups, when = spec.trigger
        first, *rest = ups
        status = "failed" if first[1] != "failed" else "succeeded"
        return replace(spec, trigger=("chain", ((first[0], status), *rest), when))
    if kind in ("schedule", "cron"):
        hour = (spec.trigger[1] + 1) % 24
        return replace(spec, trigger=(kind, hour, *spec.trigger[2:]))
    return replace(spec, description=spec.description + " (revised)")


def make_scenario(seed: int, changes: int) -> Scenario:
    """A scenario whose first plan has `changes` changes (`expected` says of which kind)."""
    rng = random.Random(seed)
    n_create = round(changes * 0.40)
    n_update = round(changes * 0.25)
    n_drift = round(changes * 0.07)
    n_disabled = round(changes * 0.03)
    n_rename = round(changes * 0.05)
    n_copy = max(1, round(changes * 0.02))
    n_delete = max(0, changes - n_create - n_update - n_drift - n_disabled - n_rename - n_copy)
    n_keep = max(4, round(changes * 0.2))
    roles = (
        ["update"] * n_update
        + ["drift"] * n_drift
        + ["disabled"] * n_disabled
        + ["rename"] * n_rename
        + ["delete"] * n_delete
        + ["keep"] * n_keep
    )
    rng.shuffle(roles)
    apps = [_uuid(rng) for _ in range((len(roles) + n_create) // TASKS_PER_APP + 2)]
    slot = iter(range(10**9))

    def app() -> str:
        return apps[next(slot) // TASKS_PER_APP]

    start: list[Spec] = []
    role_of: dict[str, str] = {}
    survivors: list[str] = []  # start tasks present under the same name in the desired tree
    for i, role in enumerate(roles):
        # Tasks that survive may only run after survivors; deleted ones after anything.
        pool = [s.name for s in start] if role == "delete" else survivors
        spec = Spec(
            name=f"Task {seed}-{i:04d}",
            app=app(),
            trigger=_trigger(rng, pool),
            description=rng.choice(["nightly", "hourly", "weekly figures", ""]),
            enabled=rng.random() > 0.1,
            partial=rng.random() < 0.2,
        )
        start.append(spec)
        role_of[spec.name] = role
        if role not in ("delete", "rename"):
            survivors.append(spec.name)

    desired: list[Spec] = []
    scenario = Scenario(start=start, desired=desired)
    for spec in start:
        role = role_of[spec.name]
        if role == "delete":
            continue
        if role == "update":
            pool = [
                s
                for s in survivors
                if s != spec.name and survivors.index(s) < survivors.index(spec.name)
            ]
            desired.append(_changed(spec, rng, pool))
        elif role == "rename":
            desired.append(replace(spec, name=f"{spec.name} renamed", renamed_from=spec.name))
        else:
            desired.append(spec)
            if role == "drift":
                scenario.drift.append(spec.name)
            elif role == "disabled" and spec.enabled:
                scenario.disabled.append(spec.name)
            elif role == "disabled":
                scenario.drift.append(spec.name)
    targets = [s.name for s in desired if not s.renamed_from]
    for i in range(n_create):
        spec = Spec(
            name=f"New {seed}-{i:04d}",
            app=app(),
            trigger=_trigger(rng, targets),
            description=rng.choice(["new", "added in this change", ""]),
            enabled=rng.random() > 0.1,
        )
        desired.append(spec)
        targets.append(spec.name)
    scenario.copies = rng.sample([s.name for s in start if role_of[s.name] == "keep"], n_copy)
    scenario.hand_made = max(3, changes // 20)
    scenario.expected = Expected(
        create=n_create,
        update=n_update + n_rename + len(scenario.drift) + len(scenario.disabled),
        delete=n_delete + n_copy,
    )
    return scenario


def write_tree(specs: Sequence[Spec], tasks_dir: Path, per_file: int = 5) -> None:
    """Task files, a few documents per file, in a couple of folders."""
    tasks_dir.mkdir(parents=True, exist_ok=True)
    for old in tasks_dir.rglob("*.yaml"):
        old.unlink()
    for start in range(0, len(specs), per_file):
        folder = tasks_dir / f"team-{start // 50:02d}"
        folder.mkdir(exist_ok=True)
        text = "---\n".join(s.yaml() for s in specs[start : start + per_file])
        (folder / f"tasks-{start:05d}.yaml").write_text(text)


def load_tasks(tasks_dir: Path) -> list[LoadedTask]:
    result = load_tree(tasks_dir, {}, root=tasks_dir.parent)
    problems = [str(p) for p in result.problems]
    problems += [str(p) for p in validate(result.tasks) if p.severity == "error"]
    assert not problems, problems[:5]
    return result.tasks


# -- time: the in-process runs go faster than the wall clock ---------------------------------------


class Scaled:
    """A clock and a sleep running `speed` times faster than real time, shared by the client and
    the emulator, so that minute-long rate windows and Retry-After waits take milliseconds while
    every component still sees consistent time."""

    def __init__(self, speed: float, epoch: float) -> None:
        self.speed = speed
        self.epoch = epoch
        self.origin = time.monotonic()

    def __call__(self) -> float:
        return self.epoch + (time.monotonic() - self.origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


def in_process_client(
    emulator: Emulator,
    *,
    time_scale: Scaled | None = None,
    limits: RateLimits | None = None,
    retry: RetryPolicy | None = None,
) -> TenantClient:
    extra: dict[str, Any] = {}
    if time_scale is not None:
        # On a clock running faster than real time, an hour of deadline is seconds of real
        # time: the bounds of a command are the subject of test_hostile_tenant.py, not here.
        unbounded = Bounds(deadline=10.0**9, max_wait=10.0**9)
        extra = {"clock": time_scale, "sleep": time_scale.sleep, "bounds": unbounded}
    return TenantClient(
        "http://127.0.0.1",
        Credentials(api_key=Secret(emulator.config.api_key or "reliability-key")),
        transport=emulator.transport(),
        limits=limits or RateLimits(reads_per_minute=10**6, writes_per_minute=10**6),
        retry=retry,
        **extra,
    )


async def plan_and_apply(
    client: TenantClient, tasks: Sequence[LoadedTask], *, parallelism: int = 4
) -> tuple[Plan, ApplyResult]:
    plan = build_plan(tasks, await client.list_tasks(), Options(marker=MARKER))
    return plan, await apply_plan(plan, client, marker=MARKER, parallelism=parallelism)


# -- building the starting tenant ------------------------------------------------------------------


def task_doc(name: str, app: str, *, annotations: Sequence[str] = (MARKER,)) -> dict[str, Any]:
    """A task document as the API holds it, scheduled daily at 03:00 UTC."""
    return {
        "name": name,
        "description": "",
        "enabled": True,
        "specVersion": "0.8",
        "version": "1.0.0",
        "annotations": list(annotations),
        "start": {
            "stateName": "reload",
            "schedule": {
                "recurrence": "RRULE:FREQ=DAILY;BYHOUR=3;BYMINUTE=0;BYSECOND=0",
                "timezone": "UTC",
                "startDateTime": "2026-01-01T03:00:00",
            },
        },
        "states": [apidoc.reload_state(app)],
    }


def _hand_made(
    emulator: Emulator, rng: random.Random, count: int, upstreams: Sequence[str]
) -> None:
    """Unmanaged tasks (another annotation, no marker); every other one runs after a managed task."""
    for i in range(count):
        doc = task_doc(f"Hand-made {i:03d}", _uuid(rng), annotations=["owner:finance-team"])
        doc["description"] = "made in the hub"
        if i % 2 and upstreams:
            del doc["start"]
            doc["events"] = [
                {
                    "name": "upstream",
                    "type": "com.qlik.v1.task.run.finished",
                    "source": "system-events.task",
                    "correlation": [
                        {
                            "contextAttributeName": "id",
                            "contextAttributeValue": rng.choice(upstreams),
                        },
                        {"contextAttributeName": "status", "contextAttributeValue": "succeeded"},
                    ],
                }
            ]
            doc["states"][0]["onEvents"][0]["eventRefs"] = ["upstream"]
        emulator.put_task_raw(doc)


def build_start(emulator: Emulator, scenario: Scenario, scratch: Path, seed: int) -> None:
    """Apply the start tree to an empty tenant, then make the edits behind git's back."""
    write_tree(scenario.start, scratch)
    tasks = load_tasks(scratch)

    async def apply_start() -> None:
        async with in_process_client(emulator) as client:
            _, result = await plan_and_apply(client, tasks, parallelism=8)
            assert result.ok, [o.detail for o in result.outcomes if o.detail][:3]

    asyncio.run(apply_start())
    by_name = {t["name"]: t for t in emulator.tasks()}
    for name in scenario.drift:
        emulator.edit_task(by_name[name]["id"], lambda d: d.update(description="edited in the hub"))
    for name in scenario.disabled:
        emulator.set_disabled(by_name[name]["id"], "CONSECUTIVE-FAILURES")
    for name in scenario.copies:
        copy = {k: v for k, v in by_name[name].items() if k not in ("id", "metadata")}
        emulator.put_task_raw(copy)
    rng = random.Random(seed * 7919)
    kept = [by_name[s.name]["id"] for s in scenario.start if s.name not in scenario.copies][:20]
    _hand_made(emulator, rng, scenario.hand_made, kept)


# -- the checks --------------------------------------------------------------------------------


def unmanaged(emulator: Emulator) -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in emulator.tasks() if MARKER not in (t.get("annotations") or [])}


def _client_view(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A task without what the service derives on its own (the topology of chains changes when
    an upstream is deleted; that is not a change made to this task)."""
    out = dict(doc)
    meta = dict(out.get("metadata") or {})
    meta.pop("topology", None)
    out["metadata"] = meta
    return out


@dataclass
class Verdict:
    duplicates: dict[str, int]
    remaining: list[str]  # the changes a new plan still shows
    missing: list[str]  # desired names absent from the tenant
    unmanaged_changed: list[str]
    unmanaged_written: list[str]  # write requests sent to an unmanaged task's path

    @property
    def converged(self) -> bool:
        return not (
            self.duplicates
            or self.remaining
            or self.missing
            or self.unmanaged_changed
            or self.unmanaged_written
        )

    def explain(self) -> str:
        return (
            f"duplicates={self.duplicates} remaining={self.remaining[:5]} "
            f"missing={self.missing[:5]} unmanaged_changed={self.unmanaged_changed} "
            f"unmanaged_written={self.unmanaged_written}"
        )


def verdict(
    emulator: Emulator,
    tasks: Sequence[LoadedTask],
    hand_made_before: Mapping[str, Mapping[str, Any]],
) -> Verdict:
    """Compare the tenant with git, from the emulator's own state (no faults on this path)."""
    live = emulator.tasks()
    counts = Counter(str(t["name"]) for t in live)
    plan = build_plan(tasks, live, Options(marker=MARKER))
    after = {t["id"]: t for t in live}
    changed = [
        str(before["name"])
        for task_id, before in hand_made_before.items()
        if _client_view(after.get(task_id, {})) != _client_view(before)
    ]
    written = sorted(
        {
            f"{r.method} {r.path}"
            for r in emulator.request_log
            if r.method != "GET" and any(r.path.endswith(i) for i in hand_made_before)
        }
    )
    return Verdict(
        duplicates={n: c for n, c in counts.items() if c > 1},
        remaining=[f"{a.kind.value} {a.name}: {a.reason}" for a in plan.actions],
        missing=[t.name for t in tasks if t.name not in counts],
        unmanaged_changed=changed,
        unmanaged_written=written,
    )


FAULTS: dict[str, float] = {
    "fail_rate": 0.20,  # 503 CHO-024, before anything is done
    "drop_rate": 0.05,  # connection closed without an answer: half before, half after the write
    "spike_rate": 0.05,  # answers that come late
    "spike_ms": 30.0,
    "latency_ms": 1.0,
}
"""The fault mix of the reliability runs; a low write limit adds 429 bursts."""


def inject_faults(emulator: Emulator, *, writes_per_window: int) -> None:
    emulator.set_faults(**FAULTS)
    emulator.set_rate_limits(writes=writes_per_window)


def no_faults(emulator: Emulator) -> None:
    emulator.set_faults(fail_rate=0, drop_rate=0, spike_rate=0, latency_ms=0)
    emulator.set_rate_limits()
    emulator.clear_fault_rules()


def nth(method: str, path: str, numbers: Sequence[int]) -> Callable[[str, str, Any], bool]:
    """A fault-rule predicate selecting the n-th requests (1-based) of `method` on `path`."""
    seen = [0]
    wanted = set(numbers)

    def matches(m: str, p: str, query: Any) -> bool:
        if m != method or p != path:
            return False
        seen[0] += 1
        return seen[0] in wanted

    return matches


@dataclass
class Prepared:
    """A starting tenant built and the desired tree written to `tasks_dir`."""

    scenario: Scenario
    tasks: list[LoadedTask]
    tasks_dir: Path
    hand_made: dict[str, dict[str, Any]]

    def verdict(self, emulator: Emulator) -> Verdict:
        return verdict(emulator, self.tasks, self.hand_made)


def prepare(emulator: Emulator, seed: int, changes: int, root: Path) -> Prepared:
    scenario = make_scenario(seed, changes)
    build_start(emulator, scenario, root / ".start", seed)
    tasks_dir = root / "tasks"
    write_tree(scenario.desired, tasks_dir)
    tasks = load_tasks(tasks_dir)
    plan = build_plan(tasks, emulator.tasks(), Options(marker=MARKER))
    summary = plan.summary()
    got = (summary["create"], summary["update"], summary["delete"])
    want = (scenario.expected.create, scenario.expected.update, scenario.expected.delete)
    assert got == want, (got, want)
    return Prepared(scenario, tasks, tasks_dir, unmanaged(emulator))
