"""The tenant's live state, read through a port: its tasks, legacy reload-tasks, apps, runs and users.

Every command that compares git with a tenant (plan, apply, drift, import, migrate, schedule,
render, graph) reads the tenant here, and what it read is one value, `Live`. The client fits the
port `LiveSource` structurally; this module never imports it. Each thing is read at most once a
run, in the order the command asks for it.

One policy for the legacy reload-tasks endpoint, whichever command reads it: an answer of 404
means the tenant has none (the endpoint is gone, `legacy` is None); any other refusal, 403
included, fails the command. Preflight counts legacy reload-tasks toward an app's 10 tasks, and
drift reports the ones not migrated: a tenant that hides them would make the first undercount and
the second say "none" where there are some.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from reconciler.apps import AppFacts
from reconciler.config import DefaultOwner
from reconciler.errors import Problem
from reconciler.load import LoadedTask
from reconciler.owners import Identities, Owners, declared_owners, owner_problems

__all__ = ["CONCURRENT_READS", "Live", "LiveReader", "LiveSource"]

Doc = dict[str, Any]
T = TypeVar("T")

CONCURRENT_READS = 8
"""Reads of apps or of runs in flight at once (the client's read rate limit still paces them)."""


class LiveSource(Protocol):
    """The reads of a tenant this module asks of a client. Documents are the API's JSON objects."""

    async def list_tasks(self) -> list[Doc]:
        """Every task (all pages; a failed page fails the listing)."""
        ...

    async def list_legacy_reload_tasks(self) -> list[Doc] | None:
        """Every legacy reload-task, or None when the endpoint answers 404."""
        ...

    async def get_app(self, app_id: str) -> Doc | None:
        """The app, or None when it does not exist or is hidden from the caller (404, 403)."""
        ...

    async def last_run(self, task_id: str) -> Doc | None: ...

    async def list_runs(self, task_id: str, *, max_runs: int | None = None) -> list[Doc]: ...

    async def read_identities(
        self, owner_ids: Iterable[str], specs: Iterable[str] = (), *, check_acting: bool = True
    ) -> Identities:
        """The caller, every user of `owner_ids` once, and each owner `spec` resolved; with an
        OAuth client and `check_acting`, whether the client may act as each of them."""
        ...


_UNREAD: Any = object()


@dataclass(slots=True)
class Live:
    """What a run read of the tenant. `legacy` is None when the tenant has no legacy endpoint;
    `last_runs` is None unless last runs were read one by one (then it holds the tasks asked
    for); `runs` holds the recent runs of the tasks they were asked for."""

    tasks: list[Doc] = field(default_factory=list)
    legacy: list[Doc] | None = None
    apps: dict[str, AppFacts] = field(default_factory=dict)
    last_runs: dict[str, Mapping[str, Any] | None] | None = None
    runs: dict[str, list[Doc]] = field(default_factory=dict)
    identities: Identities | None = None


class LiveReader:
    """Reads one tenant for one run, each thing once, into `live`."""

    def __init__(self, source: LiveSource, concurrency: int = CONCURRENT_READS) -> None:
        self._source = source
        self._concurrency = concurrency
        self._tasks: list[Doc] = _UNREAD
        self._legacy: list[Doc] | None = _UNREAD
        self.live = Live()

    async def tasks(self) -> list[Doc]:
        """The tenant's tasks."""
        if self._tasks is _UNREAD:
            self._tasks = self.live.tasks = await self._source.list_tasks()
        return self._tasks

    async def legacy(self) -> list[Doc] | None:
        """The legacy reload-tasks; None when the tenant has none to show (404)."""
        if self._legacy is _UNREAD:
            self._legacy = self.live.legacy = await self._source.list_legacy_reload_tasks()
        return self._legacy

    @property
    def legacy_read(self) -> bool:
        return self._legacy is not _UNREAD

    async def apps(self, app_ids: Iterable[str]) -> dict[str, AppFacts]:
        """The facts of every app in `app_ids` (read now unless this run has read it already)."""
        wanted = list(dict.fromkeys(app_ids))
        missing = [a for a in wanted if a not in self.live.apps]
        answers = await self._each(missing, self._source.get_app)
        for app_id, answer in zip(missing, answers, strict=True):
            self.live.apps[app_id] = AppFacts.from_answer(app_id, answer)
        return {a: self.live.apps[a] for a in wanted}

    async def last_runs(self, task_ids: Sequence[str]) -> dict[str, Mapping[str, Any] | None]:
        """`GET .../runs/last` of every task in `task_ids`."""
        found = await self._each(task_ids, self._source.last_run)
        last: dict[str, Mapping[str, Any] | None] = dict(zip(task_ids, found, strict=True))
        self.live.last_runs = {**(self.live.last_runs or {}), **last}
        return last

    async def runs(self, task_ids: Sequence[str], max_runs: int) -> dict[str, list[Doc]]:
        """The recent runs (at most `max_runs`) of every task in `task_ids`."""

        async def recent(task_id: str) -> list[Doc]:
            return await self._source.list_runs(task_id, max_runs=max_runs)

        found = await self._each(task_ids, recent)
        runs = dict(zip(task_ids, found, strict=True))
        self.live.runs.update(runs)
        return runs

    async def owners(
        self,
        tasks: Sequence[LoadedTask],
        default: DefaultOwner | None,
        *,
        check_acting: bool = True,
    ) -> tuple[Owners, list[Problem]]:
        """Who owns each live task and who will write each task of git, each person read once;
        and the located problems of declared owners the caller cannot act as (without
        `check_acting`, only of owners that are no user or cannot own tasks)."""
        declared = declared_owners(tasks, default)
        identities = self.live.identities = await self._source.read_identities(
            _people_of(await self.tasks()),
            [want.spec for want in declared.values()],
            check_acting=check_acting,
        )
        return Owners.of(identities, declared), owner_problems(
            declared, identities, acting=check_acting
        )

    async def _each(self, keys: Sequence[str], read: Callable[[str], Awaitable[T]]) -> list[T]:
        """`read` of every key, a few at a time, in the order of `keys`."""
        slots = asyncio.Semaphore(self._concurrency)

        async def one(key: str) -> T:
            async with slots:
                return await read(key)

        return list(await asyncio.gather(*(one(key) for key in keys)))


def _people_of(live: Iterable[Mapping[str, Any]]) -> list[str]:
    """The ids of the owners, and of whoever changed them last, of live task documents."""
    ids: list[str] = []
    for doc in live:
        meta = doc.get("metadata")
        if isinstance(meta, dict):
            owner, editor = meta.get("ownerId"), meta.get("updatedBy")
            if owner:
                ids.append(str(owner))
            if editor:
                ids.append(str(editor))
    return ids
