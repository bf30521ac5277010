"""The naive way to read a tenant for a plan, for comparison: list the tasks only to learn their
ids, then GET each task, `--parallelism` at a time (the product's default apply parallelism, 4).

It computes the same plan as `reconciler plan` (same loader, same plan core, same client) and
prints its summary line and the number of requests. Exit 0 when there are no changes, 2 otherwise.

    python benchmarks/naive_plan.py --tenant http://127.0.0.1:8080 --env bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.config import resolve_settings
from reconciler.desired import read_desired
from reconciler.plan import Options, build_plan
from reconciler.qlik.auth import Credentials
from reconciler.qlik.client import RateLimits, TenantClient


async def fetch_naively(client: TenantClient, parallelism: int) -> list[dict[str, Any]]:
    ids = [str(t["id"]) for t in await client.list_tasks()]
    slots = asyncio.Semaphore(parallelism)

    async def one(task_id: str) -> dict[str, Any]:
        async with slots:
            return await client.get_task(task_id)

    return list(await asyncio.gather(*(one(i) for i in ids)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--env", default=None)
    parser.add_argument("--parallelism", type=int, default=4)
    args = parser.parse_args()
    settings = resolve_settings(
        config_file=None,
        tasks=None,
        env=args.env,
        tenant=args.tenant,
        environ=os.environ,
        cwd=Path.cwd(),
    )
    desired = read_desired(settings, now=datetime.now(UTC))
    assert settings.tenant is not None
    client = TenantClient(
        settings.tenant,
        Credentials.from_env(os.environ),
        limits=RateLimits(reads_per_minute=1_000_000, writes_per_minute=1_000_000),
    )

    async def run() -> list[dict[str, Any]]:
        async with client:
            return await fetch_naively(client, args.parallelism)

    live = asyncio.run(run())
    plan = build_plan(desired.tasks, live, Options(marker=settings.marker))
    print(plan.summary_line())
    print(f"{client.requests.total} API request(s): {dict(client.requests.by_operation)}")
    return 2 if plan.has_changes else 0


if __name__ == "__main__":
    sys.exit(main())
