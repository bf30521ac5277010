"""Plan + port -> result: the thin loop that carries out a plan, in order, in parallel, safely.

Phases run one after the other: creates and migrations (an upstream before the tasks that wait for
its id), then updates, then deletes (a downstream before its upstream), then the legacy
reload-tasks migrated in this run (`migrations`). Within a phase, independent actions run in
parallel up to `parallelism`; the client's rate-limit buckets pace them. One failed action does not
stop the others; the actions that depend on it are skipped. A task is deleted only once every
planned update of a live task that runs after it (its events name the task) is done: when one
failed or was skipped, the delete is skipped too, so no task is left running after one that no
longer exists (`_held_deletes`). A task that comes back without the ownership marker stops the
run: every action not yet started is skipped. What one action sends is `steps`' concern; what
happens when a create goes wrong, `recovery`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from reconciler import apidoc
from reconciler.apply.migrations import finish_migrations
from reconciler.apply.outcomes import ApplyResult, Outcome, Reporter, SilentReporter, Status
from reconciler.apply.port import TaskClient
from reconciler.apply.preconditions import check_owned
from reconciler.apply.recovery import MarkerLostError
from reconciler.apply.steps import NotCreated, Steps
from reconciler.chains import run_finished_upstreams
from reconciler.errors import ApiError
from reconciler.plan_values import Action, Kind, Plan


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
    if live is not None:
        check_owned(plan, live, marker, adopt=adopt)
    known = {str(doc.get("id")): doc for doc in live or ()}
    run = _Run(Steps(client, marker, known), parallelism, reporter or SilentReporter())
    creates = [a for a in plan.actions if a.creates]
    updates = [a for a in plan.actions if a.updates]
    deletes = plan.of(Kind.DELETE)
    await run.phase(creates, _create_dependencies(creates))
    # Updates wait for nothing within their phase, but one that needs a failed create's id is skipped.
    await run.phase(updates, {})
    held = _held_deletes(deletes, updates, run.result.with_status(Status.DONE), known)
    await run.phase(deletes, _delete_dependencies(deletes), held)
    await finish_migrations(client, run.steps.migrated, run.result, run.reporter)
    return run.result


class _Run:
    """The phases of one run: which action may start, the outcome of each, and what is reported."""

    def __init__(self, steps: Steps, parallelism: int, reporter: Reporter) -> None:
        self.steps = steps
        self.slots = asyncio.Semaphore(max(1, parallelism))
        self.reporter = reporter
        self.result = ApplyResult()

    async def phase(
        self,
        actions: Sequence[Action],
        waits_for: Mapping[int, set[int]],
        held: Mapping[int, str] | None = None,
    ) -> None:
        """Run `actions`; action i starts once every action in waits_for[i] is finished, and is
        skipped for the reason held[i] when an earlier phase left it one."""
        finished: dict[int, asyncio.Event] = {i: asyncio.Event() for i in range(len(actions))}
        ok: dict[int, bool] = {}

        async def one(i: int) -> None:
            try:
                if held and i in held:
                    ok[i] = False
                    self._finish(Outcome(actions[i], Status.SKIPPED, held[i]))
                    return
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
                    ok[i] = await self._execute(actions[i])
            finally:
                finished[i].set()

        await asyncio.gather(*(one(i) for i in range(len(actions))))

    async def _execute(self, action: Action) -> bool:
        """Carry out one action unless the run stopped or an upstream's id is missing; whether it
        succeeded."""
        if self.result.stopped:
            self._finish(Outcome(action, Status.SKIPPED, "apply stopped"))
            return False
        blocked = _needs(action) - set(self.steps.ids)
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
            task_id, detail = await self.steps.carry_out(action)
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

    def _finish(self, outcome: Outcome) -> None:
        self.result.outcomes.append(outcome)
        self.reporter.action_finished(outcome)


def _needs(action: Action) -> set[str]:
    """The names of the tasks whose ids `action` waits for."""
    return apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)


def _create_dependencies(actions: Sequence[Action]) -> dict[int, set[int]]:
    """A task is created after the tasks whose ids it needs."""
    index = {a.name: i for i, a in enumerate(actions)}
    waits: dict[int, set[int]] = {}
    for i, action in enumerate(actions):
        waits[i] = {index[n] for n in _needs(action) if n in index and index[n] != i}
    return waits


def _held_deletes(
    deletes: Sequence[Action],
    updates: Sequence[Action],
    done: Sequence[Outcome],
    live: Mapping[str, Mapping[str, Any]],
) -> dict[int, str]:
    """The deletes (by index) that must not go, each with why: a task still runs after the task
    to delete (its live document's events name it) and the update that would have moved it off
    did not succeed (failed or skipped). A downstream that is itself deleted is not here: the
    deletes' own order covers it; an unmanaged one that nothing updates is the plan's warning."""
    updated = {o.action.task_id for o in done if o.action.updates}
    index = {a.task_id: i for i, a in enumerate(deletes) if a.task_id}
    waiting: dict[int, list[str]] = {}
    for update in updates:
        if update.task_id in updated:
            continue
        doc = live.get(str(update.task_id)) or update.before or {}
        for upstream_id in sorted({ref for ref, _ in run_finished_upstreams(doc)}):
            i = index.get(upstream_id)
            if i is not None:
                waiting.setdefault(i, []).append(update.name)
    return {i: _kept(sorted(names)) for i, names in waiting.items()}


def _kept(names: Sequence[str]) -> str:
    who, runs, updates = (
        (names[0], "runs", "its update")
        if len(names) == 1
        else (", ".join(names), "run", "their updates")
    )
    return (
        f"kept: {who} still {runs} after it and {updates} did not succeed; deleting it now "
        "would leave a chain after a task that no longer exists"
    )


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
