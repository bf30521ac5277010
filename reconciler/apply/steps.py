"""One action carried out through the port: the writes a create, an update or a delete sends, and
the checks around each.

A create is made only once the task's absence is confirmed by asking for it by name: the listing
the plan was made from may have left it out (an empty or truncated answer, a lost page), and a
create then would duplicate it. A POST whose answer was lost is never sent again blindly: the
client asks `recovery.LostAnswer` first. A new task must carry the marker, and one the service made
disabled is enabled when git says it runs. An adopted task must keep the marker. Only a managed
task is deleted, and one already gone counts as deleted. Upstream ids the plan could not know
(`(known after apply: <name>)`) are filled in from the tasks this run created.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from reconciler import apidoc
from reconciler.apply.migrations import Migrated
from reconciler.apply.port import TaskClient
from reconciler.apply.recovery import LostAnswer, check_adopted, check_created
from reconciler.errors import ApiError, ReconcilerError
from reconciler.owners import acting_lookup, owner_notes
from reconciler.ownership import is_managed
from reconciler.plan_values import Action, Verb

ENABLE = [{"op": "replace", "path": "/enabled", "value": True}]


class NotCreated(ReconcilerError):
    """A create refused because the task turned out to exist."""


class Steps:
    """Carries out actions one at a time, remembering what later ones need: the ids of the tasks
    it created (by name), and the tasks that replace legacy reload-tasks (`migrated`)."""

    def __init__(
        self,
        client: TaskClient,
        marker: str,
        live: Mapping[str, Mapping[str, Any]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.marker = marker
        self.live = live  # the listing the plan was checked against, by id
        self.now = now
        self.ids: dict[str, str] = {}
        self.migrated: list[Migrated] = []

    async def carry_out(self, action: Action) -> tuple[str | None, str]:
        """Send `action`'s writes; its task id and what was done, in words."""
        if action.verb is Verb.DELETE:
            return await self._delete(action)
        if action.creates:
            return await self._create(action)
        return await self._update(action)

    async def _create(self, action: Action) -> tuple[str | None, str]:
        doc = self._resolved(action.after or {}, action)
        await self._confirm_absent(action.name)
        lost = LostAnswer(self.client, doc, started=self.now())
        writer = self._writer(action)
        created = await writer.create_task(doc, migrate_from=action.migrate_from, find_created=lost)
        task_id = str(created["id"])
        created = await check_created(
            self.client, self.marker, action.name, created, ours=not lost.found
        )
        self.ids[action.name] = task_id
        notes = [f"id {task_id}"]
        if lost.found:
            notes.append("the answer was lost; found by name, time and content")
        if await self._enable(writer, action, created):
            notes.append("enabled")
        notes.extend(owner_notes(action))
        if action.delete_legacy:
            self.migrated.append(Migrated(action, task_id, action.delete_legacy))
        return task_id, ", ".join(notes)

    async def _confirm_absent(self, name: str) -> None:
        """Refuse the create when a task of that name exists after all: the listing the plan was
        made from omitted it, and what else it omitted is unknown."""
        existing = await self.client.find_tasks_by_name(name)
        if existing:
            ids = ", ".join(str(t.get("id")) for t in existing[:3])
            raise NotCreated(
                f"not created: the tenant has a task of this name (id {ids}) that the listing "
                "did not show, so the listing was incomplete; make a new plan"
            )

    async def _enable(self, writer: TaskClient, action: Action, created: Mapping[str, Any]) -> bool:
        """Turn on a task the service made disabled, when git says it runs; whether it did."""
        if not action.enable or created.get("enabled"):
            return False
        await writer.patch_task(str(created["id"]), ENABLE)
        return True

    async def _update(self, action: Action) -> tuple[str | None, str]:
        assert action.task_id is not None
        notes = []
        if action.patch:
            writer = self._writer(action)
            answer = await writer.patch_task(action.task_id, self._resolved(action.patch, action))
            if not is_managed(action.before or {}, self.marker):  # an adoption
                await check_adopted(self.client, self.marker, action.name, action.task_id, answer)
            notes.append("patched " + ", ".join(action.fields))
            notes.extend(owner_notes(action))
        if action.delete_legacy:
            self.migrated.append(Migrated(action, action.task_id, action.delete_legacy))
        return action.task_id, "; ".join(notes)

    async def _delete(self, action: Action) -> tuple[str | None, str]:
        assert action.task_id is not None
        known = self.live.get(action.task_id)
        if not is_managed(known if known is not None else action.before or {}, self.marker):
            raise ApiError("DELETE", action.task_id, 0, title="refused: the task is not managed")
        try:
            await self.client.delete_task(action.task_id)
        except ApiError as exc:
            if exc.status != 404:
                raise
            return action.task_id, "already gone"
        return action.task_id, "deleted"

    def _writer(self, action: Action) -> TaskClient:
        """The client that writes this task: as its declared owner when the plan says so."""
        if not action.act_as:
            return self.client
        return self.client.acting_as(*acting_lookup(action.act_as))

    def _resolved(self, doc: Any, action: Action) -> Any:
        """`doc` with the ids of upstreams this run created; an id still unknown is an error."""
        out = apidoc.substitute(doc, self.ids)
        missing = apidoc.placeholders(out)
        if missing:
            raise ApiError(
                "PLAN", action.name, 0, title=f"upstream ids unknown: {', '.join(sorted(missing))}"
            )
        return out
