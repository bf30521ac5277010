"""Plan + client → results: the thin loop that carries out a plan, in order, in parallel, safely.

Phases run one after the other: creates and migrations (an upstream before the tasks that wait for
its id), then updates, then deletes (a downstream before its upstream). Within a phase, independent
actions run in parallel up to `parallelism`; the client's rate-limit buckets pace them. One failed
action does not stop the others; the actions that depend on it are skipped. POST is never repeated
blindly: a create whose answer was lost is resolved by listing the tasks of that name. A create
is made only once the task's absence is confirmed by asking for it by name: the listing the plan
was made from may have omitted it (an empty or truncated answer, a lost page), and a create then
would duplicate it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from reconciler import apidoc
from reconciler.apply.port import TaskClient
from reconciler.apply.preconditions import check_owned
from reconciler.apply.recovery import (
    CLOCK_SKEW,
    MarkerLostError,
    adoption_lost,
    find_created_task,
    marker_lost,
)
from reconciler.chains import run_finished_upstreams
from reconciler.errors import ApiError, ReconcilerError
from reconciler.owners import acting_lookup, owner_notes
from reconciler.ownership import is_managed
from reconciler.plan import Action, Kind, Plan

__all__ = ["ApplyResult", "Outcome", "Reporter", "SilentReporter", "Status", "apply_plan"]

ENABLE = [{"op": "replace", "path": "/enabled", "value": True}]


class Status(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(slots=True)
class Outcome:
    action: Action
    status: Status
    detail: str = ""
    task_id: str | None = None


class Reporter(Protocol):
    """What apply says while it works: a progress bar and CI log lines are two reporters."""

    def action_started(self, action: Action) -> None: ...

    def action_finished(self, outcome: Outcome) -> None: ...

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None: ...


class SilentReporter:
    def action_started(self, action: Action) -> None:
        pass

    def action_finished(self, outcome: Outcome) -> None:
        pass

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None:
        pass


@dataclass(slots=True)
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why apply stopped before the end, if it did

    def with_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        return not self.with_status(Status.FAILED) and not self.with_status(Status.SKIPPED)

    def summary_line(self) -> str:
        done, failed, skipped = (len(self.with_status(s)) for s in Status)
        if self.stopped:
            return (
                f"Apply stopped ({done} done, {failed} failed, {skipped} skipped): {self.stopped}"
            )
        if failed or skipped:
            return (
                f"Apply incomplete: {done} done, {failed} failed, {skipped} skipped. "
                "Fix the failures and run apply again: it continues where this one stopped."
            )
        return f"Apply complete: {done} done, 0 failed, 0 skipped."


class NotCreated(ReconcilerError):
    """A create refused because the task turned out to exist."""


class _Run:
    def __init__(
        self,
        client: TaskClient,
        marker: str,
        parallelism: int,
        reporter: Reporter,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client = client
        self.marker = marker
        self.now = now
        self.slots = asyncio.Semaphore(max(1, parallelism))
        self.reporter = reporter
        self.ids: dict[str, str] = {}
        self.live: dict[str, Mapping[str, Any]] = {}
        self.legacy: list[tuple[Action, str, str]] = []
        self.result = ApplyResult()

    async def phase(self, actions: Sequence[Action], waits_for: Mapping[int, set[int]]) -> None:
        """Run `actions`; action i starts once every action in waits_for[i] is finished."""
        finished: dict[int, asyncio.Event] = {i: asyncio.Event() for i in range(len(actions))}
        ok: dict[int, bool] = {}

        async def one(i: int) -> None:
            try:
                for j in waits_for.get(i, set()):
                    await finished[j].wait()
                blocked = [actions[j].name for j in waits_for.get(i, set()) if not ok.get(j)]
                if blocked:
                    ok[i] = False
                    self._finish(
                        Outcome(
                            actions[i],
                            Status.SKIPPED,
                            f"depends on {', '.join(blocked)}, which did not succeed",
                        )
                    )
                    return
                async with self.slots:
                    ok[i] = await self.execute(actions[i])
            finally:
                finished[i].set()

        await asyncio.gather(*(one(i) for i in range(len(actions))))

    def _finish(self, outcome: Outcome) -> None:
        self.result.outcomes.append(outcome)
        self.reporter.action_finished(outcome)

    async def execute(self, action: Action) -> bool:
        if self.result.stopped:
            self._finish(Outcome(action, Status.SKIPPED, "apply stopped"))
            return False
        needs = apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)
        blocked = needs - set(self.ids)
        if blocked:
            self._finish(
                Outcome(
                    action,
                    Status.SKIPPED,
                    f"depends on {', '.join(sorted(blocked))}, which was not created (failed, skipped or in conflict)",
                )
            )
            return False
        self.reporter.action_started(action)
        try:
            task_id, detail = await self._dispatch(action)
        except ApiError as exc:
            self._finish(Outcome(action, Status.FAILED, exc.one_line(), action.task_id))
            return False
        except MarkerLostError as exc:
            self.result.stopped = str(exc)
            self._finish(Outcome(action, Status.FAILED, str(exc), action.task_id))
            return False
        except NotCreated as exc:
            self._finish(Outcome(action, Status.FAILED, str(exc), action.task_id))
            return False
        self._finish(Outcome(action, Status.DONE, detail, task_id))
        return True

    async def _dispatch(self, action: Action) -> tuple[str | None, str]:
        if action.kind is Kind.DELETE:
            return await self._delete(action)
        if action.creates:
            return await self._create(action)
        return await self._update(action)

    def _resolved(self, doc: Any, action: Action) -> Any:
        out = apidoc.substitute(doc, self.ids)
        missing = apidoc.placeholders(out)
        if missing:
            raise ApiError(
                "PLAN", action.name, 0, title=f"upstream ids unknown: {', '.join(sorted(missing))}"
            )
        return out

    async def _create(self, action: Action) -> tuple[str | None, str]:
        doc = self._resolved(action.after or {}, action)
        await self._confirm_absent(action.name)
        since = self.now() - CLOCK_SKEW
        found = False

        async def find_created() -> dict[str, Any] | None:
            nonlocal found
            task = await find_created_task(self.client, doc, since)
            found = found or task is not None
            return task

        # A POST whose answer was lost is resolved by looking for the task it would have made
        # before it is ever sent again; the client paces those attempts within its retry budget.
        writer = self._writer(action)
        created = await writer.create_task(
            doc, migrate_from=action.migrate_from, find_created=find_created
        )
        task_id = str(created["id"])
        if not is_managed(created, self.marker):
            # The answer may leave fields out: the stored task decides.
            created = await self.client.get_task(task_id)
            if not is_managed(created, self.marker):
                raise await marker_lost(self.client, action.name, task_id, ours=not found)
        self.ids[action.name] = task_id
        notes = [f"id {task_id}"]
        if found:
            notes.append("the answer was lost; found by name, time and content")
        if action.enable and not created.get("enabled"):
            await writer.patch_task(task_id, ENABLE)
            notes.append("enabled")
        notes.extend(owner_notes(action))
        if action.delete_legacy:
            self.legacy.append((action, task_id, action.delete_legacy))
        return task_id, ", ".join(notes)

    def _writer(self, action: Action) -> TaskClient:
        """The client that writes this task: as its declared owner when the plan says so."""
        if not action.act_as:
            return self.client
        return self.client.acting_as(*acting_lookup(action.act_as))

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

    async def _update(self, action: Action) -> tuple[str | None, str]:
        assert action.task_id is not None
        notes = []
        if action.patch:
            writer = self._writer(action)
            answer = await writer.patch_task(action.task_id, self._resolved(action.patch, action))
            if not is_managed(action.before or {}, self.marker):  # an adoption
                await self._check_adopted(action.name, action.task_id, answer)
            notes.append("patched " + ", ".join(action.fields))
            notes.extend(owner_notes(action))
        if action.delete_legacy:
            self.legacy.append((action, action.task_id, action.delete_legacy))
        return action.task_id, "; ".join(notes)

    async def _check_adopted(self, name: str, task_id: str, answer: Any) -> None:
        """An adopted task must now carry the marker (read back when the answer does not show it)."""
        if answer is None or not is_managed(answer, self.marker):
            answer = await self.client.get_task(task_id)
        if not is_managed(answer, self.marker):
            raise adoption_lost(name, task_id)

    async def finish_migrations(self) -> None:
        """Delete the legacy reload-tasks migrated in this run, last, and only when every other
        change succeeded: a legacy task that became several tasks (one per RRULE) must not go
        while one of them is missing. An incomplete apply keeps them; the next apply deletes
        them once the tasks replacing them exist."""
        complete = self.result.ok
        for action, task_id, legacy_id in self.legacy:
            outcome = next(o for o in self.result.outcomes if o.action is action)
            if not complete:
                note = (
                    f"kept legacy reload-task {legacy_id} until every change is done "
                    "(the next apply deletes it)"
                )
            else:
                try:
                    note = await self._delete_legacy(task_id, legacy_id)
                except ApiError as exc:
                    outcome.status = Status.FAILED
                    note = f"deleting legacy reload-task {legacy_id} failed: {exc.one_line()}"
            outcome.detail = "; ".join(d for d in (outcome.detail, note) if d)
            self.reporter.action_finished(outcome)

    async def _delete_legacy(self, task_id: str, legacy_id: str) -> str:
        """Delete the legacy reload-task only once the new task is verified to replace it."""
        task = await self.client.get_task(task_id)
        if (task.get("metadata") or {}).get("migratedFrom") != legacy_id:
            return f"kept legacy reload-task {legacy_id}: the new task does not record it"
        try:
            await self.client.delete_legacy_reload_task(legacy_id)
        except ApiError as exc:
            if exc.status != 404:
                raise
        return f"deleted legacy reload-task {legacy_id}"

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


def _create_dependencies(actions: Sequence[Action]) -> dict[int, set[int]]:
    index = {a.name: i for i, a in enumerate(actions)}
    waits: dict[int, set[int]] = {}
    for i, action in enumerate(actions):
        needs = apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)
        waits[i] = {index[n] for n in needs if n in index and index[n] != i}
    return waits


def _delete_dependencies(actions: Sequence[Action]) -> dict[int, set[int]]:
    """A task is deleted after the deletes of the tasks that run after it."""
    index = {a.task_id: i for i, a in enumerate(actions)}
    waits: dict[int, set[int]] = {i: set() for i in range(len(actions))}
    for i, action in enumerate(actions):
        for upstream_id, _ in run_finished_upstreams(action.before or {}):
            j = index.get(upstream_id)
            if j is not None and j != i:
                waits[j].add(i)
    return waits


async def apply_plan(
    plan: Plan,
    client: TaskClient,
    *,
    marker: str,
    parallelism: int = 4,
    reporter: Reporter | None = None,
    live: Sequence[Mapping[str, Any]] | None = None,
    adopt: bool = False,
) -> ApplyResult:
    """Carry out `plan`. Conflicts are not actions; nothing is done for them. With the live
    listing, ownership is checked against it first (`check_owned`): a task this tool does not own
    is never written (unless `adopt`) or deleted."""
    run = _Run(client, marker, parallelism, reporter or SilentReporter())
    if live is not None:
        check_owned(plan, live, marker, adopt=adopt)
        run.live = {str(doc.get("id")): doc for doc in live}
    creates = [a for a in plan.actions if a.creates]
    updates = [a for a in plan.actions if a.updates]
    deletes = plan.of(Kind.DELETE)
    await run.phase(creates, _create_dependencies(creates))
    # Updates wait for nothing within their phase, but one that needs a failed create's id is skipped.
    await run.phase(updates, {})
    await run.phase(deletes, _delete_dependencies(deletes))
    await run.finish_migrations()
    return run.result
