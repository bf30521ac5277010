"""What a handler is given: the parsed request, and the tenant core (state, settings, runs) behind it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.config import Clock, EmulatorConfig
from reconciler.emulator.paging import Query, first
from reconciler.emulator.quirks import Active
from reconciler.emulator.replies import bad_request
from reconciler.emulator.rules import iso
from reconciler.emulator.runs import RunEngine
from reconciler.emulator.store import Doc, State


@dataclass
class Core:
    """The tenant behind every request; used only while the emulator's lock is held."""

    config: EmulatorConfig
    state: State
    clock: Clock
    new_id: Callable[[], str]
    engine: RunEngine
    # The quirks selected in `config.quirks`, resolved once.
    quirks: tuple[Active, ...] = ()
    # sha256(access token) -> (user id it acts as, expiry); in memory only, never in a file.
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    # The task listing in page order, with what it was sorted for (see tasks_api._task_page).
    listing: tuple[Any, list[Doc], list[Any]] | None = None

    def touch(self, item_id: str) -> None:
        """Record that `item_id` was just written (ties in sort order go to the newest write)."""
        self.state.seq += 1
        self.state.order[item_id] = self.state.seq

    def order_key(self, item_id: str) -> str:
        return f"{self.state.order.get(item_id, 0):012d}:{item_id}"


@dataclass
class Request:
    """One parsed request. `params` are the path parameters of the matched route."""

    core: Core
    method: str
    path: str
    query: Query
    headers: dict[str, str]
    body: bytes
    now: float
    params: dict[str, str] = field(default_factory=dict)
    user: str = ""

    @property
    def now_iso(self) -> str:
        return iso(self.now)

    def arg(self, name: str) -> str | None:
        return first(self.query, name)

    def json(self) -> Any:
        if not self.body.strip():
            raise bad_request("a JSON request body is required")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("the request body is not valid JSON") from None

    def json_object(self) -> Doc:
        body = self.json()
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        return body

    def flag(self, name: str) -> bool:
        raw = self.arg(name)
        if raw is None or raw == "":
            return False
        if raw.casefold() in ("true", "1"):
            return True
        if raw.casefold() in ("false", "0"):
            return False
        raise bad_request(f"{name} must be true or false")
