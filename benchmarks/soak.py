"""Soak: many seeds of mixed changes applied through injected faults, with crashes and races.

    python benchmarks/soak.py                         # 10 seeds of 300 changes (about 20 s)
    python benchmarks/soak.py --seeds 50 --changes 1000
    python benchmarks/soak.py --seeds 5 --kills 15 --race   # also SIGKILL the CLI, and race two

Per seed, a starting tenant and a desired tree that differ by about `--changes` changes (creates
with chains, updates that remove fields, renames, deletes, drift, duplicates, hand-made tasks;
tests/reliability/scenario.py) are reconciled by plan + apply against the local tenant emulator
in-process, with 20% of requests answered 503, 5% of connections dropped (half of them after the
write was done), 5% latency spikes and a write limit that answers 429 in bursts. The client and the
emulator share a clock running `--speed` times faster than real time, so rate windows and
Retry-After waits cost milliseconds. A seed passes when the tenant matches git (a new plan is
empty), no two tasks share a name, and no hand-made (unmanaged) task was written to or changed.

`--kills K` also runs the CLI (`python -m reconciler apply --auto-approve`) against the emulator
over HTTP and kills it with SIGKILL K times, each right after a random write (spread over the
remaining changes, so kills land in every phase: creates, updates, deletes) or, now and then,
during the listing; then one more apply must converge. `--race` also runs two applies at once, then one more.

The figures are printed as a table and, with `--json FILE`, saved. The exit code is 1 if any seed
did not converge.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.apply import ApplyResult, Status  # noqa: E402
from reconciler.emulator import Emulator, EmulatorConfig, Reply  # noqa: E402
from reconciler.qlik.client import RateLimits  # noqa: E402
from tests.reliability.scenario import (  # noqa: E402
    FAULTS,
    Prepared,
    Scaled,
    in_process_client,
    inject_faults,
    no_faults,
    plan_and_apply,
    prepare,
)

API_KEY = "soak-api-key"
MAX_APPLIES = 4


@dataclass
class SeedResult:
    seed: int
    changes: int
    applies: int = 0
    first_apply_failed: list[str] = field(default_factory=list)
    retries: int = 0
    throttled: int = 0
    injected_503: int = 0
    dropped_before: int = 0
    dropped_after: int = 0
    spikes: int = 0
    found_by_name: int = 0
    duplicates: int = 0
    unmanaged_touched: int = 0
    converged: bool = False
    seconds: float = 0.0
    kills: int = 0
    kill_points: list[str] = field(default_factory=list)
    race_duplicates: int = 0
    race_converged: bool | None = None
    notes: list[str] = field(default_factory=list)


# -- faults, in-process ----------------------------------------------------------------------------


def soak_faults(seed: int, changes: int, speed: float, root: Path) -> SeedResult:
    result = SeedResult(seed, changes)
    clock = Scaled(speed, time.time())
    emulator = Emulator(EmulatorConfig(random_seed=seed), clock=clock)
    ready = prepare(emulator, seed, changes, root)
    inject_faults(emulator, writes_per_window=120)
    limits = RateLimits(reads_per_minute=3000, writes_per_minute=240)

    async def run() -> list[ApplyResult]:
        async with in_process_client(emulator, time_scale=clock, limits=limits) as client:
            results: list[ApplyResult] = []
            for _ in range(MAX_APPLIES):
                _, applied = await plan_and_apply(client, ready.tasks)
                results.append(applied)
                if applied.ok:
                    break
            result.retries = client.requests.retries
            result.throttled = client.requests.throttled
            return results

    results = asyncio.run(run())
    result.applies = len(results)
    result.first_apply_failed = [
        f"{o.action.kind.value} {o.action.name}: {o.detail}"
        for o in results[0].outcomes
        if o.status is Status.FAILED
    ]
    result.found_by_name = sum(
        1 for r in results for o in r.outcomes if "found by name" in o.detail
    )
    counters = emulator.counters
    result.injected_503 = counters["injected_failures"]
    result.dropped_before = counters["dropped_before"]
    result.dropped_after = counters["dropped_after"]
    result.spikes = counters["latency_spikes"]
    no_faults(emulator)
    _judge(result, ready, emulator)
    return result


def _judge(result: SeedResult, ready: Prepared, emulator: Emulator) -> None:
    verdict = ready.verdict(emulator)
    result.duplicates = len(verdict.duplicates)
    result.unmanaged_touched = len(verdict.unmanaged_changed) + len(verdict.unmanaged_written)
    result.converged = verdict.converged
    if not verdict.converged:
        result.notes.append(verdict.explain())


# -- the CLI over HTTP: crashes and races ----------------------------------------------------------


def _cli(root: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QLIK_", "RECONCILER_")) and k != "CI"
    }
    env.update(
        QLIK_TENANT_URL=url,
        QLIK_API_KEY=API_KEY,
        RECONCILER_WRITES_PER_MINUTE="100000",
        RECONCILER_READS_PER_MINUTE="100000",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", "apply", "--auto-approve", "--allow-mass-delete"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _served(emulator: Emulator) -> tuple[list[Any], Any]:
    """Serve `emulator`; every request is shown to the callables in the returned list."""
    observers: list[Any] = []
    original = emulator.handle

    def handle(method: str, path: str, *args: Any, **kwargs: Any) -> Reply:
        reply = original(method, path, *args, **kwargs)
        for observe in list(observers):
            observe(method, path)
        return reply

    emulator.handle = handle  # type: ignore[method-assign]
    return observers, emulator.serve()


def _killer(process: subprocess.Popen[str], target: int, kind: str, points: list[str]) -> Any:
    """Kill `process` right after the `target`-th request of `kind` ("GET", or "write" for POST,
    PATCH and DELETE) was carried out by the tenant, before its answer leaves."""
    seen = [0]

    def observe(method: str, path: str) -> None:
        if (method == "GET") != (kind == "GET"):
            return
        seen[0] += 1
        if seen[0] == target and process.poll() is None:
            points.append(f"{method} (#{target} {kind})")
            os.kill(process.pid, signal.SIGKILL)

    return observe


def _apps_known(emulator: Emulator, ready: Prepared) -> None:
    """The command line checks that every app of the plan exists before it writes (preflight):
    the tenant knows the apps the desired tree reloads."""
    for spec in [*ready.scenario.start, *ready.scenario.desired]:
        emulator.add_app(spec.app, f"App {spec.app[:8]}")


def soak_kills(result: SeedResult, kills: int, root: Path) -> None:
    rng = random.Random(result.seed)
    emulator = Emulator(EmulatorConfig(api_key=API_KEY, latency_ms=10, random_seed=result.seed))
    ready = prepare(emulator, result.seed, result.changes, root)
    _apps_known(emulator, ready)
    observers, serving = _served(emulator)
    with serving as server:
        for _ in range(kills * 2):
            if result.kills >= kills:
                break
            # Mostly after a write, spread over what is left; now and then during the listing.
            remaining = len(ready.verdict(emulator).remaining)
            kind = "GET" if rng.random() < 0.15 else "write"
            last = 3 if kind == "GET" else max(1, remaining // max(1, kills - result.kills))
            process = _cli(root, server.url)
            observers.append(_killer(process, rng.randint(1, last), kind, result.kill_points))
            process.communicate(timeout=600)
            observers.clear()
            if process.returncode == -signal.SIGKILL:
                result.kills += 1
                verdict = ready.verdict(emulator)
                extra = set(verdict.duplicates) - set(ready.scenario.copies)
                if extra:
                    result.notes.append(f"duplicates after a kill: {sorted(extra)}")
        final = _cli(root, server.url)
        out, err = final.communicate(timeout=600)
        if final.returncode != 0:
            said = [line for line in (err + out).splitlines() if "error" in line.lower()][:2]
            result.notes.append(f"the apply after the kills exited {final.returncode}: {said}")
    verdict = ready.verdict(emulator)
    if not verdict.converged:
        result.converged = False
        result.notes.append("after kills: " + verdict.explain())


def soak_race(result: SeedResult, root: Path) -> None:
    emulator = Emulator(EmulatorConfig(api_key=API_KEY, latency_ms=5))
    ready = prepare(emulator, result.seed, min(result.changes, 200), root)
    _apps_known(emulator, ready)
    with emulator.serve() as server:
        processes = [_cli(root, server.url) for _ in range(2)]
        for process in processes:
            process.communicate(timeout=600)
        result.race_duplicates = len(
            set(ready.verdict(emulator).duplicates) - set(ready.scenario.copies)
        )
        last = _cli(root, server.url)
        last.communicate(timeout=600)
    verdict = ready.verdict(emulator)
    result.race_converged = verdict.converged and last.returncode == 0
    if not result.race_converged:
        result.converged = False
        result.notes.append("after the race: " + verdict.explain())


# -- report ----------------------------------------------------------------------------------------

COLUMNS = [
    ("seed", "seed"),
    ("changes", "changes"),
    ("applies", "applies"),
    ("failed 1st", "first_apply_failed"),
    ("retries", "retries"),
    ("429", "throttled"),
    ("503", "injected_503"),
    ("drop<", "dropped_before"),
    ("drop>", "dropped_after"),
    ("spikes", "spikes"),
    ("found", "found_by_name"),
    ("dups", "duplicates"),
    ("touched", "unmanaged_touched"),
    ("kills", "kills"),
    ("race dups", "race_duplicates"),
    ("ok", "converged"),
    ("s", "seconds"),
]


def _table(results: Sequence[SeedResult]) -> str:
    def cell(result: SeedResult, key: str) -> str:
        value = getattr(result, key)
        if isinstance(value, list):
            return str(len(value))
        if isinstance(value, bool):
            return "yes" if value else "NO"
        return str(value)

    rows = [[title for title, _ in COLUMNS]]
    rows += [[cell(r, key) for _, key in COLUMNS] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    return "\n".join(
        "  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in rows
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=10, help="How many seeds (default 10).")
    parser.add_argument("--first-seed", type=int, default=1, help="The first seed (default 1).")
    parser.add_argument("--changes", type=int, default=300, help="Changes per seed (default 300).")
    parser.add_argument("--speed", type=float, default=200.0, help="Clock speed-up in-process.")
    parser.add_argument("--kills", type=int, default=0, help="SIGKILLs of the CLI per seed.")
    parser.add_argument("--race", action="store_true", help="Also race two applies per seed.")
    parser.add_argument("--json", type=Path, help="Save the results to this JSON file.")
    args = parser.parse_args(argv)

    print(f"faults: {FAULTS}, 429 bursts from a write limit of 120/min", flush=True)
    results: list[SeedResult] = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
            root = Path(scratch)
            result = soak_faults(seed, args.changes, args.speed, root / "faults")
            if args.kills:
                soak_kills(result, args.kills, root / "kills")
            if args.race:
                soak_race(result, root / "race")
        result.seconds = round(time.monotonic() - started, 2)
        results.append(result)
        status = "converged" if result.converged else "NOT CONVERGED"
        print(f"seed {seed}: {status} in {result.seconds} s", flush=True)
        for line in result.first_apply_failed:
            print(f"  first apply: {line[:160]}")
        for note in result.notes:
            print(f"  {note[:300]}")

    print()
    print(_table(results))
    total = {
        "seeds": len(results),
        "changes": sum(r.changes for r in results),
        "converged": sum(r.converged for r in results),
        "converged_first_apply": sum(r.applies == 1 for r in results),
        "retries": sum(r.retries for r in results),
        "throttled": sum(r.throttled for r in results),
        "injected_503": sum(r.injected_503 for r in results),
        "dropped": sum(r.dropped_before + r.dropped_after for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "unmanaged_touched": sum(r.unmanaged_touched for r in results),
        "kills": sum(r.kills for r in results),
    }
    print()
    print(json.dumps(total))
    if args.json is not None:
        args.json.write_text(
            json.dumps({"total": total, "seeds": [asdict(r) for r in results]}, indent=2) + "\n"
        )
    return 0 if total["converged"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
