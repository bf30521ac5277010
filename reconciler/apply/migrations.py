"""The last step of a run that migrated legacy reload-tasks: deleting them.

A legacy reload-task goes last, and only when every other change of the run succeeded: one that
became several tasks (one per RRULE) must not go while one of them is missing. An incomplete apply
keeps it; the next apply deletes it once the tasks replacing it exist. It is deleted only when the
new task records it (`metadata.migratedFrom`), and one already gone counts as deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.apply.outcomes import ApplyResult, Reporter, Status
from reconciler.apply.port import TaskClient
from reconciler.errors import ApiError
from reconciler.ownership import migrated_from
from reconciler.plan_values import Action


@dataclass(frozen=True, slots=True)
class Migrated:
    """A task of this run that replaces legacy reload-task `legacy_id`."""

    action: Action
    task_id: str
    legacy_id: str


async def finish_migrations(
    client: TaskClient, migrated: Sequence[Migrated], result: ApplyResult, reporter: Reporter
) -> None:
    """Delete the legacy reload-tasks of `migrated` when `result` is complete, else keep them;
    either way the action's outcome says so, and is reported again."""
    complete = result.ok
    for done in migrated:
        outcome = next(o for o in result.outcomes if o.action is done.action)
        legacy_id = done.legacy_id
        if not complete:
            note = (
                f"kept legacy reload-task {legacy_id} until every change is done "
                "(the next apply deletes it)"
            )
        else:
            try:
                note = await _delete_legacy(client, done.task_id, legacy_id)
            except ApiError as exc:
                outcome.status = Status.FAILED
                note = f"deleting legacy reload-task {legacy_id} failed: {exc.one_line()}"
        outcome.detail = "; ".join(d for d in (outcome.detail, note) if d)
        reporter.action_finished(outcome)


async def _delete_legacy(client: TaskClient, task_id: str, legacy_id: str) -> str:
    """Delete the legacy reload-task only once the new task is verified to replace it."""
    task = await client.get_task(task_id)
    if migrated_from(task) != legacy_id:
        return f"kept legacy reload-task {legacy_id}: the new task does not record it"
    try:
        await client.delete_legacy_reload_task(legacy_id)
    except ApiError as exc:
        if exc.status != 404:
            raise
    return f"deleted legacy reload-task {legacy_id}"
