"""Workloads measured against the physical floor, as ratios of runs taken in turns.

- `floors`: in each round, one after the other, the raw parse floor (`floor.py`: read and parse
  every task file with PyYAML's C loader), `validate` of the same tree, `plan` of it against the
  local tenant over HTTP (no changes), `validate` of a one-task tree, and the import floor
  (`python -c "import pydantic, yaml"`). Each ratio is taken within a round, then the median over
  the rounds is reported: on a shared machine the speed drifts between rounds, much less within one.
- `enabled-create`: creates of enabled tasks against a service that honours `enabled` on create
  (the `enabled-on-create` quirk): writes per create.
- `cold-install` (only with `--cold-install`: it needs the package index): the tool installed as
  the Action installs it, in a fresh virtual environment with no package cache, with pip and with
  uv, then its first plan (a one-task tree, against the local tenant).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import generate
from measure import (
    CHILD_ENV,
    HERE,
    SEED,
    WRITE_METHODS,
    Context,
    Run,
    apply_args,
    cli,
    costs,
    expect,
    measure,
    plan_args,
    project,
    s,
    tenant,
)

from reconciler.emulator import EmulatorConfig

IMPORT_FLOOR = [sys.executable, "-c", "import pydantic, yaml"]


def _rounds(ctx: Context) -> int:
    return max(ctx.repeat, 3 if ctx.quick else 5)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def floors(ctx: Context) -> None:
    """validate, plan and one-task start-up against their floors, in interleaved rounds."""
    n = ctx.scale(10_000)
    tree = generate.generate(n, SEED)
    root = project(ctx, f"floors-{n}", tree)
    one = generate.generate(1, SEED + 7)
    one_root = project(ctx, "floors-one-task", one)
    docs = generate.live_documents(tree.tasks, tree.variables, SEED)
    floor_args = [sys.executable, str(HERE / "floor.py"), "tasks"]
    validate_args = cli("validate", "--env", generate.ENV)
    name = "floors"
    runs: dict[str, list[Run]] = {k: [] for k in ("floor", "validate", "plan", "one", "imports")}
    with tenant(docs) as (emulator, url):
        for _ in range(_rounds(ctx)):
            runs["floor"].append(expect(measure(floor_args, root), [0], "raw parse floor"))
            runs["validate"].append(expect(measure(validate_args, root), [0], "validate"))
            runs["plan"].append(expect(measure(plan_args(url), root, emulator), [0], "plan"))
            runs["one"].append(expect(measure(validate_args, one_root), [0], "one-task validate"))
            runs["imports"].append(expect(measure(IMPORT_FLOOR, one_root), [0], "import floor"))

    def ratio(top: str, bottom: str, cost: Callable[[Run], float]) -> float:
        pairs = zip(runs[top], runs[bottom], strict=True)
        return _median([cost(a) / cost(b) for a, b in pairs])

    def wall(run: Run) -> float:
        return run.wall

    def cpu(run: Run) -> float:
        return run.cpu

    r = ctx.report
    rounds = len(runs["floor"])
    r.add(name, "tasks, rounds (interleaved)", f"{n}, {rounds}")
    for key, what in (
        ("floor", "raw parse floor (read + C YAML parse)"),
        ("validate", "validate"),
        ("plan", "plan, no changes, HTTP 127.0.0.1"),
        ("one", "one-task validate"),
        ("imports", "import floor (pydantic, yaml)"),
    ):
        walls = [x.wall for x in runs[key]]
        r.add(
            name,
            f"{what}: wall (CPU)",
            f"{s(_median(walls))} ({s(_median([x.cpu for x in runs[key]]))})",
        )
    ratios = {
        "validate_over_floor": (ratio("validate", "floor", wall), 1.5),
        "plan_over_floor": (ratio("plan", "floor", wall), 2.0),
        "one_task_validate_over_import_floor": (ratio("one", "imports", wall), 2.5),
    }
    labels = {
        "validate_over_floor": "validate / raw parse floor",
        "plan_over_floor": "plan (no changes, HTTP) / raw parse floor",
        "one_task_validate_over_import_floor": "one-task validate / import floor",
    }
    cpu_ratios = {
        "validate_over_floor": ratio("validate", "floor", cpu),
        "plan_over_floor": ratio("plan", "floor", cpu),
        "one_task_validate_over_import_floor": ratio("one", "imports", cpu),
    }
    for key, (value, goal) in ratios.items():
        r.add(
            name,
            f"{labels[key]}, wall (CPU)",
            f"{value:.2f}x ({cpu_ratios[key]:.2f}x)",
            f"<= {goal:.1f}x",
            value <= goal,
        )
    ctx.report.data[name] = {
        "tasks": n,
        "rounds": rounds,
        "ratios_wall": {k: round(v, 3) for k, (v, _) in ratios.items()},
        "ratios_cpu": {k: round(v, 3) for k, v in cpu_ratios.items()},
        "runs": {k: [costs(x) for x in v] for k, v in runs.items()},
    }


def enabled_create(ctx: Context) -> None:
    """Creates of enabled tasks on a service that honours `enabled` on create: one write each."""
    n = ctx.scale(200)
    tree = generate.generate(n, SEED + 8)
    root = project(ctx, f"enabled-create-{n}", tree)
    name = "enabled-create"
    config = EmulatorConfig(quirks=("enabled-on-create",))
    with tenant([], config) as (emulator, url):
        applied = expect(
            measure(
                apply_args(url, "--allow-mass-create"),
                root,
                emulator,
            ),
            [0],
            "apply",
        )
        created = emulator.tasks()
    enabled = sum(1 for doc in created if doc.get("enabled"))
    writes = sum(1 for _, method, _ in applied.requests if method in WRITE_METHODS)
    # A disabled create is one POST; what is left is what the enabled ones cost.
    per_enabled = (writes - (len(created) - enabled)) / enabled if enabled else float("nan")
    r = ctx.report
    r.add(name, "creates (enabled)", f"{len(created)} ({enabled})")
    r.add(name, "write requests", str(writes))
    r.add(name, "writes per enabled create", f"{per_enabled:.2f}", "= 1", per_enabled == 1)
    ctx.report.data[name] = {
        "creates": len(created),
        "enabled": enabled,
        "write_requests": writes,
        "writes_per_enabled_create": per_enabled,
        "apply": costs(applied),
    }


# -- cold install -------------------------------------------------------------------------------


def _uv_requirement(lock: Path) -> str:
    """The lock's block for uv (its pin and hashes): how the Action installs uv with pip."""
    keep, out = False, []
    for line in lock.read_text().splitlines():
        if line[:1].isalpha():
            keep = line.startswith("uv==")
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def _timed(argv: Sequence[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {done.returncode}\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def _install(installer: str, src: Path, venv: Path, work: Path, env: dict[str, str]) -> float:
    """Seconds to install the tool from `src` into a fresh `venv`, as the Action does."""
    lock = src / "requirements" / "dev.txt"
    python = str(venv / "bin" / "python")
    quiet = ["--quiet", "--disable-pip-version-check"]
    start = time.perf_counter()
    # As the Action: the environment uv installs into has no pip of its own.
    seed = [] if installer == "pip" else ["--without-pip"]
    _timed([sys.executable, "-m", "venv", *seed, str(venv)], env, work)
    if installer == "pip":
        # pip takes no hashes in a constraints file next to a directory: the same pins, no hashes.
        pins = work / "pins.txt"
        kept = [
            ln.removesuffix(" \\") for ln in lock.read_text().splitlines() if "--hash" not in ln
        ]
        pins.write_text("\n".join(kept) + "\n")
        _timed(
            [python, "-m", "pip", "install", *quiet, "--constraint", str(pins), str(src)], env, work
        )
    else:
        uv_txt = work / "uv.txt"
        uv_txt.write_text(_uv_requirement(lock))
        install_uv = [sys.executable, "-m", "pip", "--python", python, "install", *quiet]
        install_uv += ["--require-hashes", "--no-deps"]
        _timed([*install_uv, "-r", str(uv_txt)], env, work)
        uv = str(venv / "bin" / "uv")
        _timed(
            [
                uv,
                "pip",
                "install",
                "--quiet",
                "--python",
                python,
                "--constraint",
                str(lock),
                str(src),
            ],
            env,
            work,
        )
    return time.perf_counter() - start


def cold_install(ctx: Context) -> None:
    """pip against uv from cold, each followed by the installed tool's first plan."""
    src = Path(CHILD_ENV.get("PYTHONPATH") or HERE.parent).resolve()
    one = generate.generate(1, SEED + 9)
    root = project(ctx, "cold-install-one-task", one)
    docs = generate.live_documents(one.tasks, one.variables, SEED + 9)
    env = {k: v for k, v in CHILD_ENV.items() if k not in ("PYTHONPATH", "PYTHONPYCACHEPREFIX")}
    env.update(PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    name = "cold-install"
    results: dict[str, list[tuple[float, float]]] = {"pip": [], "uv": []}
    rounds = 1 if ctx.quick else ctx.repeat
    with tenant(docs) as (emulator, url):
        for _ in range(rounds):
            for installer in ("pip", "uv"):
                with tempfile.TemporaryDirectory(prefix="qtr-cold-") as scratch:
                    work = Path(scratch)
                    venv = work / "venv"
                    installed = _install(installer, src, venv, work, env)
                    tool = [str(venv / "bin" / "reconciler"), *plan_args(url)[3:]]
                    first = expect(
                        measure(tool, root, emulator, env=env), [0], f"first plan ({installer})"
                    )
                    results[installer].append((installed, first.wall))
    r = ctx.report
    for installer, found in results.items():
        install = _median([a for a, _ in found])
        first_plan = _median([b for _, b in found])
        total = _median([a + b for a, b in found])
        r.add(
            name,
            f"{installer}: install, first plan (median of {len(found)})",
            f"{s(install)}, {s(first_plan)}",
        )
        r.add(name, f"{installer}: cold install + first plan", s(total), "<= 5.00 s", total <= 5)
    ctx.report.data[name] = {
        k: [{"install_s": round(a, 2), "first_plan_s": round(b, 2)} for a, b in v]
        for k, v in results.items()
    }
