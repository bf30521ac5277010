"""Time and peak memory of the command line against a broken or hostile tenant, with the default
bounds (docs/reliability.md, "A broken or hostile tenant").

    python benchmarks/hostile.py                   # every attack (about 8 minutes, mostly waiting)
    python benchmarks/hostile.py --only endless    # the attacks whose name contains "endless"

Each attack is one fault rule of the local tenant, served over HTTP on 127.0.0.1 to
`python -m reconciler plan` or `apply --auto-approve` in a subprocess; the peak memory is the
subprocess's maximum resident set size. Environment variables given with `--env NAME=VALUE` set
other bounds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler.emulator import Emulator, EmulatorConfig, Hostile, Shape  # noqa: E402
from tests.reliability.scenario import Spec, task_doc, write_tree  # noqa: E402

API_KEY = "hostile-benchmark-key"
TASKS = "/api/scheduling/tasks"
APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"


def _listing(method: str, path: str, query: Any) -> bool:
    return method == "GET" and path == TASKS and not any(k == "filter" for k, _ in query)


def _posts(method: str, path: str, _: Any) -> bool:
    return method == "POST" and path == TASKS


@dataclass(frozen=True)
class Attack:
    name: str
    args: tuple[str, ...]
    arm: Callable[[Emulator], None]
    tasks_in_tenant: int = 9


PLAN = ("plan",)
APPLY = ("apply", "--auto-approve", "--allow-mass-create")
ATTACKS = [
    Attack("none (a plan of 100 tasks, for comparison)", PLAN, lambda e: None, 100),
    Attack(
        "endless pages, 9 tasks a page",
        PLAN,
        lambda e: e.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.ENDLESS_PAGES)),
    ),
    Attack(
        "endless pages, 100 tasks a page",
        PLAN,
        lambda e: e.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.ENDLESS_PAGES)),
        100,
    ),
    Attack(
        "listing trickles 1 byte a second",
        PLAN,
        lambda e: e.add_fault_rule(
            _listing, fault=None, answer=Hostile(Shape.TRICKLE, trickle_ms=1000)
        ),
    ),
    Attack(
        "every create answered 429, Retry-After 59",
        APPLY,
        lambda e: e.add_fault_rule(_posts, status=429, retry_after=59),
        0,
    ),
    Attack(
        "empty listing",
        APPLY,
        lambda e: e.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.EMPTY_LISTING)),
    ),
    Attack(
        "a duplicated `data` key",
        APPLY,
        lambda e: e.add_fault_rule(_listing, fault=None, answer=Hostile(Shape.DUPLICATE_DATA)),
    ),
    Attack(
        "one task omitted from the listing",
        APPLY,
        lambda e: e.add_fault_rule(
            _listing,
            fault=None,
            times=1,
            answer=Hostile(Shape.OMIT, omit=lambda t: t.get("name") == "Bench 000"),
        ),
    ),
]


def _run(attack: Attack, extra_env: dict[str, str]) -> dict[str, Any]:
    emulator = Emulator(EmulatorConfig(api_key=API_KEY))
    apps = [f"{i:08d}-7fb9-4983-8e23-5ccd8c508722" for i in range(13)]
    specs = [Spec(f"Bench {i:03d}", apps[i // 8], ("demand",)) for i in range(9)]
    for i in range(attack.tasks_in_tenant):
        emulator.put_task_raw(task_doc(f"Bench {i:03d}", apps[i // 8]))
    attack.arm(emulator)
    with tempfile.TemporaryDirectory() as workdir, emulator.serve() as server:
        root = Path(workdir)
        write_tree(specs, root / "tasks")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("QLIK_", "RECONCILER_"))}
        env.update(QLIK_TENANT_URL=server.url, QLIK_API_KEY=API_KEY, NO_COLOR="1", **extra_env)
        env.pop("CI", None)
        started = time.monotonic()
        with (root / "out").open("w") as out, (root / "err").open("w") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "reconciler", *attack.args],
                cwd=root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
            # os.wait4 gives this child's own peak resident set size (KiB on Linux).
            _, status, usage = os.wait4(process.pid, 0)
            process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - started
        text = (root / "err").read_text() + (root / "out").read_text()
    lines = [line for line in text.splitlines() if line.startswith(("error:", "+ FAILED"))]
    return {
        "attack": attack.name,
        "command": attack.args[0],
        "exit": process.returncode,
        "seconds": round(seconds, 1),
        "peak_mb": round(usage.ru_maxrss / 1024),
        "says": (lines[0] if lines else "")[:160],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="Run the attacks whose name contains this.")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the command.")
    options = parser.parse_args()
    extra = dict(item.split("=", 1) for item in options.env)
    print("| attack | command | exit | seconds | peak MB | says |")
    print("| --- | --- | --- | --- | --- | --- |")
    for attack in ATTACKS:
        if options.only not in attack.name:
            continue
        row = _run(attack, extra)
        print(
            f"| {row['attack']} | {row['command']} | {row['exit']} | {row['seconds']} "
            f"| {row['peak_mb']} | {row['says']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
