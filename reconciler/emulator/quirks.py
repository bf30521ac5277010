"""Quirks: named, switchable ways in which a real tenant may store or answer differently.

The reference pages and Qlik's own types leave open how the service spells what it stores (a `Z`
on a date-time, RRULE parts in its own order, fields it fills in). Each such behaviour is one
`Quirk` in `QUIRKS`, off by default, so that every spelling and every profile can be tested end to
end (`reconciler emulator serve --quirk NAME`, `--quirks all`, or `EmulatorConfig(quirks=...)`).

A quirk may have two parts:

- `rewrite(doc)`: how the service stores a task written through the API (create, PATCH, PUT); it
  changes the stored client fields in place, after validation. A rewrite is idempotent: a
  service's own spelling, stored again, stays the same.
- `configure(config, n)`: a change of the emulator's settings, made once when it is built.

A name ending in `-N` is a family: `page-limit-N` is selected as `page-limit-50`, and `n` is 50.
Adding a quirk is one entry in `QUIRKS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from reconciler.emulator import profile_quirks as profiled
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.store import Doc

Rewrite = Callable[[Doc], None]
Configure = Callable[[EmulatorConfig, int | None], None]

ALL = "all"
"""The name that selects every quirk marked `in_all`."""


@dataclass(frozen=True, slots=True)
class Quirk:
    name: str
    summary: str
    rewrite: Rewrite | None = None
    configure: Configure | None = None
    in_all: bool = True  # False for a quirk that contradicts another one (`--quirks all` skips it)
    all_n: int | None = None  # for a family: the N that `--quirks all` selects
    # A spelling: the service stores the same meaning in other words. Plan compares by meaning,
    # so after apply the plan is empty under every spelling, with the default settings.
    spelling: bool = False

    @property
    def family(self) -> bool:
        return self.name.endswith("-N")


@dataclass(frozen=True, slots=True)
class Active:
    """A selected quirk, with its number for a family."""

    quirk: Quirk
    n: int | None = None

    @property
    def name(self) -> str:
        return self.quirk.name[:-1] + str(self.n) if self.quirk.family else self.quirk.name


class UnknownQuirk(ValueError):
    """A quirk name that is not in the registry; the message lists the known ones."""


# -- the walkers -----------------------------------------------------------------------------------


def _states(doc: Doc) -> list[Doc]:
    return [s for s in doc.get("states") or [] if isinstance(s, dict)]


def _on_events(doc: Doc) -> list[Doc]:
    return [o for s in _states(doc) for o in s.get("onEvents") or [] if isinstance(o, dict)]


def _function_refs(doc: Doc) -> list[Doc]:
    actions = [a for o in _on_events(doc) for a in o.get("actions") or [] if isinstance(a, dict)]
    return [a["functionRef"] for a in actions if isinstance(a.get("functionRef"), dict)]


def _events(doc: Doc) -> list[Doc]:
    return [e for e in doc.get("events") or [] if isinstance(e, dict)]


def _schedule(doc: Doc) -> Doc | None:
    start = doc.get("start")
    schedule = start.get("schedule") if isinstance(start, dict) else None
    return schedule if isinstance(schedule, dict) else None


# -- spelling rewrites -------------------------------------------------------------------------------

_HAS_OFFSET = re.compile(r"(Z|[+-]\d\d:?\d\d)$", re.IGNORECASE)


def _suffix_dates(suffix: str) -> Rewrite:
    """Append `suffix` to `startDateTime` and `endDateTime` where they carry no offset."""

    def rewrite(doc: Doc) -> None:
        schedule = _schedule(doc) or {}
        for key in ("startDateTime", "endDateTime"):
            value = schedule.get(key)
            if isinstance(value, str) and value and not _HAS_OFFSET.search(value):
                schedule[key] = value + suffix

    return rewrite


def _rrule(change: Callable[[str, list[str]], tuple[str, list[str]]]) -> Rewrite:
    """Rewrite the schedule's RRULE: `change(prefix, parts)` returns the new prefix and parts."""

    def rewrite(doc: Doc) -> None:
        schedule = _schedule(doc)
        text = schedule.get("recurrence") if schedule else None
        if schedule is None or not isinstance(text, str) or not text:
            return
        prefix, body = ("RRULE:", text[6:]) if text.upper().startswith("RRULE:") else ("", text)
        new_prefix, parts = change(prefix, [p for p in body.split(";") if p])
        schedule["recurrence"] = new_prefix + ";".join(parts)

    return rewrite


def _add_default_parts(prefix: str, parts: list[str]) -> tuple[str, list[str]]:
    keys = {p.split("=", 1)[0].upper() for p in parts}
    extra = [part for part in ("INTERVAL=1", "WKST=MO") if part.split("=")[0] not in keys]
    return prefix, parts + extra


def _sort_parts(prefix: str, parts: list[str]) -> tuple[str, list[str]]:
    return prefix, sorted(parts, key=lambda part: part.split("=", 1)[0].upper())


def _sort_lists_descending(prefix: str, parts: list[str]) -> tuple[str, list[str]]:
    out = []
    for part in parts:
        key, _, value = part.partition("=")
        values = sorted(value.split(","), reverse=True)
        out.append(f"{key}={','.join(values)}" if "," in value else part)
    return prefix, out


def _fill(where: Callable[[Doc], list[Doc]], key: str, value: Any) -> Rewrite:
    """Fill in `key` with `value` on every object `where` finds that does not state it."""

    def rewrite(doc: Doc) -> None:
        for item in where(doc):
            item.setdefault(key, value)

    return rewrite


def _fill_timeouts(doc: Doc) -> None:
    for item in [doc, *_states(doc)]:
        item.setdefault("timeouts", {})


def _cron_object(doc: Doc) -> None:
    schedule = _schedule(doc)
    if schedule is not None and isinstance(schedule.get("cron"), str):
        schedule["cron"] = {"expression": schedule["cron"]}


def _drop_start_state_name(doc: Doc) -> None:
    start = doc.get("start")
    if isinstance(start, dict) and "schedule" in start:
        start.pop("stateName", None)


def _spec_version(doc: Doc) -> None:
    doc["specVersion"] = "1.16.0"


QUIRKS: tuple[Quirk, ...] = (
    Quirk(
        "date-z",
        "startDateTime/endDateTime stored with a Z appended",
        _suffix_dates("Z"),
        spelling=True,
    ),
    Quirk(
        "date-millis",
        "startDateTime/endDateTime stored with .000Z appended",
        _suffix_dates(".000Z"),
        spelling=True,
    ),
    Quirk(
        "date-offset",
        "startDateTime/endDateTime stored with +00:00 appended",
        _suffix_dates("+00:00"),
        spelling=True,
    ),
    Quirk(
        "rrule-no-prefix",
        "the RRULE stored without its RRULE: prefix",
        _rrule(lambda _, p: ("", p)),
        spelling=True,
    ),
    Quirk(
        "rrule-part-order",
        "the RRULE's parts stored in alphabetical order (BYDAY;BYHOUR;FREQ)",
        _rrule(_sort_parts),
        spelling=True,
    ),
    Quirk(
        "rrule-lower",
        "the RRULE stored in lower case, prefix included",
        _rrule(lambda pre, p: (pre.lower(), [x.lower() for x in p])),
        spelling=True,
    ),
    Quirk(
        "rrule-defaults",
        "INTERVAL=1 and WKST=MO added to the RRULE",
        _rrule(_add_default_parts),
        spelling=True,
    ),
    Quirk(
        "rrule-list-order",
        "RRULE list values stored in descending order (BYDAY=TU,MO)",
        _rrule(_sort_lists_descending),
        spelling=True,
    ),
    Quirk("cron-object", "a cron string stored as {expression}", _cron_object, spelling=True),
    Quirk(
        "exclusive-false",
        "exclusive: false filled in on every state",
        _fill(_states, "exclusive", False),
        spelling=True,
    ),
    Quirk(
        "data-only-false",
        "dataOnly: false filled in on every event",
        _fill(_events, "dataOnly", False),
        spelling=True,
    ),
    Quirk(
        "action-mode",
        "actionMode: SEQUENTIAL filled in on every onEvents entry",
        _fill(_on_events, "actionMode", "SEQUENTIAL"),
        spelling=True,
    ),
    Quirk(
        "invoke-sync",
        "invoke: SYNC filled in on every functionRef",
        _fill(_function_refs, "invoke", "SYNC"),
        spelling=True,
    ),
    Quirk(
        "timeouts-empty",
        "timeouts: {} filled in on the task and its states",
        _fill_timeouts,
        spelling=True,
    ),
    Quirk(
        "drop-start-state-name",
        "start.stateName dropped from a scheduled task",
        _drop_start_state_name,
        spelling=True,
    ),
    Quirk(
        "spec-version-1.16.0",
        "specVersion stored as 1.16.0 (the reference's examples)",
        _spec_version,
        spelling=True,
    ),
    # What the tenant profile covers (reconciler.profile); `reconciler doctor` detects each.
    Quirk(
        "drop-annotations",
        "annotations not kept: the ownership marker needs markerIn: description",
        profiled.drop_annotations,
        in_all=False,  # the default profile cannot manage tasks on such a tenant
    ),
    Quirk(
        "state-type-upper",
        "the state type stored as EVENT",
        profiled.state_type_upper,
        spelling=True,
    ),
    Quirk(
        "status-upper",
        "a chain's status correlation stored in upper case (SUCCEEDED)",
        profiled.status_upper,
        spelling=True,
    ),
    Quirk(
        "enabled-on-create",
        "enabled: true in a create's body is honoured (by default a created task is disabled)",
        configure=profiled.honour_enabled,
    ),
    Quirk("patch-204", "PATCH answered 204 without a body", configure=profiled.patch_204),
    Quirk(
        "page-limit-N",
        "listings refuse a limit above N (pageLimit must be at most N)",
        configure=profiled.page_limit,
        in_all=False,  # the default pageLimit (100) does not fit a smaller limit
    ),
)
"""Every quirk the emulator can play, off unless selected."""


def registry(quirks: Iterable[Quirk] | None = None) -> dict[str, Quirk]:
    """The quirks (default: `QUIRKS`) by name; ValueError for a name used twice or a family
    without `all_n`."""
    seen: dict[str, Quirk] = {}
    for quirk in QUIRKS if quirks is None else quirks:
        if quirk.name in seen or quirk.name == ALL:
            raise ValueError(f"quirk name {quirk.name!r} is used twice")
        if quirk.family and quirk.in_all and quirk.all_n is None:
            raise ValueError(f"quirk family {quirk.name!r} needs the all_n that --quirks all uses")
        seen[quirk.name] = quirk
    return seen


registry()  # a duplicate name fails at import, not at the first lookup


def known() -> list[str]:
    """Every selectable name, families as `name-N`, plus `all`."""
    return [quirk.name for quirk in QUIRKS] + [ALL]


def _lookup(name: str) -> Active:
    by_name = registry()
    quirk = by_name.get(name)
    if quirk is not None and not quirk.family:
        return Active(quirk)
    head, _, tail = name.rpartition("-")
    family = by_name.get(head + "-N")
    if family is not None and tail.isdigit() and int(tail) > 0:
        return Active(family, int(tail))
    raise UnknownQuirk(f"unknown quirk {name!r}; known quirks: {', '.join(known())}")


def resolve(names: Iterable[str]) -> tuple[Active, ...]:
    """The selected quirks, in registry order and each once; `all` selects every `in_all` quirk.

    UnknownQuirk (a ValueError) names the first unknown name and lists the known ones."""
    chosen: dict[str, Active] = {}
    for raw in names:
        name = raw.strip()
        if name == ALL:
            for quirk in QUIRKS:
                if quirk.in_all:
                    active = Active(quirk, quirk.all_n if quirk.family else None)
                    chosen.setdefault(quirk.name, active)
        else:
            active = _lookup(name)
            chosen[active.quirk.name] = active
    rank = {quirk.name: i for i, quirk in enumerate(QUIRKS)}
    return tuple(sorted(chosen.values(), key=lambda a: rank[a.quirk.name]))


def configure(active: Iterable[Active], config: EmulatorConfig) -> None:
    """Apply the selected quirks' settings to `config`."""
    for item in active:
        if item.quirk.configure is not None:
            item.quirk.configure(config, item.n)


def rewrite_stored(active: Iterable[Active], doc: Doc) -> None:
    """Rewrite a task written through the API into the spelling the quirks store."""
    for item in active:
        if item.quirk.rewrite is not None:
            item.quirk.rewrite(doc)
