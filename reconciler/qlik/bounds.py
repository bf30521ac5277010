"""How long and how much a command may take from the tenant: the bounds no answer can stretch.

    timeout     seconds for one request, from sending it to the last byte of its answer (a
                tenant that trickles one byte a second is cut off here, not after every byte)
    deadline    seconds for every request of the command together, waits and retries included
    max_wait    seconds the command may spend held back by `429 Too Many Requests`
    max_pages   pages one listing may take
    max_items   items one listing may hold
    max_bytes   bytes one answer may hold

Each is a setting (an environment variable, `RECONCILER_...`) with a default a real tenant never
meets; a tenant that makes the command meet one gets one clear line and exit 1. Pure: the client
enforces them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from reconciler.errors import BoundExceeded, ConfigError

VARIABLES = {
    "timeout": "RECONCILER_TIMEOUT",
    "deadline": "RECONCILER_DEADLINE",
    "max_wait": "RECONCILER_MAX_WAIT",
    "max_pages": "RECONCILER_MAX_PAGES",
    "max_items": "RECONCILER_MAX_ITEMS",
    "max_bytes": "RECONCILER_MAX_ANSWER_BYTES",
}


@dataclass(frozen=True, slots=True)
class Bounds:
    timeout: float = 60.0
    deadline: float = 3600.0
    max_wait: float = 300.0
    max_pages: int = 1000
    max_items: int = 50_000
    max_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(
                    f"{VARIABLES[item.name]} must be a positive number, not {value!r}"
                )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Bounds:
        """The bounds set in the environment; the defaults for those that are not."""
        values: dict[str, float | int] = {}
        for item in fields(cls):
            name = VARIABLES[item.name]
            raw = environ.get(name, "").strip()
            if not raw:
                continue
            whole = item.name.startswith("max_") and item.name != "max_wait"
            try:
                value: float | int = int(raw) if whole else float(raw)
            except ValueError:
                value = math.nan
            if not (value > 0 and math.isfinite(value)):
                kind = "a positive whole number" if whole else "a positive number of seconds"
                raise ConfigError(f"{name} must be {kind}, not {raw[:40]!r}")
            values[item.name] = value
        return cls(**values)  # type: ignore[arg-type]


class Budget:
    """The bounds of one command as it runs, on the client's clock: what is left of its
    deadline, and how long 429s have held it back. Each refusal is a `BoundExceeded` whose
    message is the user's line (`what` names the request: `GET /api/scheduling/tasks`)."""

    def __init__(self, bounds: Bounds, clock: Callable[[], float]) -> None:
        self.bounds = bounds
        self._clock = clock
        self.deadline = clock() + bounds.deadline
        self.held = 0.0

    def request_seconds(self) -> float:
        """How long the next request may take: its own bound, or what is left of the deadline."""
        return max(0.0, min(self.bounds.timeout, self.deadline - self._clock()))

    def check_deadline(self, what: str) -> None:
        if self._clock() >= self.deadline:
            raise BoundExceeded(
                f"{what}: the command ran out of time: {VARIABLES['deadline']} allows "
                f"{self.bounds.deadline:g} s for all its requests; stopped, nothing more was sent"
            )

    def hold(self, what: str, seconds: float, blocked_until: float) -> None:
        """A 429 asks for `seconds` more while the tier is blocked until `blocked_until`: count
        the time it adds, and stop once the total passes `max_wait` (or the deadline)."""
        now = self._clock()
        longer = max(0.0, now + seconds - max(now, blocked_until))
        if self.held + longer <= self.bounds.max_wait and now + seconds < self.deadline:
            self.held += longer
            return
        raise BoundExceeded(
            f"{what}: the tenant keeps answering 429 Too Many Requests (Retry-After "
            f"{seconds:g} s) after holding the command back {self.held:g} s; "
            f"{VARIABLES['max_wait']} allows {self.bounds.max_wait:g} s: stopped, nothing more "
            "was sent. Run it again later"
        )

    def check_listing(self, what: str, pages: int, items: int) -> None:
        for bound, count, unit in (("max_pages", pages, "pages"), ("max_items", items, "items")):
            allowed = getattr(self.bounds, bound)
            if count > allowed:
                raise BoundExceeded(
                    f"{what}: the listing has more than {allowed} {unit} ({VARIABLES[bound]}): "
                    "stopped, nothing was changed"
                )

    def timed_out(self, seconds: float) -> str:
        """Why a request was cut off: its own bound, or the end of the command's deadline."""
        if seconds < self.bounds.timeout:
            return f"no whole answer within {seconds:.3g} s, the rest of {VARIABLES['deadline']}"
        return f"no whole answer within {seconds:g} s ({VARIABLES['timeout']})"

    def too_large(self) -> str:
        return f"the answer is longer than {VARIABLES['max_bytes']}={self.bounds.max_bytes} bytes"
