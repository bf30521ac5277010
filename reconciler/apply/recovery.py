"""What apply does when a create goes wrong in the two ways a tenant can make it go wrong: the
answer to the POST is lost (did the task get made?), or the task is made but comes back without the
ownership marker (the profile does not fit the tenant). An adopted task that does not keep the
marker stops apply the same way.

Neither path may leave a second task of one name behind, and neither depends on the marker being
kept: a tenant that drops annotations is exactly the one where it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler import normalize
from reconciler.apply.port import TaskClient
from reconciler.errors import ApiError, ReconcilerError
from reconciler.matching import oldest_first
from reconciler.ownership import is_managed

CLOCK_SKEW = timedelta(minutes=5)
"""How far the tenant's clock may be behind ours when a lost create is looked for by its time."""
COMPARED_ON_RECOVERY = ("name", "start", "events", "states")
"""What a task found after a lost answer must share with the document sent: not the marker (a
tenant may drop annotations), not `enabled` (the service may create a task disabled)."""


class MarkerLostError(ReconcilerError):
    """A created task came back without the ownership marker: the profile does not fit the tenant."""


class LostAnswer:
    """What the client asks after a create whose answer was lost (a `FindCreated`): the task the
    create made, if it made one. `found` says whether it was found that way."""

    def __init__(self, client: TaskClient, sent: Mapping[str, Any], started: datetime) -> None:
        self.client = client
        self.sent = sent
        self.since = started - CLOCK_SKEW
        self.found = False

    async def __call__(self) -> dict[str, Any] | None:
        task = await find_created_task(self.client, self.sent, self.since)
        self.found = self.found or task is not None
        return task


async def check_created(
    client: TaskClient, marker: str, name: str, created: dict[str, Any], *, ours: bool
) -> dict[str, Any]:
    """The task just created, once it is known to carry the marker: the answer, or the stored task
    when the answer does not show it (an answer may leave fields out). Without the marker, stop
    (`marker_lost`; `ours` when the id came in the answer to our POST)."""
    if is_managed(created, marker):
        return created
    task_id = str(created["id"])
    stored = await client.get_task(task_id)
    if not is_managed(stored, marker):
        raise await marker_lost(client, name, task_id, ours=ours)
    return stored


async def check_adopted(
    client: TaskClient, marker: str, name: str, task_id: str, answer: Mapping[str, Any] | None
) -> None:
    """An adopted task must now carry the marker (read back when the answer does not show it)."""
    if answer is None or not is_managed(answer, marker):
        answer = await client.get_task(task_id)
    if not is_managed(answer, marker):
        raise adoption_lost(name, task_id)


async def find_created_task(
    client: TaskClient, sent: Mapping[str, Any], since: datetime
) -> dict[str, Any] | None:
    """After a lost answer to POST: the task exists if a task of its name, created since the
    attempt began, has the content that was sent. Whether it carries the marker does not
    decide: a tenant that drops annotations must not get a second task of the name."""
    name = str(sent.get("name"))
    want = normalize.normalize(sent)
    found = []
    for task in await client.find_tasks_by_name(name):
        got = normalize.normalize(task, desired=sent)
        if any(want.get(k) != got.get(k) for k in COMPARED_ON_RECOVERY):
            continue
        created_at = _created_at(task)
        if created_at is not None and created_at < since:
            continue
        found.append(task)
    if not found:
        return None
    return min(found, key=oldest_first)


async def marker_lost(
    client: TaskClient, name: str, task_id: str, *, ours: bool
) -> MarkerLostError:
    """The error that stops apply. A task this apply surely created (its id came in the
    answer to our POST) is deleted again, so no unmanaged copy is left to hold the name; one
    found after a lost answer is left alone, since it cannot be told apart from a person's."""
    if ours:
        try:
            await client.delete_task(task_id)
            fate = "it was deleted again"
        except ApiError as exc:
            fate = f"deleting it failed ({exc.one_line()}): delete task {task_id} by hand"
    else:
        fate = f"task {task_id} was left alone: check it in the hub"
    return MarkerLostError(
        f"the tenant did not keep the ownership marker on {name!r}, which apply just created "
        f"({fate}). Run `reconciler doctor --probe APP_ID` to see where this tenant keeps it, "
        "and set `markerIn` (annotations or description) under `profile:` in reconciler.yaml"
    )


def adoption_lost(name: str, task_id: str) -> MarkerLostError:
    """The error that stops apply when a task it adopted does not keep the marker: every later
    run would adopt it again, and move its ownership each time."""
    return MarkerLostError(
        f"the tenant did not keep the ownership marker on {name!r} ({task_id}), which apply just "
        "adopted: every run would adopt it again. Run `reconciler doctor --probe APP_ID` to see "
        "where this tenant keeps it, and set `markerIn` (annotations or description) under "
        "`profile:` in reconciler.yaml"
    )


def _created_at(task: Mapping[str, Any]) -> datetime | None:
    raw = (task.get("metadata") or {}).get("createdAt")
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
