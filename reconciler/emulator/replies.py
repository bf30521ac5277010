"""What the emulator answers: the transport-independent reply, and errors in the service's shape.

Every error body is `{"errors": [{"code", "title", "detail"}], "traceId"}` (reference pages, error
responses); codes are the service's own (`CHO-014`, `HTTP-429`, `TASKS-404`, `RELOADS-001`, ...).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json"

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "API rate limit reached.",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Reply:
    """One answer: status, headers and body bytes, plus what the adapter must do around it.

    `delay_s` is latency the adapter waits before answering (outside the emulator's lock);
    `dropped` tells the adapter to close the connection without answering at all; `trickle_s`
    makes it send the body one byte at a time, this many seconds apart.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    dropped: bool = False
    trickle_s: float = 0.0

    def __post_init__(self) -> None:
        if not all(isinstance(v, str) for v in self.headers.values()):
            raise TypeError(
                "Reply(status, headers, body): use json_reply(status, payload) for JSON"
            )
        if not isinstance(self.body, bytes):
            raise TypeError("Reply.body is bytes: use json_reply(status, payload) for JSON")

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, {"content-type": JSON_TYPE, **(headers or {})}, body)


def text_reply(status: int, text: str) -> Reply:
    return Reply(status, {"content-type": "text/plain; charset=utf-8"}, text.encode())


def empty_reply(status: int = 204) -> Reply:
    return Reply(status)


def new_trace_id() -> str:
    return secrets.token_hex(16)


class ServiceError(Exception):
    """Raised by a handler to answer with an error; the router turns it into a Reply."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        code: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code or f"HTTP-{status}"
        self.title = title or _TITLES.get(status, "Error")
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}

    def reply(self) -> Reply:
        error = {"code": self.code, "title": self.title, "detail": self.detail}
        payload = {**self.extra, "errors": [error], "traceId": new_trace_id()}
        return json_reply(self.status, payload, self.headers)


def bad_request(detail: str, code: str | None = None) -> ServiceError:
    return ServiceError(400, detail, code=code)


def not_found(detail: str, code: str | None = None) -> ServiceError:
    return ServiceError(404, detail, code=code)


def rate_limited(retry_after: int) -> ServiceError:
    # Body and header as the service sends them (the rate-limit answer of the Qlik Cloud API).
    return ServiceError(
        429,
        f"You need to wait {retry_after} seconds until limit is lifted.",
        code="HTTP-429",
        title="API rate limit reached.",
        headers={"retry-after": str(retry_after)},
    )


def scheduler_unavailable() -> ServiceError:
    return ServiceError(
        503,
        "The scheduler is temporarily unavailable; retry after a short delay.",
        code="CHO-024",
        title="Scheduler unavailable",
    )


Handle = Callable[[str, str, str, dict[str, str], bytes], Reply]
"""What the adapters hand each request to: (method, path, raw query, headers, body) -> the reply.
The emulator's `handle` is one; the server and the transports know nothing else of it."""
