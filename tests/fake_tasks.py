"""An in-memory `TaskClient`: the port apply writes through, holding a tenant's tasks as plain
dicts, recording every call as one line (`create load`, `patch live-extract /start`,
`delete live-load`, `delete legacy L1`, with ` as <user>` when written as a task's owner), and
misbehaving the ways a tenant can, each a switch of `Behaviour`."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonpatch

from reconciler import apidoc
from reconciler.apply.port import FindCreated
from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.model import MARKER
from tests.conftest import tasks_from

WRITES = ("create ", "patch ", "delete ")
SEEDED_AT = "2026-01-01T00:00:00+00:00"


@dataclass(frozen=True)
class Behaviour:
    """How the fake tenant answers. `fail` maps a call line (without ` as <user>`) to the HTTP
    status it fails with; the call is recorded and changes nothing."""

    fail: Mapping[str, int] = field(default_factory=dict)
    lose_answer: frozenset[str] = frozenset()  # names whose POST is made but its answer lost
    drop_marker: bool = False  # the tenant does not keep annotations
    create_disabled: bool = False  # the service makes every new task disabled


@dataclass
class _Tenant:
    behaviour: Behaviour
    tasks: dict[str, dict[str, Any]]
    legacy: set[str]
    calls: list[str] = field(default_factory=list)
    lost: set[str] = field(default_factory=set)
    in_flight: int = 0
    most_in_flight: int = 0


class FakeTasks:
    """A `TaskClient` over an in-memory tenant."""

    def __init__(
        self,
        tasks: Iterable[Mapping[str, Any]] = (),
        behaviour: Behaviour | None = None,
        legacy: Iterable[str] = (),
        *,
        _tenant: _Tenant | None = None,
        _as: str = "",
    ) -> None:
        self.tenant = _tenant or _Tenant(
            behaviour or Behaviour(),
            {str(t["id"]): copy.deepcopy(dict(t)) for t in tasks},
            set(legacy),
        )
        self._as = _as

    # What a test reads.
    @property
    def calls(self) -> list[str]:
        return self.tenant.calls

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c.startswith(WRITES)]

    def names(self) -> list[str]:
        return sorted(str(t["name"]) for t in self.tenant.tasks.values())

    def listing(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(t) for t in self.tenant.tasks.values()]

    # The port.
    def acting_as(self, field: str, value: str) -> FakeTasks:
        return FakeTasks(_tenant=self.tenant, _as=f" as {value}")

    async def find_tasks_by_name(self, name: str) -> list[dict[str, Any]]:
        await self._call(f"find {name}")
        return [copy.deepcopy(t) for t in self.tenant.tasks.values() if t["name"] == name]

    async def get_task(self, task_id: str) -> dict[str, Any]:
        await self._call(f"get {task_id}")
        return copy.deepcopy(self._task(task_id, "GET"))

    async def create_task(
        self,
        doc: dict[str, Any],
        migrate_from: str | None = None,
        *,
        find_created: FindCreated | None = None,
    ) -> dict[str, Any]:
        name = str(doc["name"])
        await self._call(f"create {name}" + (f" from {migrate_from}" if migrate_from else ""))
        behaviour = self.tenant.behaviour
        task = copy.deepcopy(doc)
        task["id"] = f"new-{name}"
        task["metadata"] = {"createdAt": datetime.now(UTC).isoformat()}
        if migrate_from:
            task["metadata"]["migratedFrom"] = migrate_from
        if behaviour.create_disabled:
            task["enabled"] = False
        if behaviour.drop_marker:
            task.pop("annotations", None)
        self.tenant.tasks[task["id"]] = task
        if name in behaviour.lose_answer and name not in self.tenant.lost:
            self.tenant.lost.add(name)
            if find_created is None:
                raise AmbiguousWriteError("POST", "/tasks", 0)
            found = await find_created()
            if found is not None:
                return found
            raise AmbiguousWriteError("POST", "/tasks", 0)
        return copy.deepcopy(task)

    async def patch_task(self, task_id: str, ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
        await self._call(f"patch {task_id} " + ",".join(str(op["path"]) for op in ops))
        task = self._task(task_id, "PATCH")
        patched = jsonpatch.apply_patch(task, list(ops))
        if self.tenant.behaviour.drop_marker:
            patched.pop("annotations", None)
        self.tenant.tasks[task_id] = patched
        return copy.deepcopy(patched)

    async def delete_task(self, task_id: str) -> None:
        await self._call(f"delete {task_id}")
        self._task(task_id, "DELETE")
        del self.tenant.tasks[task_id]

    async def delete_legacy_reload_task(self, legacy_id: str) -> None:
        await self._call(f"delete legacy {legacy_id}")
        if legacy_id not in self.tenant.legacy:
            raise ApiError("DELETE", f"/reloadtasks/{legacy_id}", 404)
        self.tenant.legacy.remove(legacy_id)

    def _task(self, task_id: str, method: str) -> dict[str, Any]:
        if task_id not in self.tenant.tasks:
            raise ApiError(method, f"/tasks/{task_id}", 404)
        return self.tenant.tasks[task_id]

    async def _call(self, line: str) -> None:
        """Record the call, let other actions run meanwhile, and fail it when told to."""
        tenant = self.tenant
        tenant.calls.append(line + self._as)
        tenant.in_flight += 1
        tenant.most_in_flight = max(tenant.most_in_flight, tenant.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)
        finally:
            tenant.in_flight -= 1
        status = tenant.behaviour.fail.get(line)
        if status is not None:
            raise ApiError("FAKE", line, status, title="failing as the test asks")


def seed(
    tree: str, *, unmanaged: Iterable[str] = (), migrated: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The live tasks an earlier apply of `tree` made: id `live-<name>`, upstreams by those ids,
    the marker on each but those named in `unmanaged`, and `metadata.migratedFrom` on those
    `migrated` maps to a legacy reload-task id."""
    tasks = tasks_from(tree) if tree.strip() else []
    ids = {t.name: f"live-{t.name}" for t in tasks}
    live = []
    for task in tasks:
        doc = apidoc.build(task, ids, MARKER)
        doc["id"] = ids[task.name]
        doc["metadata"] = {"createdAt": SEEDED_AT}
        if task.name in (migrated or {}):
            doc["metadata"]["migratedFrom"] = (migrated or {})[task.name]
        if task.name in set(unmanaged):
            doc.pop("annotations")
        live.append(doc)
    return live
