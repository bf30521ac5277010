"""The plan's value types: what apply will do to each task (an Action of a Kind), the live tasks
the plan mentions without acting on them, the Plan with its summary, and the plan's Options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler import ignore
from reconciler.matching import Match


class Kind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    MIGRATE = "migrate"
    CONFLICT = "conflict"


class Verb(StrEnum):
    """What apply sends for an action: a new task (a create, or a migration that makes its task),
    a change to an existing task (an update, or a migration finished on the task it made), a
    delete, or nothing (a conflict, or an action whose kind and task id do not fit together)."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    NONE = "none"


SYMBOL = {
    Kind.CREATE: "+",
    Kind.UPDATE: "~",
    Kind.DELETE: "-",
    Kind.MIGRATE: ">",
    Kind.CONFLICT: "!",
}


@dataclass(slots=True)
class Action:
    """One thing apply will do to one task (a conflict is one it will not do)."""

    kind: Kind
    name: str
    reason: str
    source: str | None = None
    task_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    patch: list[dict[str, Any]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    upstreams: list[str] = field(default_factory=list)
    remote_fingerprint: str | None = None
    migrate_from: str | None = None
    delete_legacy: str | None = None
    enable: bool = False
    # Who owns the task before and after apply ({"id", "name"}), and the user whose token makes
    # its writes when that is not the caller (ownership.py); notes are further plain words.
    owner_before: dict[str, str] | None = None
    owner_after: dict[str, str] | None = None
    act_as: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def symbol(self) -> str:
        return SYMBOL[self.kind]

    @property
    def verb(self) -> Verb:
        if self.kind is Kind.DELETE:
            return Verb.DELETE
        if self.kind in (Kind.CREATE, Kind.MIGRATE) and self.task_id is None:
            return Verb.CREATE
        if self.kind in (Kind.UPDATE, Kind.MIGRATE) and self.task_id is not None:
            return Verb.UPDATE
        return Verb.NONE

    @property
    def creates(self) -> bool:
        """Apply makes a new task for this action."""
        return self.verb is Verb.CREATE

    @property
    def updates(self) -> bool:
        """Apply changes an existing task (its `task_id`) for this action."""
        return self.verb is Verb.UPDATE

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.kind.value,
            "name": self.name,
            "task_id": self.task_id,
            "source": self.source,
            "reason": self.reason,
            "before": self.before,
            "after": self.after,
            "patch": self.patch,
            "fields": self.fields,
            "upstreams": self.upstreams,
            "remote_fingerprint": self.remote_fingerprint,
            "migrate_from": self.migrate_from,
            "delete_legacy": self.delete_legacy,
            "enable": self.enable,
            "owner_before": self.owner_before,
            "owner_after": self.owner_after,
            "act_as": self.act_as,
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        return cls(
            kind=Kind(data["action"]),
            name=data["name"],
            reason=data.get("reason", ""),
            source=data.get("source"),
            task_id=data.get("task_id"),
            before=data.get("before"),
            after=data.get("after"),
            patch=list(data.get("patch") or []),
            fields=list(data.get("fields") or []),
            upstreams=list(data.get("upstreams") or []),
            remote_fingerprint=data.get("remote_fingerprint"),
            migrate_from=data.get("migrate_from"),
            delete_legacy=data.get("delete_legacy"),
            enable=bool(data.get("enable")),
            owner_before=_person(data.get("owner_before")),
            owner_after=_person(data.get("owner_after")),
            act_as=data.get("act_as"),
            notes=[str(n) for n in data.get("notes") or []],
        )


def _person(value: Any) -> dict[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    return {"id": str(value.get("id", "")), "name": str(value.get("name", ""))}


@dataclass(frozen=True, slots=True)
class RemoteTask:
    """A live task the plan mentions without acting on it (unmanaged ones, legacy ones)."""

    id: str
    name: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "detail": self.detail}


@dataclass(slots=True)
class Plan:
    """The actions apply takes, in order, and what the plan saw: the live tasks it lists without
    acting on them, and which live task each desired task is (`matches`, by desired name: those
    with nothing to change too; a plan read from a file has none)."""

    actions: list[Action] = field(default_factory=list)
    unmanaged: list[RemoteTask] = field(default_factory=list)
    legacy: list[RemoteTask] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    managed_count: int = 0
    ignored: int = 0  # differences that ignoreDifferences says are not changes
    matches: dict[str, Match] = field(default_factory=dict)

    def of(self, kind: Kind) -> list[Action]:
        return [a for a in self.actions if a.kind is kind]

    @property
    def conflicts(self) -> list[Action]:
        return self.of(Kind.CONFLICT)

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.kind is not Kind.CONFLICT]

    @property
    def has_changes(self) -> bool:
        """Conflicts count: the tenant does not match git."""
        return bool(self.actions)

    def summary(self) -> dict[str, int]:
        return {**{kind.value: len(self.of(kind)) for kind in Kind}, "ignored": self.ignored}

    def summary_line(self) -> str:
        if not self.has_changes:
            return "No changes. The tenant matches git." + self._ignored_note()
        s = self.summary()
        renames = sum(1 for a in self.of(Kind.UPDATE) if "name" in a.fields)
        update = f"{s['update'] - renames} to update" + (
            f", {renames} to rename" if renames else ""
        )
        line = (
            f"Plan: {s['create']} to create, {update}, {s['delete']} to delete, "
            f"{s['migrate']} to migrate."
        )
        if s["conflict"]:
            line += f" {s['conflict']} conflict(s) need --adopt or a rename."
        return line + self._ignored_note()

    def _ignored_note(self) -> str:
        if not self.ignored:
            return ""
        return f" {self.ignored} difference(s) ignored (ignoreDifferences)."


@dataclass(frozen=True, slots=True)
class Options:
    marker: str
    adopt: bool = False
    prune: bool = True
    keep_legacy: bool = False
    targets: tuple[str, ...] = ()
    ignore_rules: tuple[ignore.IgnoreRule, ...] = ()  # ignoreDifferences
