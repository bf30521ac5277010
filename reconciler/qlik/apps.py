"""Reading apps for a run: one `GET /api/v1/apps/{id}` per distinct app, a few at a time, each
answer kept for the rest of the run. The client's read rate limit paces the requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from reconciler.apps import AppFacts
from reconciler.qlik.client import TenantClient

CONCURRENT_READS = 8
"""App reads in flight at once."""


class AppReader:
    """The apps of one run, each read at most once."""

    def __init__(self, client: TenantClient, concurrency: int = CONCURRENT_READS) -> None:
        self._client = client
        self._known: dict[str, AppFacts] = {}
        self._slots = asyncio.Semaphore(concurrency)

    async def read(self, app_ids: Iterable[str]) -> dict[str, AppFacts]:
        """The facts of every app in `app_ids` (read now unless this run has read it already)."""
        wanted = list(dict.fromkeys(app_ids))
        missing = [a for a in wanted if a not in self._known]
        answers = await asyncio.gather(*(self._read_one(a) for a in missing))
        self._known.update(zip(missing, answers, strict=True))
        return {a: self._known[a] for a in wanted}

    @property
    def known(self) -> dict[str, AppFacts]:
        return dict(self._known)

    async def _read_one(self, app_id: str) -> AppFacts:
        async with self._slots:
            return AppFacts.from_answer(app_id, await self._client.get_app(app_id))
