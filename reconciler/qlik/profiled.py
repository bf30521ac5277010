"""A tenant client that speaks the tenant's profile at its edge.

Everything the tool sends goes out in the spelling the profile asks for (state type, status case,
spec version, the marker in the annotations or the description), and everything the tenant answers
comes back in the tool's one spelling. Plan, apply, drift, import and migrate see only that spelling,
so each of them honours the profile without a branch of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.model import MARKER
from reconciler.owners import Identities
from reconciler.profile import (
    DEFAULT,
    Profile,
    ops_need_description,
    ops_to_wire,
    to_view,
    to_wire,
)
from reconciler.qlik import users
from reconciler.qlik.auth import Credentials
from reconciler.qlik.client import FindCreated, JsonObject, TenantClient


class ProfiledClient(TenantClient):
    """`TenantClient` for a tenant of `profile`, whose managed tasks carry `marker`."""

    def __init__(
        self,
        tenant_url: str,
        credentials: Credentials,
        *,
        profile: Profile = DEFAULT,
        marker: str = MARKER,
        **options: Any,
    ) -> None:
        super().__init__(tenant_url, credentials, page_limit=profile.pageLimit, **options)
        self.profile = profile
        self.marker = marker

    def view(self, doc: JsonObject) -> JsonObject:
        return to_view(doc, self.marker, self.profile)

    def wire(self, doc: JsonObject) -> JsonObject:
        return to_wire(doc, self.marker, self.profile)

    async def list_tasks(self, *args: Any, **kwargs: Any) -> list[JsonObject]:
        return [self.view(t) for t in await super().list_tasks(*args, **kwargs)]

    async def find_tasks_by_name(self, *args: Any, **kwargs: Any) -> list[JsonObject]:
        return [self.view(t) for t in await super().find_tasks_by_name(*args, **kwargs)]

    async def get_task(self, task_id: str) -> JsonObject:
        return self.view(await super().get_task(task_id))

    async def create_task(
        self,
        doc: JsonObject,
        migrate_from: str | None = None,
        *,
        find_created: FindCreated | None = None,
    ) -> JsonObject:
        found: list[JsonObject] = []

        async def remember() -> JsonObject | None:
            assert find_created is not None
            task = await find_created()
            if task is not None:
                found.append(task)
            return task

        created = await super().create_task(
            self.wire(doc),
            migrate_from,
            find_created=remember if find_created is not None else None,
        )
        # A task found after a lost answer is already in the tool's spelling.
        return created if any(created is f for f in found) else self.view(created)

    async def patch_task(self, task_id: str, ops: Sequence[JsonObject]) -> JsonObject | None:
        live_description = None
        if ops_need_description(ops, self.marker, self.profile):
            stored = await self._read_task(task_id)
            described = stored.get("description")
            live_description = described if isinstance(described, str) else None
        wire_ops = ops_to_wire(ops, self.marker, self.profile, live_description)
        answer = await super().patch_task(task_id, wire_ops)
        return None if answer is None else self.view(answer)

    async def put_task(self, task_id: str, doc: JsonObject) -> JsonObject:
        return self.view(await super().put_task(task_id, self.wire(doc)))

    async def read_identities(
        self, owner_ids: Iterable[str], specs: Iterable[str] = (), *, check_acting: bool = True
    ) -> Identities:
        """The caller, every owner id once, and each declared owner resolved (`qlik.users`)."""
        return await users.read_identities(self, owner_ids, specs, check_acting=check_acting)
