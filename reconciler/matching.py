"""Which live task is each desired task: the one matching rule that plan, drift and import share.

Pure: the desired tasks and the live listing come in, a `Matching` goes out; plan keeps it in the
Plan (drift and owners read it there), and import asks it which live tasks git declares already.
A live task is managed when it carries the marker (`reconciler.ownership.is_managed`). Of several
live tasks that could be one desired task, the oldest is (`oldest_first`: by `metadata.createdAt`,
then id). Each desired task is, in this order:

1. by name: the oldest managed live task of its name; later managed ones of the name are
   duplicates (the plan deletes them);
2. by rename: else the oldest managed live task, not yet taken, of a name in its `renamedFrom`
   that no desired task has (later ones of that name are duplicates too);
3. by migration: else the live task the service made from its `migrateFrom` legacy reload-task,
   when not yet taken: managed, adopted with --adopt, otherwise a conflict;
4. by adoption: else the oldest unmanaged live task of its name: adopted with --adopt, otherwise
   a conflict;
5. else no live task: apply creates it (or migrates it from its legacy reload-task).

Desired tasks are matched in the order given, so an earlier one takes a live task first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.load import LoadedTask
from reconciler.ownership import Verdict, is_managed, may_write, migrated_from


def oldest_first(doc: Mapping[str, Any]) -> tuple[str, str]:
    """The sort key that puts the oldest live task first: its creation time, then its id."""
    meta = doc.get("metadata") or {}
    return (str(meta.get("createdAt") or ""), str(doc.get("id") or ""))


class How(StrEnum):
    """How a desired task found its live task (NONE: it did not)."""

    NAME = "name"
    RENAME = "rename"
    MIGRATED = "migrated"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Match:
    """The live task one desired task is, and how it was found. `renamed_from` is the old name of
    a rename; `migrated` says the live task was found by the desired task's `migrateFrom`."""

    live: dict[str, Any] | None = None
    how: How = How.NONE
    renamed_from: str = ""
    migrated: bool = False

    @property
    def task_id(self) -> str | None:
        return None if self.live is None else str(self.live.get("id"))

    @property
    def holds(self) -> bool:
        """The desired task is this live task (found, and not in conflict with it)."""
        return self.live is not None and self.how is not How.CONFLICT


@dataclass(slots=True)
class Listing:
    """The live tasks by name, managed and unmanaged apart, each group oldest first; and the live
    tasks the service made from a legacy reload-task, by its id (the last listed of an id)."""

    managed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unmanaged: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    migrated: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, live: Iterable[Mapping[str, Any]], marker: str) -> Listing:
        managed: dict[str, list[dict[str, Any]]] = defaultdict(list)
        unmanaged: dict[str, list[dict[str, Any]]] = defaultdict(list)
        migrated: dict[str, dict[str, Any]] = {}
        for doc in live:
            held = dict(doc)
            (managed if is_managed(held, marker) else unmanaged)[str(held.get("name"))].append(held)
            origin = migrated_from(held)
            if origin:
                migrated[origin] = held
        for group in (*managed.values(), *unmanaged.values()):
            group.sort(key=oldest_first)
        return cls(dict(managed), dict(unmanaged), migrated)

    @property
    def managed_count(self) -> int:
        return sum(len(group) for group in self.managed.values())


@dataclass(slots=True)
class Matching:
    """Every desired task's match (by name), the managed live tasks that are duplicates of a
    matched one (with the one kept), and the ids of the live tasks matched."""

    listing: Listing
    matches: dict[str, Match] = field(default_factory=dict)
    duplicates: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    claimed: set[str] = field(default_factory=set)

    def ids(self) -> dict[str, str]:
        """Desired name → the id of the live task it holds: how upstream names resolve."""
        return {name: str(m.task_id) for name, m in self.matches.items() if m.holds}


def match(
    tasks: Sequence[LoadedTask],
    live: Iterable[Mapping[str, Any]],
    marker: str,
    *,
    adopt: bool = False,
) -> Matching:
    """Which live task each of `tasks` is (see the module's rules)."""
    found = Matching(Listing.of(live, marker))
    listing, claimed = found.listing, found.claimed
    desired_names = {t.name for t in tasks}
    for task in tasks:
        one = Match()
        own = listing.managed.get(task.name, [])
        if own:
            one = Match(own[0], How.NAME)
            found.duplicates.extend((extra, own[0]) for extra in own[1:])
        if one.live is None:
            for old in task.spec.renamedFrom:
                candidates = [d for d in listing.managed.get(old, []) if d["id"] not in claimed]
                if candidates and old not in desired_names:
                    one = Match(candidates[0], How.RENAME, renamed_from=old)
                    found.duplicates.extend((extra, candidates[0]) for extra in candidates[1:])
                    break
        origin = task.spec.migrateFrom
        if one.live is None and origin and origin in listing.migrated:
            candidate = listing.migrated[origin]
            if candidate["id"] not in claimed:
                verdict = may_write(
                    candidate, marker, adopt=adopt, name=task.name, migrate_from=origin
                )
                how = {Verdict.MANAGED: How.MIGRATED, Verdict.ADOPT: How.ADOPT}.get(
                    verdict, How.CONFLICT
                )
                one = Match(candidate, how, migrated=True)
        if one.live is None and listing.unmanaged.get(task.name):
            holder = listing.unmanaged[task.name][0]
            verdict = may_write(holder, marker, adopt=adopt, name=task.name)
            one = Match(holder, How.ADOPT if verdict is Verdict.ADOPT else How.CONFLICT)
        if one.live is not None:
            claimed.add(str(one.live["id"]))
        found.matches[task.name] = one
    return found


def managed_ids(live: Iterable[Mapping[str, Any]], marker: str) -> dict[str, str]:
    """Name → id of the managed live tasks (the oldest of a name): how upstream names resolve
    when there are no desired tasks to match."""
    return {
        name: str(group[0].get("id")) for name, group in Listing.of(live, marker).managed.items()
    }
