"""The port apply writes through: the task operations it asks of a tenant's client, as a Protocol.

The Qlik client (and the profiled client over it) satisfies it structurally; the core never imports
the client itself. Documents are the API's JSON objects; the operations keep the client's meaning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

__all__ = ["FindCreated", "TaskClient"]

FindCreated = Callable[[], Awaitable[dict[str, Any] | None]]
"""Asked after a create whose answer was lost: the task the create made, or None."""


class TaskClient(Protocol):
    """The task operations apply carries a plan out with."""

    def acting_as(self, field: str, value: str) -> TaskClient:
        """This client, writing as the user `field` (`subject` or `userId`) = `value` names."""
        ...

    async def find_tasks_by_name(self, name: str) -> list[dict[str, Any]]: ...

    async def get_task(self, task_id: str) -> dict[str, Any]: ...

    async def create_task(
        self,
        doc: dict[str, Any],
        migrate_from: str | None = None,
        *,
        find_created: FindCreated | None = None,
    ) -> dict[str, Any]: ...

    async def patch_task(
        self, task_id: str, ops: Sequence[dict[str, Any]]
    ) -> dict[str, Any] | None: ...

    async def delete_task(self, task_id: str) -> None: ...

    async def delete_legacy_reload_task(self, legacy_id: str) -> None: ...
