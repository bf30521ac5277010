"""The write probe's canary: the task `reconciler doctor --probe` creates, reads back, patches and
deletes, how a leftover one is recognised, and the checks that judge what the tenant made of it.
Pure: the probe itself is `reconciler.qlik.doctor_probe`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reconciler import apidoc, model, normalize
from reconciler.doctor import Check, Status
from reconciler.profile import Profile

CANARY_PREFIX = "reconciler-doctor-"
CANARY_NAME = re.compile(r"^reconciler-doctor-[0-9a-f]{8}$")
CANARY_TEXT = "Written by `reconciler doctor --probe`, deleted by it: safe to delete."
CANARY_START = "2099-01-01T00:00:00"  # a schedule that cannot fire while the probe runs


def canary_name() -> str:
    return CANARY_PREFIX + secrets.token_hex(4)


def is_canary(task: Mapping[str, Any]) -> bool:
    """A canary the probe made: its name and its description say so (a name alone is not enough
    to delete a task)."""
    name, description = task.get("name"), task.get("description")
    return (
        isinstance(name, str)
        and CANARY_NAME.fullmatch(name) is not None
        and isinstance(description, str)
        and description.startswith(CANARY_TEXT)
    )


def canary(name: str, app_id: str, upstream_id: str, marker: str) -> dict[str, Any]:
    """The canary in the tool's spelling: the marker, a schedule that cannot fire soon, and a chain
    event whose upstream does not exist (declared, not waited on), so it can never run."""
    return {
        "name": name,
        "description": CANARY_TEXT,
        "enabled": True,  # to see whether the service honours it; patched to false at once
        "specVersion": model.SPEC_VERSION,
        "version": model.WORKFLOW_VERSION,
        "annotations": [marker],
        "start": {
            "stateName": apidoc.STATE_NAME,
            "schedule": {
                "recurrence": "RRULE:FREQ=YEARLY",
                "timezone": "UTC",
                "startDateTime": CANARY_START,
            },
        },
        "events": [
            {
                "name": "upstream-1",
                "type": model.RUN_FINISHED,
                "source": model.RUN_FINISHED_SOURCE,
                "correlation": [
                    {"contextAttributeName": "id", "contextAttributeValue": upstream_id},
                    {"contextAttributeName": "status", "contextAttributeValue": "succeeded"},
                ],
            }
        ],
        "states": [apidoc.reload_state(app_id)],
    }


def stored_status(doc: Mapping[str, Any]) -> str | None:
    for event in doc.get("events") or []:
        for corr in event.get("correlation") or [] if isinstance(event, dict) else []:
            value = corr.get("contextAttributeValue") if isinstance(corr, dict) else None
            if corr.get("contextAttributeName") == "status" and isinstance(value, str):
                return value
    return None


def stored_state_type(doc: Mapping[str, Any]) -> str | None:
    states = doc.get("states") or []
    first = states[0] if states and isinstance(states[0], dict) else {}
    value = first.get("type")
    return value if isinstance(value, str) else None


def rewritten_fields(
    sent: Mapping[str, Any], stored: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Top-level fields the service stored in another spelling, and those it changed in meaning
    (the marker's place, `enabled` and `specVersion` are checks of their own, and are left out)."""
    skip = {"annotations", "description", "enabled", "specVersion"}
    spelled = sorted(
        k
        for k in set(sent) | set(stored)
        if k not in skip and k not in normalize.SERVER_OWNED and sent.get(k) != stored.get(k)
    )
    meant = [
        k
        for k in normalize.changed_fields(
            normalize.normalize(sent), normalize.normalize(stored, desired=sent)
        )
        if k not in skip
    ]
    return spelled, meant


@dataclass(frozen=True, slots=True)
class Probed:
    """What the write probe saw of its canary."""

    annotations_kept: bool
    description_kept: bool  # the marker line at the end of the description survived
    state_type: str | None
    spec_version: str | None
    status: str | None  # None: the tenant refused the chain event, the canary has none
    enabled_on_create: bool
    patch_answer: int
    spelled: list[str]  # fields stored in another spelling
    meant: list[str]  # fields stored with another meaning


def probe_checks(seen: Probed, profile: Profile) -> list[Check]:
    """The probe's checks, each judged against the profile in use."""
    return [
        _annotations(seen, profile),
        _spelling("stateType", profile.stateType, seen.state_type, "stateType"),
        _spelling("specVersion", profile.specVersion, seen.spec_version, "specVersion"),
        _status_case(seen.status, profile),
        Check(
            "enabledOnCreate",
            Status.OK,
            "honoured, or enabled after create",
            "honoured" if seen.enabled_on_create else "ignored: created disabled",
            "" if seen.enabled_on_create else "apply enables each created task with a PATCH",
        ),
        Check("patchAnswer", Status.OK, "200 or 204", str(seen.patch_answer)),
        _round_trip(seen),
    ]


def _annotations(seen: Probed, profile: Profile) -> Check:
    expected = f"the marker kept in the {profile.markerIn}"
    if seen.annotations_kept:
        observed = "kept"
    elif seen.description_kept:
        observed = "dropped; the description is kept"
    else:
        observed = "dropped, and the description's last line too"
    if profile.markerIn == "annotations" and not seen.annotations_kept:
        if seen.description_kept:
            return Check(
                "annotations",
                Status.FAIL,
                expected,
                observed,
                "apply would stop at the first create: set markerIn: description",
            )
        return Check(
            "annotations", Status.FAIL, expected, observed, "the tenant keeps no ownership marker"
        )
    if profile.markerIn == "description" and not seen.description_kept:
        return Check("annotations", Status.FAIL, expected, observed, "set markerIn: annotations")
    if profile.markerIn == "description" and seen.annotations_kept:
        return Check(
            "annotations", Status.WARN, expected, observed, "markerIn: annotations would do"
        )
    return Check("annotations", Status.OK, expected, observed)


def _spelling(name: str, sent: str, stored: str | None, setting: str) -> Check:
    expected = f"stored as sent ({sent})"
    if stored == sent:
        return Check(name, Status.OK, expected, stored)
    return Check(
        name,
        Status.WARN,
        expected,
        str(stored),
        f"compared by meaning; {setting}: {stored} sends what the tenant stores",
    )


def _status_case(stored: str | None, profile: Profile) -> Check:
    expected = f"a chain's status stored in {profile.statusCase} case"
    if stored is None:
        return Check(
            "statusCase",
            Status.WARN,
            expected,
            "not observed",
            "the tenant refused the chain event",
        )
    case = case_of(stored)
    if case == profile.statusCase:
        return Check("statusCase", Status.OK, expected, stored)
    return Check(
        "statusCase",
        Status.WARN,
        expected,
        stored,
        f"compared by meaning; statusCase: {case} sends what the tenant stores",
    )


def case_of(value: str) -> str:
    return "upper" if value.isupper() else "lower" if value.islower() else "mixed"


def _round_trip(seen: Probed) -> Check:
    expected = "the stored task compares equal to the one sent"
    if seen.meant:
        return Check(
            "roundTrip",
            Status.FAIL,
            expected,
            "differs in " + ", ".join(seen.meant),
            "plan would show a change after every apply: tell ignoreDifferences in "
            "reconciler.yaml about these fields",
        )
    if seen.spelled:
        return Check(
            "roundTrip",
            Status.OK,
            expected,
            "equal by meaning; rewritten: " + ", ".join(seen.spelled),
        )
    return Check("roundTrip", Status.OK, expected, "equal, as sent")
