"""The exception tree and the exit codes every command shares.

    ReconcilerError                 one clear line for the user, no traceback
    ├── ProblemsFound               located problems in task files (validate, load)
    ├── ConfigError                 reconciler.yaml, flags, environment variables
    ├── ApiError                    the tenant answered with an error (qlik/ raises it)
    │   └── AmbiguousWriteError     a POST whose outcome is unknown (the connection dropped)
    ├── BoundExceeded               the tenant made the command meet one of its bounds
    ├── StalePlanError              a saved plan no longer matches the tenant (exit 3)
    └── GuardRefusedError           a safety guard refused (exit 4)

Anything else that escapes is a bug: the CLI says so, writes the traceback to a file and asks for a
report. Messages never contain secrets: the client builds them from status, code, title and trace id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every command (README: exit codes)."""

    OK = 0
    ERROR = 1
    CHANGES = 2
    STALE_PLAN = 3
    GUARD_REFUSED = 4


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a task file or the configuration: `path:line:col: message`."""

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        """One line, whatever the file name or the message holds: control characters (line
        breaks among them) are escaped, so no data can start a line of its own."""
        prefix = "warning: " if self.severity == "warning" else ""
        where = escape_controls(self.path)
        return f"{where}:{self.line}:{self.column}: {prefix}{escape_controls(self.message)}"


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def escape_controls(text: str) -> str:
    """`text` with control, line-separator and bidirectional-override characters as `\\uXXXX`."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ReconcilerError(Exception):
    """An expected failure: shown to the user as one line, exit code `exit_code`."""

    exit_code: ExitCode = ExitCode.ERROR


class ConfigError(ReconcilerError):
    """The configuration, a flag or an environment variable is wrong."""


class ProblemsFound(ReconcilerError):
    """Task files have problems; every problem is reported, nothing is sent."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        super().__init__(f"{len(errors)} problem(s) in the task files; nothing was sent")


class ApiError(ReconcilerError):
    """The tenant answered with an error, or could not be reached.

    `code` is the service's error code (`CHO-014`, `HTTP-429`, or an integer); `status` is 0 when no
    response arrived at all.
    """

    def __init__(
        self,
        method: str,
        path: str,
        status: int,
        *,
        code: str | int | None = None,
        title: str | None = None,
        detail: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail
        self.trace_id = trace_id
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.method} {self.path}"
        head = f"HTTP {self.status}" if self.status else "no response"
        parts = [f"{where}: {head}"]
        if self.code is not None:
            parts.append(str(self.code))
        text = ": ".join(parts)
        if self.title:
            text += f" {self.title}"
        if self.detail and self.detail != self.title:
            text += f" ({self.detail})"
        if self.trace_id:
            text += f" [traceId {self.trace_id}]"
        return text


class AmbiguousWriteError(ApiError):
    """A write was sent but no answer came back: it may or may not have happened.

    POST is never retried blindly; the caller resolves the ambiguity by listing.
    """


class BoundExceeded(ReconcilerError):
    """The tenant made the command meet one of its bounds (its deadline, the time it may be held
    back by 429s, the pages or items of a listing): the command stops, nothing more is sent."""


class StalePlanError(ReconcilerError):
    """A saved plan no longer matches the tenant; nothing was written."""

    exit_code = ExitCode.STALE_PLAN


class GuardRefusedError(ReconcilerError):
    """A safety guard refused to go on (mass delete, CI without a tenant, ...)."""

    exit_code = ExitCode.GUARD_REFUSED
