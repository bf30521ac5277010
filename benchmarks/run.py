"""Benchmarks: request economy, scale and rate-limit use, measured against the naive way.

    python benchmarks/run.py            # every workload at full size (a few minutes)
    python benchmarks/run.py --quick    # every workload at a tenth of the size (under a minute)
    python benchmarks/run.py --only plan-scale

Each workload runs the `reconciler` command line in a subprocess, as a user runs it, against the
local tenant emulator served over real HTTP on 127.0.0.1 from this process: the emulator's CPU is
not the command's. Task files and tenant state are generated from a seed (benchmarks/generate.py).
Wall time, CPU time and peak memory (RSS) are those of the command's process; requests are counted
by the emulator. The results are printed as a table and written to benchmarks/results.json.
Nothing here asserts a time: the table says whether each target is met.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import floors  # noqa: E402
import generate  # noqa: E402
from measure import (  # noqa: E402
    CHILD_ENV,
    IDENTITY_REQUESTS,
    SEED,
    UNPACED,
    Context,
    Report,
    Run,
    TimedEmulator,
    apply_args,
    child_env,
    cli,
    costs,
    expect,
    measure,
    median_run,
    plan_args,
    project,
    s,
    tenant,
)

from reconciler.emulator import EmulatorConfig  # noqa: E402

LATENCY_MS = 20.0
PARALLELISM = 4


# -- workloads ------------------------------------------------------------------------------------


def plan_scale(ctx: Context) -> None:
    """10,000 tasks in git and the same 10,000 live: a plan that finds nothing to change."""
    n = ctx.scale(10_000)
    tree = generate.generate(n, SEED)
    root = project(ctx, f"plan-scale-{n}", tree)
    docs = generate.live_documents(tree.tasks, tree.variables, SEED)
    pages = math.ceil(n / 100)
    name = "plan-scale"
    with tenant(docs) as (emulator, url):
        validates, plans = [], []
        for _ in range(ctx.repeat):
            validates.append(
                expect(measure(cli("validate", "--env", generate.ENV), root), [0], "validate")
            )
            plans.append(expect(measure(plan_args(url), root, emulator), [0], "plan"))
        paced = expect(
            measure(plan_args(url, "--reads-per-minute", "1000"), root, emulator),
            [0],
            "plan at default read pacing",
        )
    floor, plan = median_run(validates), median_run(plans)
    answer = json.loads(plan.stdout)
    r = ctx.report
    r.add(
        name,
        "tasks (files, apps)",
        f"{n} ({len(tree.tasks)}, {math.ceil(n / generate.TASKS_PER_APP)})",
    )
    expected = pages + 1 + IDENTITY_REQUESTS  # and the legacy reload-tasks, once
    r.add(
        name,
        "requests",
        str(len(plan.requests)),
        f"= {expected} ({pages} pages, 1 legacy, {IDENTITY_REQUESTS} users)",
        len(plan.requests) == expected,
    )
    r.add(
        name,
        "plan wall",
        s(plan.wall),
        "" if ctx.quick else "<= 5.00 s",
        None if ctx.quick else plan.wall <= 5,
    )
    r.add(name, "plan CPU", s(plan.cpu))
    r.add(name, "plan peak RSS", f"{plan.rss_mb:.0f} MB", "<= 400 MB", plan.rss_mb <= 400)
    r.add(name, "validate wall", s(floor.wall))
    r.add(name, "validate CPU, peak RSS", f"{s(floor.cpu)}, {floor.rss_mb:.0f} MB")
    ratio = plan.wall / floor.wall
    r.add(name, "plan / validate wall", f"{ratio:.2f}x", "<= 2.00x", ratio <= 2)
    r.add(name, "emulator CPU during plan", s(plan.server_cpu))
    r.add(name, "plan wall at default 1000 reads/min", s(paced.wall), "(informative)")
    ctx.report.data[name] = {
        "tasks": n,
        "apps": math.ceil(n / generate.TASKS_PER_APP),
        "requests": len(plan.requests),
        "requests_by_operation": answer.get("requests"),
        "summary": answer.get("summary"),
        "plan": [costs(p) for p in plans],
        "validate": [costs(v) for v in validates],
        "plan_median": costs(plan),
        "validate_median": costs(floor),
        "plan_over_validate": ratio,
        "plan_default_read_pacing": costs(paced),
    }


def plan_latency(ctx: Context) -> None:
    """2,000 tasks, 20 ms per request: the product's paged listing against GET per task."""
    n = ctx.scale(2_000)
    tree = generate.generate(n, SEED + 2)
    root = project(ctx, f"plan-latency-{n}", tree)
    docs = generate.live_documents(tree.tasks, tree.variables, SEED + 2)
    naive_args = [
        sys.executable,
        str(HERE / "naive_plan.py"),
        "--env",
        generate.ENV,
        "--parallelism",
        str(PARALLELISM),
        "--tenant",
    ]
    name = "plan-latency"
    with tenant(docs, EmulatorConfig(latency_ms=LATENCY_MS)) as (emulator, url):
        plans, naives = [], []
        for _ in range(ctx.repeat):
            plans.append(expect(measure(plan_args(url), root, emulator), [0], "plan"))
            naives.append(expect(measure([*naive_args, url], root, emulator), [0], "naive plan"))
    plan, naive = median_run(plans), median_run(naives)
    ratio = naive.wall / plan.wall
    r = ctx.report
    r.add(name, "tasks, latency", f"{n}, {LATENCY_MS:.0f} ms per request")
    r.add(name, "product: requests, wall", f"{len(plan.requests)}, {s(plan.wall)}")
    r.add(
        name,
        "naive (list + GET each, 4 at a time): requests, wall",
        f"{len(naive.requests)}, {s(naive.wall)}",
    )
    r.add(name, "naive / product wall", f"{ratio:.1f}x", ">= 10x", ratio >= 10)
    ctx.report.data[name] = {
        "tasks": n,
        "latency_ms": LATENCY_MS,
        "naive_parallelism": PARALLELISM,
        "product": [costs(p) for p in plans],
        "naive": [costs(p) for p in naives],
        "product_median": costs(plan),
        "naive_median": costs(naive),
        "ratio": ratio,
    }


def _write_window(run: Run, latency_s: float) -> tuple[int, float]:
    writes = run.writes()
    if not writes:
        return 0, 0.0
    return len(writes), max(writes) - min(writes) + latency_s


def _apply(
    ctx: Context,
    name: str,
    changes: generate.ChangeSet,
    config: EmulatorConfig,
    writes_per_minute: str,
) -> tuple[Run, Run, TimedEmulator]:
    root = project(ctx, name, generate.Tree(changes.git, changes.variables))
    with tenant(changes.live, config) as (emulator, url):
        applied = expect(
            measure(
                apply_args(
                    url,
                    "--allow-mass-delete",
                    "--parallelism",
                    str(PARALLELISM),
                    writes_per_minute=writes_per_minute,
                ),
                root,
                emulator,
            ),
            [0],
            "apply",
        )
        after = measure(plan_args(url), root, emulator)
    return applied, after, emulator


def _split(total: int) -> tuple[int, int, int]:
    creates = total * 2 // 5
    updates = total * 2 // 5
    return creates, updates, total - creates - updates


def apply_throughput(ctx: Context) -> None:
    """1,000 changes at 20 ms per request, writes unpaced: writes per second against the ceiling."""
    total = ctx.scale(1_000)
    creates, updates, deletes = _split(total)
    changes = generate.change_set(creates, updates, deletes, total, SEED + 3)
    config = EmulatorConfig(latency_ms=LATENCY_MS)
    name = "apply-throughput"
    applied, after, _ = _apply(ctx, name, changes, config, UNPACED)
    count, window = _write_window(applied, LATENCY_MS / 1000)
    rate = count / window if window else 0.0
    ceiling = PARALLELISM / (LATENCY_MS / 1000)
    r = ctx.report
    r.add(name, "changes (create/update/delete)", f"{total} ({creates}/{updates}/{deletes})")
    r.add(name, "write requests, apply wall", f"{count}, {s(applied.wall)}")
    r.add(
        name,
        "writes per second",
        f"{rate:.0f}/s ({rate / ceiling:.0%} of {ceiling:.0f}/s)",
        f">= {0.8 * ceiling:.0f}/s",
        rate >= 0.8 * ceiling,
    )
    _add_converged(r, name, after)
    ctx.report.data[name] = {
        "changes": {"create": creates, "update": updates, "delete": deletes, "unchanged": total},
        "latency_ms": LATENCY_MS,
        "parallelism": PARALLELISM,
        "write_requests": count,
        "write_window_s": round(window, 3),
        "writes_per_second": round(rate, 1),
        "ceiling_per_second": ceiling,
        "apply": costs(applied),
        "converged": after.code == 0,
    }


def _add_converged(r: Report, name: str, after: Any) -> None:
    """The row every apply workload ends with: a plan right after the apply has nothing to do."""
    r.add(
        name,
        "plan after apply",
        "no changes" if after.code == 0 else f"exit {after.code}",
        "no changes",
        after.code == 0,
    )


def rate_limit(ctx: Context) -> None:
    """300 changes against a tenant that answers 429 beyond 600 writes a minute."""
    total = ctx.scale(300)
    creates, updates, deletes = _split(total)
    changes = generate.change_set(creates, updates, deletes, total, SEED + 4)
    limit = 600
    config = EmulatorConfig(rate_limit_writes=limit, rate_window_s=60.0)
    name = "rate-limit"
    applied, after, emulator = _apply(ctx, name, changes, config, str(limit))
    count, window = _write_window(applied, 0.0)
    rate = count / window * 60 if window else 0.0
    throttled = emulator.throttled().get("writes", 0)
    minutes = max(1, math.ceil(applied.wall / 60))
    r = ctx.report
    r.add(name, "changes (create/update/delete)", f"{total} ({creates}/{updates}/{deletes})")
    r.add(name, "write requests, apply wall", f"{count}, {s(applied.wall)}")
    r.add(name, "429 answers", str(throttled), f"<= {minutes} (1 per minute)", throttled <= minutes)
    r.add(
        name,
        "achieved write rate",
        f"{rate:.0f}/min ({rate / limit:.0%} of {limit}/min)",
        f">= {0.9 * limit:.0f}/min",
        rate >= 0.9 * limit,
    )
    _add_converged(r, name, after)
    ctx.report.data[name] = {
        "changes": {"create": creates, "update": updates, "delete": deletes, "unchanged": total},
        "limit_per_minute": limit,
        "write_requests": count,
        "write_window_s": round(window, 3),
        "writes_per_minute": round(rate, 1),
        "throttled": throttled,
        "apply": costs(applied),
        "converged": after.code == 0,
    }


def scaling(ctx: Context) -> None:
    """Plan wall time and requests at four sizes: the cost per task must not grow."""
    sizes = list(ctx.sizes) or [ctx.scale(n) for n in (100, 1_000, 5_000, 10_000)]
    name = "scaling"
    points: list[dict[str, Any]] = []
    for n in sizes:
        tree = generate.generate(n, SEED + 5)
        root = project(ctx, f"scaling-{n}", tree)
        docs = generate.live_documents(tree.tasks, tree.variables, SEED + 5)
        with tenant(docs) as (emulator, url):
            runs = [
                expect(measure(plan_args(url), root, emulator), [0], "plan")
                for _ in range(ctx.repeat)
            ]
        run = median_run(runs)
        points.append({"tasks": n, **costs(run)})
    r = ctx.report
    previous: dict[str, Any] | None = None
    marginals: list[float] = []
    for p in points:
        note = ""
        if previous is not None:
            marginal = (p["wall_s"] - previous["wall_s"]) / (p["tasks"] - previous["tasks"])
            marginals.append(marginal)
            note = f", marginal {marginal * 1000:.3f} ms/task"
        r.add(
            name,
            f"{p['tasks']} tasks",
            f"{p['requests']} requests, {s(p['wall_s'])} (CPU {s(p['cpu_s'])}), "
            f"{p['wall_s'] / p['tasks'] * 1000:.3f} ms/task{note}, peak RSS {p['rss_mb']:.0f} MB",
        )
        previous = p
    # Linear: the cost of the last 5,000 tasks per task is no more than 1.5x that of the 4,000 before.
    linear = len(marginals) >= 2 and marginals[-1] <= 1.5 * max(marginals[-2], 1e-9)
    requests_ok = all(
        p["requests"] == math.ceil(p["tasks"] / 100) + 1 + IDENTITY_REQUESTS for p in points
    )
    r.add(
        name,
        "requests = ceil(tasks / 100) + 1 legacy + 2 users",
        "yes" if requests_ok else "no",
        "yes",
        requests_ok,
    )
    r.add(
        name,
        "marginal cost, last step / step before",
        f"{marginals[-1] / max(marginals[-2], 1e-9):.2f}x" if len(marginals) >= 2 else "n/a",
        "<= 1.50x (linear)",
        linear,
    )
    ctx.report.data[name] = {
        "points": points,
        "marginal_ms_per_task": [m * 1000 for m in marginals],
    }


WORKLOADS: dict[str, Callable[[Context], None]] = {
    "plan-scale": plan_scale,
    "plan-latency": plan_latency,
    "apply-throughput": apply_throughput,
    "rate-limit": rate_limit,
    "scaling": scaling,
    "floors": floors.floors,
    "enabled-create": floors.enabled_create,
}
OPTIONAL: dict[str, Callable[[Context], None]] = {"cold-install": floors.cold_install}
"""Run only when asked (`--cold-install` or `--only cold-install`): it needs the package index."""


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                model = text.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def calibrate() -> float:
    """Milliseconds a fixed pure-Python loop takes, best of five: how fast this machine is at the
    moment (a shared or virtual machine can be twice as slow at one time as at another)."""
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        sum(i * i for i in range(1_000_000))
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmarks of plan and apply against the local tenant over HTTP."
    )
    parser.add_argument(
        "--quick", action="store_true", help="Every workload at a tenth of the size."
    )
    parser.add_argument(
        "--only", choices=sorted({**WORKLOADS, **OPTIONAL}), action="append", help="Run only this."
    )
    parser.add_argument(
        "--cold-install",
        action="store_true",
        help="Also install the tool from cold with pip and with uv (needs the package index).",
    )
    parser.add_argument("--repeat", type=int, help="Runs per measurement (median); 3, quick 1.")
    parser.add_argument(
        "--results", type=Path, default=HERE / "results.json", help="Where to write the results."
    )
    parser.add_argument("--keep", type=Path, help="Generate the workloads here and keep them.")
    parser.add_argument(
        "--sizes",
        help="Tree sizes of the scaling workload, comma-separated (default 100,1000,5000,10000).",
    )
    parser.add_argument(
        "--source",
        type=Path,
        help="Run the commands from this source tree (another version's checkout) to compare.",
    )
    args = parser.parse_args(argv)
    report = Report()
    started = time.perf_counter()
    speed_before = calibrate()
    with contextlib.ExitStack() as stack:
        if args.keep:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=True)
        else:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qtr-bench-")))
        CHILD_ENV.update(child_env(workdir / "pycache"))
        if args.source:
            CHILD_ENV["PYTHONPATH"] = str(args.source.resolve())
        subprocess.run(cli("--version"), env=CHILD_ENV, check=True, capture_output=True)
        ctx = Context(
            quick=args.quick,
            repeat=args.repeat or (1 if args.quick else 3),
            workdir=workdir,
            report=report,
            sizes=tuple(int(n) for n in args.sizes.split(",")) if args.sizes else (),
        )
        for name, workload in {**WORKLOADS, **OPTIONAL}.items():
            wanted = name in args.only if args.only else name in WORKLOADS or args.cold_install
            if not wanted:
                continue
            began = time.perf_counter()
            print(f"running {name} ...", file=sys.stderr, flush=True)
            workload(ctx)
            print(f"  {name} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "repeat": ctx.repeat,
        "seed": SEED,
        "source": str(args.source.resolve()) if args.source else None,
        "machine": machine(),
        "duration_s": round(time.perf_counter() - started, 1),
        "calibration_ms": {"before": speed_before, "after": calibrate()},
        "rows": [r.__dict__ for r in report.rows],
        "workloads": report.data,
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    print(f"{m['cpus']} x {m['cpu_model']}, Python {m['python']}, {results['date']}")
    speed = results["calibration_ms"]
    print(
        f"calibration loop: {speed['before']} ms before, {speed['after']} ms after "
        "(lower is faster; compare runs only at a similar speed)"
    )
    print(report.table())
    print(f"results written to {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
