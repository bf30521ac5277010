"""Who a task runs as: owners by name, declared owners (`owner:` in a task file, or the
environment's `defaults: {owner: ...}`), the plan's ownership moves, and the writes made as a
task's owner.

In Qlik Cloud, creating a task makes the caller its owner, and PATCH and PUT move ownership to the
caller; the owner's script context runs the reload. Pure: the people come in as data (read through
the users API elsewhere); nothing is read or sent here. Terminology:

- caller: the identity the tool connects as (an API key's user, or an OAuth client's bot user).
- writer: who makes a task's writes: its declared owner (acted as through OAuth user
  impersonation), else the caller.
- ownership move: a write by someone other than the task's owner; the task then belongs to them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler import normalize
from reconciler.config import DefaultOwner
from reconciler.disabled import by_hand, enabling_words
from reconciler.errors import Problem
from reconciler.load import LoadedTask
from reconciler.plan import Action, Kind, Plan

ACTING_STATUSES = frozenset({"active", "provisioned"})
OWNER_FIELD = "owner"
"""The pseudo-field of an update that moves only ownership (nothing in the document changes)."""


@dataclass(frozen=True, slots=True)
class Person:
    """A user of the tenant, as the users API describes them."""

    id: str
    name: str
    status: str = "active"
    subject: str = ""
    email: str = ""

    @classmethod
    def from_user(cls, doc: Mapping[str, Any]) -> Person:
        def text(key: str) -> str:
            value = doc.get(key)
            return value if isinstance(value, str) else ""

        user_id = text("id")
        return cls(
            user_id,
            text("name") or text("email") or user_id,
            text("status"),
            text("subject"),
            text("email"),
        )

    @classmethod
    def unknown(cls, user_id: str) -> Person:
        return cls(user_id, f"unknown user {user_id}", "unknown")

    @property
    def can_act(self) -> bool:
        return self.status.casefold() in ACTING_STATUSES

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}


@dataclass(slots=True)
class Identities:
    """What the tenant said about people: the caller, every owner by id, each declared owner value
    resolved (None: no such user), and why the client may not act as a person (None: it may)."""

    caller: Person
    people: dict[str, Person] = field(default_factory=dict)
    resolved: dict[str, Person | None] = field(default_factory=dict)
    refusals: dict[str, str | None] = field(default_factory=dict)
    oauth: bool = False

    def person(self, user_id: str | None) -> Person | None:
        if not user_id:
            return None
        return self.people.get(user_id) or Person.unknown(user_id)


@dataclass(frozen=True, slots=True)
class Declared:
    """One task's declared owner as written, and where (the task file's line, or the default's)."""

    spec: str
    path: str
    line: int
    column: int

    def problem(self, message: str) -> Problem:
        return Problem(self.path, self.line, self.column, message)


def declared_owners(
    tasks: Sequence[LoadedTask], default: DefaultOwner | None
) -> dict[str, Declared]:
    """Task name → its declared owner: `owner:` of its file, else the environment's default."""
    out: dict[str, Declared] = {}
    for task in tasks:
        spec = getattr(task.spec, "owner", None)
        if spec:
            line, column = task.source.where(("owner",))
            out[task.name] = Declared(spec, task.path, line, column)
        elif default is not None:
            out[task.name] = Declared(default.spec, default.path, default.line, default.column)
    return out


def owner_problems(
    declared: Mapping[str, Declared], ids: Identities, *, acting: bool = True
) -> list[Problem]:
    """Why the caller cannot make each declared owner the owner of its task: one located
    problem per task, saying what to change. Without `acting`, only owners that are no user or
    cannot own tasks (what a report that writes nothing still needs to say)."""
    problems: list[Problem] = []
    caller = ids.caller.name
    for name, want in declared.items():
        person = ids.resolved.get(want.spec)
        task = f"task {name!r}: owner {want.spec!r}"
        if person is None:
            problems.append(
                want.problem(
                    f"{task} is not a user of this tenant (or names more than one); give the "
                    "user's email, subject or user id as the users API knows it"
                )
            )
        elif not person.can_act:
            problems.append(
                want.problem(
                    f"{task} is {person.name}, whose account is {person.status or 'not active'}: "
                    "a disabled user cannot own or run tasks; choose an active user, or activate "
                    "the account"
                )
            )
        elif person.id == ids.caller.id or not acting:
            continue
        elif not ids.oauth:
            problems.append(
                want.problem(
                    f"{task}: an API key always acts as its own user ({caller}), so the task "
                    f"would belong to {caller}, not {person.name}; connect with an OAuth client "
                    "allowed user impersonation (QLIK_CLIENT_ID, QLIK_CLIENT_SECRET), or remove "
                    f"`owner:` to let {caller} own it"
                )
            )
        elif ids.refusals.get(person.id):
            problems.append(
                want.problem(
                    f"{task}: the OAuth client cannot act as {person.name} "
                    f"({ids.refusals[person.id]}); allow the client the grant type "
                    "urn:qlik:oauth:user-impersonation in the tenant's OAuth client settings, or "
                    f"remove `owner:` to let {caller} own the task"
                )
            )
    return problems


@dataclass(slots=True)
class Owners:
    """Who owns and who writes: the people known, and each task's declared owner (resolved)."""

    ids: Identities
    declared: dict[str, Person] = field(default_factory=dict)

    @classmethod
    def of(cls, ids: Identities, declared: Mapping[str, Declared]) -> Owners:
        wanted = {
            name: person
            for name, want in declared.items()
            if (person := ids.resolved.get(want.spec)) is not None
        }
        return cls(ids, wanted)

    @property
    def caller(self) -> Person:
        return self.ids.caller

    def writer(self, task_name: str) -> Person:
        return self.declared.get(task_name, self.ids.caller)

    def owner_of(self, doc: Mapping[str, Any] | None) -> Person | None:
        meta = (doc or {}).get("metadata")
        return self.ids.person(meta.get("ownerId") if isinstance(meta, dict) else None)


def move_words(action: Action) -> str | None:
    """`owner: Anna Berg → qlik-gitops (reloads will run as qlik-gitops)` when the action moves
    ownership, else None."""
    before, after = action.owner_before, action.owner_after
    if not before or not after or before.get("id") == after.get("id"):
        return None
    return (
        f"owner: {before.get('name')} → {after.get('name')} "
        f"(reloads will run as {after.get('name')})"
    )


def owner_notes(action: Action) -> list[str]:
    """What apply says of a write's owner: the move, or whom it wrote as."""
    move = move_words(action)
    if move is not None:
        return [move]
    if action.act_as and action.owner_after:
        return [f"written as {action.owner_after.get('name')}"]
    return []


def moves(plan: Plan) -> int:
    """How many actions of the plan move a task to another owner."""
    return sum(1 for a in plan.actions if move_words(a) is not None)


def annotate(
    plan: Plan,
    tasks: Sequence[LoadedTask],
    live: Sequence[Mapping[str, Any]],
    owners: Owners,
) -> None:
    """Give every action its owner before and after, the user it writes as, and add an update for
    each task whose owner is not its declared owner while nothing else differs (the live task of
    each is the one the plan matched it to)."""
    by_id = {str(d.get("id")): d for d in live}
    for action in plan.actions:
        doc = by_id.get(action.task_id or "")
        before = owners.owner_of(doc)
        action.owner_before = before.to_json() if before else None
        # A migration finished on its task (nothing but the legacy delete) writes no task.
        writes = action.creates or (
            action.updates and (action.kind is Kind.UPDATE or bool(action.patch))
        )
        if not writes:
            continue
        writer = owners.writer(action.name)
        action.owner_after = writer.to_json()
        if writer.id != owners.caller.id:
            action.act_as = acting_key(writer)
        code = ((doc or {}).get("metadata") or {}).get("disabledCode")
        enables = "enabled" in action.fields and (action.after or {}).get("enabled") is True
        if enables and code and not by_hand(str(code)):
            action.notes.append(enabling_words(str(code), writer.name))
    touched = {a.name for a in plan.actions}
    updates: list[Action] = []
    for task in tasks:
        name = task.name
        if name in touched or name not in owners.declared:
            continue
        update = _owner_update(task, _held(plan, name), owners)
        if update is not None:
            updates.append(update)
    first_delete = next(
        (i for i, a in enumerate(plan.actions) if a.kind is Kind.DELETE), len(plan.actions)
    )
    plan.actions[first_delete:first_delete] = updates


def _owner_update(task: LoadedTask, doc: Mapping[str, Any] | None, owners: Owners) -> Action | None:
    want = owners.declared.get(task.name)
    have = owners.owner_of(doc)
    if doc is None or want is None or have is None or have.id == want.id:
        return None
    action = Action(
        Kind.UPDATE,
        task.name,
        f"owned by {have.name}; git declares {want.name} as its owner",
        source=task.path,
        task_id=str(doc.get("id")),
        # Any write makes the writer the owner: restating the name changes nothing else.
        patch=[{"op": "replace", "path": "/name", "value": doc.get("name")}],
        fields=[OWNER_FIELD],
        remote_fingerprint=normalize.fingerprint(doc),
    )
    action.owner_before, action.owner_after = have.to_json(), want.to_json()
    if want.id != owners.caller.id:
        action.act_as = acting_key(want)
    return action


def acting_key(person: Person) -> str:
    """How apply names the user it writes as: `subject:<subject>`, else `userId:<id>` (the two
    `user_lookup` fields of the impersonation grant)."""
    return f"subject:{person.subject}" if person.subject else f"userId:{person.id}"


def acting_lookup(act_as: str) -> tuple[str, str]:
    """(field, value) of an action's `act_as`."""
    field, _, value = act_as.partition(":")
    return (field, value) if field in ("subject", "userId") else ("userId", act_as)


def _held(plan: Plan, name: str) -> Mapping[str, Any] | None:
    """The live task the plan matched the task of git `name` to, when it holds one."""
    match = plan.matches.get(name)
    return match.live if match is not None and match.holds else None
