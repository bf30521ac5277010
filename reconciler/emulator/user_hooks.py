"""The emulator's test hooks for people: the users it knows, and what an admin does to a user or
to a task's owner in the hub. A mixin of `Emulator`, which holds the state and the lock."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from reconciler.emulator import rules, users_api
from reconciler.emulator.store import Doc, State

if TYPE_CHECKING:
    from reconciler.emulator.config import Clock, EmulatorConfig
    from reconciler.emulator.request import Core


class UserHooks:
    """Users of the local tenant, as tests and seeds see them."""

    config: EmulatorConfig
    clock: Clock
    _core: Core

    if TYPE_CHECKING:

        def _locked(self) -> AbstractContextManager[State]: ...

        def edit_task(
            self, task_id: str, fn: Callable[[Doc], Doc | None], *, touch: bool = True
        ) -> Doc: ...

    def _add_users(self, users: Sequence[Mapping[str, Any]]) -> None:
        for user in users:
            filled = users_api.fill_user(user, tenant_id=self.config.tenant_id, now=self.clock())
            self._core.state.users[filled["id"]] = filled
        self._core.state.dirty = True

    def users(self) -> list[Doc]:
        """Copies of every user the tenant knows (people, and identities that called it)."""
        with self._locked() as state:
            return copy.deepcopy(list(state.users.values()))

    def add_user(
        self, name: str, email: str = "", *, subject: str | None = None, status: str = "active"
    ) -> Doc:
        """Add a person to the tenant (or replace the one with that subject); returns the user."""
        subject = subject or f"local|{email or name}"
        with self._locked():
            doc = {"id": rules.user_id(f"subject:{subject}"), "name": name, "email": email}
            self._add_users([{**doc, "subject": subject, "status": status}])
            return copy.deepcopy(self._core.state.users[doc["id"]])

    def set_user_status(self, user_id: str, status: str) -> None:
        """Disable, delete or re-activate a user (KeyError for an unknown id)."""
        with self._locked() as state:
            if status not in users_api.STATUSES:
                raise ValueError(f"status must be one of {', '.join(users_api.STATUSES)}")
            state.users[user_id]["status"] = status
            state.dirty = True

    def change_owner(self, task_id: str, user_id: str) -> Doc:
        """What a change of owner in the hub does: the task belongs to `user_id`, its reloads run
        in that user's script context, and the task records who changed it and when."""

        def moved(doc: Doc) -> None:
            meta = doc.setdefault("metadata", {})
            meta.update(ownerId=user_id, scriptOwnerId=user_id, updatedBy=user_id)

        return self.edit_task(task_id, moved)
