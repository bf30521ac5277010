"""`reconciler doctor`: what a tenant does where the reference leaves it open, as named checks with a
verdict, and the tenant profile that fits what was seen.

This module is pure: it turns observations (gathered over HTTP by `reconciler.qlik.doctor_checks`
and `reconciler.qlik.doctor_probe`) into checks and a profile. A check is `ok` when the tool works
with the tenant as configured, `warn` when it works but something deserves a look (or a profile
setting would match the tenant better), and `fail` when plan or apply would go wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from reconciler.profile import Profile
from reconciler.taskdoc import app_of

if TYPE_CHECKING:
    from reconciler.canary import Probed

READ_ONLY = ("auth", "identity", "list", "legacy", "apps", "limits")
PROBED = (
    "annotations",
    "stateType",
    "specVersion",
    "statusCase",
    "enabledOnCreate",
    "patchAnswer",
    "roundTrip",
)
NEAR_FULL = 8  # tasks on one app from which `limits` warns (the service allows 10)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    expected: str
    observed: str
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": self.status.value,
            "expected": self.expected,
            "observed": self.observed,
            "detail": self.detail,
        }


@dataclass(slots=True)
class Report:
    """The checks in the order they ran, and the profile that matches what they saw."""

    checks: list[Check] = field(default_factory=list)
    profile: Profile = field(default_factory=Profile)
    notes: list[str] = field(default_factory=list)  # what the doctor did beyond its checks

    @property
    def failed(self) -> bool:
        return any(c.status is Status.FAIL for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {"checks": [c.as_json() for c in self.checks], "profile": self.profile.model_dump()}


def not_checked(names: Iterable[str], why: str, status: Status = Status.WARN) -> list[Check]:
    """Checks that could not run (the credentials were refused, the canary was not created)."""
    return [Check(n, status, "-", "not checked", why) for n in names]


# -- read-only checks -----------------------------------------------------------------------------


def page_check(asked: int, largest: int | None, page_size: int | None, tasks: int) -> Check:
    """`list`: the listing at the profile's page size. `largest` is the largest limit the tenant
    accepts when it refused `asked` (None when it did not); `page_size` the size of a first page
    that came back shorter than asked while there were more pages (None when none did)."""
    expected = f"a listing in pages of {asked}"
    if largest is not None:
        return Check(
            "list",
            Status.FAIL,
            expected,
            f"limit {asked} refused; the largest accepted is {largest}",
            f"set pageLimit: {largest}",
        )
    if page_size is not None:
        return Check(
            "list",
            Status.WARN,
            expected,
            f"pages of {page_size} although {asked} were asked ({tasks} tasks)",
            f"pageLimit: {page_size} matches the tenant",
        )
    return Check("list", Status.OK, expected, f"{tasks} tasks listed")


def legacy_check(legacy: Sequence[Mapping[str, Any]] | None) -> Check:
    expected = "answers, or is gone (404)"
    if legacy is None:
        return Check("legacy", Status.OK, expected, "gone (404)", "nothing to migrate")
    waiting = [t for t in legacy if not t.get("migrated")]
    detail = f"run `reconciler migrate` for {len(waiting)} of them" if waiting else ""
    return Check(
        "legacy",
        Status.OK,
        expected,
        f"{len(legacy)} legacy reload-tasks, {len(waiting)} not migrated",
        detail,
    )


def apps_check(
    app_ids: Sequence[str] | None, apps: Mapping[str, Mapping[str, Any] | None]
) -> Check:
    """`apps`: every app of the task files exists and the caller may reload it. `apps` maps an
    app id to the tenant's answer (None: not found or not visible)."""
    expected = "every app of the task files exists and may be reloaded"
    if app_ids is None:
        return Check("apps", Status.WARN, expected, "not checked", "the task files did not load")
    if not app_ids:
        return Check("apps", Status.OK, expected, "no task files name an app")
    missing = [a for a in app_ids if apps.get(a) is None]
    barred = [a for a in app_ids if a not in missing and not may_reload(apps[a])]
    problems = [f"{a}: not found or not visible" for a in missing]
    problems += [f"{a}: the caller may not reload it" for a in barred]
    if problems:
        return Check(
            "apps",
            Status.FAIL,
            expected,
            f"{len(problems)} of {len(app_ids)} apps cannot be reloaded",
            "; ".join(problems),
        )
    return Check("apps", Status.OK, expected, f"{len(app_ids)} apps, each may be reloaded")


def may_reload(app: Mapping[str, Any] | None) -> bool:
    """Whether the answer of `GET /api/v1/apps/{id}` lets the caller reload (an answer without
    `privileges` does not say otherwise)."""
    if app is None:
        return False
    privileges = app.get("privileges")
    return not isinstance(privileges, list) or "reload" in privileges


def limits_check(live: Sequence[Mapping[str, Any]], limit: int = 10) -> Check:
    """`limits`: apps at or near the most tasks an app may have."""
    expected = f"every app below {limit} tasks"
    counts: dict[str, int] = {}
    for task in live:
        app = app_of(task)
        if isinstance(app, str):
            counts[app] = counts.get(app, 0) + 1
    near = sorted((n, a) for a, n in counts.items() if n >= NEAR_FULL)
    if not near:
        most = max(counts.values(), default=0)
        return Check("limits", Status.OK, expected, f"at most {most} tasks on one app")
    detail = "; ".join(
        f"{app}: {n} tasks" + (" (full)" if n >= limit else "") for n, app in reversed(near)
    )
    return Check("limits", Status.WARN, expected, f"{len(near)} apps at or near {limit}", detail)


def suggested(
    profile: Profile, *, page_limit: int | None = None, seen: Probed | None = None
) -> Profile:
    """The profile that matches what was observed; what was not observed stays as configured."""
    values = profile.model_dump()
    if page_limit is not None:
        values["pageLimit"] = page_limit
    if seen is not None:
        if seen.state_type in ("event", "EVENT"):
            values["stateType"] = seen.state_type
        if seen.spec_version:
            values["specVersion"] = seen.spec_version
        if seen.status is not None and (seen.status.isupper() or seen.status.islower()):
            values["statusCase"] = "upper" if seen.status.isupper() else "lower"
        if seen.annotations_kept:
            values["markerIn"] = "annotations"
        elif seen.description_kept:
            values["markerIn"] = "description"
    return Profile.model_validate(values)
