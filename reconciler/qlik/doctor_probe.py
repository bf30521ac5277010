"""The write probe of `reconciler doctor --probe APP_ID`, over HTTP.

It deletes the canaries an earlier, killed probe left behind; creates one canary on the app (the
marker, a schedule, a chain correlation, in the profile's spelling); reads it back; patches it
(disabled, a new description); and deletes it, whatever happened in between. It touches no other
task. The canary is sent and read as the tenant stores it, past the profile's translation, since
what the tenant stores is what the probe is there to see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from reconciler import canary
from reconciler.doctor import PROBED, Check, Status, not_checked
from reconciler.errors import ApiError, ReconcilerError
from reconciler.profile import Profile, marker_line, split_description, to_wire
from reconciler.qlik.client import TASKS, JsonObject, TenantClient

PATCHED = canary.CANARY_TEXT + " (patched)"


@dataclass(slots=True)
class ProbeResult:
    checks: list[Check] = field(default_factory=list)
    seen: canary.Probed | None = None
    notes: list[str] = field(default_factory=list)


async def probe(
    client: TenantClient, app_id: str, *, marker: str, profile: Profile, live: list[JsonObject]
) -> ProbeResult:
    """Run the probe on `app_id`; `live` is the listing the read-only checks made (raw)."""
    out = ProbeResult()
    for task in live:
        if canary.is_canary(task):
            await _delete(client, str(task.get("id")))
            out.notes.append(f"deleted {task.get('name')}, a canary left by an earlier probe")
    name = canary.canary_name()
    view = canary.canary(name, app_id, str(uuid.uuid4()), marker)
    created: JsonObject | None = None
    try:
        created, sent = await _create(client, view, marker, profile)
        task_id = str(created["id"])
        stored = await TenantClient.get_task(client, task_id)
        ops: list[JsonObject] = [
            {"op": "replace", "path": "/enabled", "value": False},
            {"op": "replace", "path": "/description", "value": PATCHED},
        ]
        answer = await TenantClient.patch_task(client, task_id, ops)
        after = await TenantClient.get_task(client, task_id)
        if after.get("enabled") is not False or after.get("description") != PATCHED:
            raise ApiError("PATCH", f"{TASKS}/{task_id}", 200, title="the patch was not applied")
        out.seen = _seen(sent, stored, marker, patch_answer=204 if answer is None else 200)
        out.checks = canary.probe_checks(out.seen, profile)
    except ApiError as error:
        out.checks = not_checked(PROBED, f"the probe failed: {error.one_line()}", Status.FAIL)
    finally:
        await _clean_up(client, name, created)
    return out


async def _clean_up(client: TenantClient, name: str, created: JsonObject | None) -> None:
    """Delete the canary, found by its name when the create's answer never came."""
    try:
        task_id = str(created["id"]) if created is not None else await _find(client, name)
        if task_id:
            await _delete(client, task_id)
    except ApiError as error:
        raise ReconcilerError(
            f"the probe could not delete its canary {name!r} ({error.one_line()}): delete it in "
            "the hub, or run the probe again, which deletes a canary left behind first"
        ) from None


async def _create(
    client: TenantClient, view: JsonObject, marker: str, profile: Profile
) -> tuple[JsonObject, JsonObject]:
    """Create the canary with the marker in both places (the probe sees which one the tenant
    keeps); without its chain event if the tenant refuses one on a scheduled task."""
    sent = to_wire(view, marker, profile.model_copy(update={"markerIn": "annotations"}))
    sent["description"] = f"{sent['description']}\n{marker_line(marker)}"

    async def find() -> JsonObject | None:
        found = await _find(client, str(view["name"]))
        return None if found is None else await TenantClient.get_task(client, found)

    try:
        return await TenantClient.create_task(client, sent, find_created=find), sent
    except ApiError as error:
        if error.status not in (400, 422):
            raise
    sent = {k: v for k, v in sent.items() if k != "events"}
    return await TenantClient.create_task(client, sent, find_created=find), sent


def _seen(sent: JsonObject, stored: JsonObject, marker: str, *, patch_answer: int) -> canary.Probed:
    spelled, meant = canary.rewritten_fields(sent, stored)
    annotations = stored.get("annotations")
    return canary.Probed(
        annotations_kept=isinstance(annotations, list) and marker in annotations,
        description_kept=split_description(stored.get("description"), marker)[1],
        state_type=canary.stored_state_type(stored),
        spec_version=stored.get("specVersion")
        if isinstance(stored.get("specVersion"), str)
        else None,
        status=canary.stored_status(stored) if "events" in sent else None,
        enabled_on_create=stored.get("enabled") is True,
        patch_answer=patch_answer,
        spelled=spelled,
        meant=meant,
    )


async def _find(client: TenantClient, name: str) -> str | None:
    """The id of the canary named `name`, for a create whose answer was lost."""
    for task in await TenantClient.find_tasks_by_name(client, name):
        if canary.is_canary(task):
            return str(task.get("id"))
    return None


async def _delete(client: TenantClient, task_id: str) -> None:
    try:
        await client.delete_task(task_id)
    except ApiError as error:
        if error.status != 404:
            raise
