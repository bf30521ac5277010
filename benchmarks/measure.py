"""What every workload of the benchmark uses: running a command and measuring it alone (wall,
CPU, peak RSS, requests), the local tenant served over HTTP, and the table of results."""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import generate

from reconciler.emulator import Emulator, EmulatorConfig

HERE = Path(__file__).resolve().parent
API_KEY = "benchmark-key"
SEED = 20260101
# Requests per minute the commands may send: the emulator enforces no limit unless a workload sets
# one, so the client is not asked to pace itself either (see the plan-scale row at default pacing).
UNPACED = "1000000"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
CHILD_ENV: dict[str, str] = {}  # the commands' environment (set by main)


# -- measuring ------------------------------------------------------------------------------------


class TimedEmulator(Emulator):
    """The emulator, noting when each request arrived (monotonic seconds) and its method."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: list[tuple[float, str, str]] = []

    def handle(self, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        self.arrivals.append((time.monotonic(), method.upper(), path))
        return super().handle(method, path, *args, **kwargs)


@dataclass
class Run:
    """One command run: its exit code, output and costs."""

    args: list[str]
    code: int
    stdout: str
    stderr: str
    wall: float
    cpu: float
    rss_mb: float
    server_cpu: float = 0.0
    requests: list[tuple[float, str, str]] = field(default_factory=list)

    def reads(self) -> int:
        return sum(1 for _, m, _ in self.requests if m not in WRITE_METHODS)

    def writes(self) -> list[float]:
        return [t for t, m, _ in self.requests if m in WRITE_METHODS]


def child_env(pycache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QLIK_", "RECONCILER_", "GITHUB_")) and k != "CI"
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode compiled
    env.update(QLIK_API_KEY=API_KEY, NO_COLOR="1", COLUMNS="200")
    env["PYTHONPYCACHEPREFIX"] = str(pycache)  # compiled once, and kept out of the source tree
    return env


# Linux gives a child the peak RSS its parent had when it forked (the high-water mark of the copied
# address space survives exec), and this process holds a seeded tenant of thousands of tasks. So
# each command is started by a small launcher process, whose own child is measured exactly.
LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    json.dump({"code": os.waitstatus_to_exitcode(status), "wall": wall,
               "cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss}, out)
"""


def measure(
    argv: Sequence[str],
    cwd: Path,
    emulator: TimedEmulator | None = None,
    timeout: float = 600,
    env: Mapping[str, str] | None = None,
) -> Run:
    """Run a command; wall time, CPU (user + system) and peak RSS of that process alone."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as scratch,
    ):
        costs = Path(scratch) / "costs.json"
        first = len(emulator.arrivals) if emulator else 0
        server_cpu = time.process_time()
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(costs), *argv],
            cwd=cwd,
            env=dict(
                env or CHILD_ENV or child_env(Path(tempfile.gettempdir()) / "qtr-bench-pycache")
            ),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        try:
            launcher.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
        server_cpu = time.process_time() - server_cpu
        measured = json.loads(costs.read_text()) if costs.exists() else {}
        out.seek(0)
        err.seek(0)
        return Run(
            args=list(argv),
            code=int(measured.get("code", launcher.returncode or -1)),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            wall=float(measured.get("wall", math.inf)),
            cpu=float(measured.get("cpu", math.inf)),
            rss_mb=float(measured.get("rss_kb", 0)) / 1024,
            server_cpu=server_cpu,
            requests=list(emulator.arrivals[first:]) if emulator else [],
        )


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


def expect(run: Run, codes: Sequence[int], what: str) -> Run:
    if run.code not in codes:
        raise SystemExit(
            f"{what}: `{' '.join(run.args[2:])}` exited {run.code}\n{run.stdout[-2000:]}"
            f"\n{run.stderr[-2000:]}"
        )
    return run


@contextlib.contextmanager
def tenant(
    docs: Sequence[Mapping[str, Any]], config: EmulatorConfig | None = None
) -> Iterator[tuple[TimedEmulator, str]]:
    config = config or EmulatorConfig()
    config.api_key = API_KEY
    config.fsync = False
    config.open_apps = True  # the generated workload's apps are not in an app catalog
    emulator = TimedEmulator(config, seed={"tasks": list(docs)})
    # The generated workload and the seeded tenant stay in memory all along: keep them out of the
    # collector's full passes, which would otherwise pause the emulator (not the product) mid-run.
    gc.collect()
    gc.freeze()
    try:
        with emulator.serve(host="127.0.0.1", port=0) as server:
            yield emulator, server.url
    finally:
        gc.unfreeze()
    errors = emulator.server_errors()
    if errors:
        raise SystemExit("the emulator failed:\n" + "\n".join(errors))


def plan_args(url: str, *extra: str) -> list[str]:
    return cli(
        "plan",
        "--env",
        generate.ENV,
        "--tenant",
        url,
        "--detailed-exitcode",
        "--format",
        "json",
        "--reads-per-minute",
        UNPACED,
        *extra,
    )


def apply_args(url: str, *extra: str, writes_per_minute: str = UNPACED) -> list[str]:
    return cli(
        "apply",
        "--env",
        generate.ENV,
        "--tenant",
        url,
        "--auto-approve",
        *extra,
        "--reads-per-minute",
        UNPACED,
        "--writes-per-minute",
        writes_per_minute,
    )


def median_run(runs: Sequence[Run]) -> Run:
    """The run with the median wall time."""
    ordered = sorted(runs, key=lambda r: r.wall)
    return ordered[(len(ordered) - 1) // 2]


# -- results --------------------------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    metric: str
    value: str
    target: str = ""
    met: bool | None = None


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def add(
        self, workload: str, metric: str, value: str, target: str = "", met: bool | None = None
    ) -> None:
        self.rows.append(Row(workload, metric, value, target, met))

    def table(self) -> str:
        head = ("workload", "metric", "measured", "target", "met")
        cells = [
            (
                r.workload,
                r.metric,
                r.value,
                r.target,
                "" if r.met is None else "yes" if r.met else "NO",
            )
            for r in self.rows
        ]
        widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]

        def line(values: Sequence[str]) -> str:
            return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([line(head), rule, *(line(c) for c in cells)])


def s(seconds: float) -> str:
    return f"{seconds:.2f} s"


# -- workloads' context ----------------------------------------------------------------------------------


@dataclass
class Context:
    quick: bool
    repeat: int
    workdir: Path
    report: Report
    sizes: tuple[int, ...] = ()  # the scaling workload's tree sizes, when not its own

    def scale(self, full: int) -> int:
        return max(1, full // 10) if self.quick else full


def project(ctx: Context, name: str, tree: generate.Tree) -> Path:
    root = ctx.workdir / name
    generate.write_project(root, tree.tasks, tree.variables)
    return root


IDENTITY_REQUESTS = 2
"""Besides its pages, a plan asks who the caller is (`users/me`) and looks up each distinct owner
once: the generated tenant's tasks all have one owner."""


def costs(run: Run) -> dict[str, float]:
    return {
        "wall_s": round(run.wall, 3),
        "cpu_s": round(run.cpu, 3),
        "rss_mb": round(run.rss_mb, 1),
        "emulator_cpu_s": round(run.server_cpu, 3),
        "requests": len(run.requests),
    }
