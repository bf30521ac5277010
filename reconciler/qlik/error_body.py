"""The service's error answers, read into `ApiError`: `{"errors": [{"code", "title", "detail" |
"context", ...}], "traceId"}`, with `code` a string (`CHO-014`, `HTTP-429`) or an integer; anything
else (HTML from a gateway, plain text, nothing) still becomes one readable line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reconciler.errors import ApiError

Scrub = Callable[[str], str]

_MAX_TEXT = 300
_SPACES = re.compile(r"\s+")


def _clean(value: object, scrub: Scrub) -> str | None:
    """A one-line, bounded, secret-free rendering of a text field; None for empty or non-text."""
    if not isinstance(value, str):
        return None
    text = _SPACES.sub(" ", value).strip()
    if not text:
        return None
    text = scrub(text)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _code(value: object, scrub: Scrub) -> str | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return _clean(value, scrub)


def _fields(doc: dict[str, Any], scrub: Scrub) -> dict[str, Any]:
    errors = doc.get("errors")
    first: dict[str, Any] = doc
    more = 0
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        more = len(errors) - 1
    detail = _clean(first.get("detail"), scrub) or _clean(first.get("context"), scrub)
    if detail is None and first is doc:
        detail = _clean(doc.get("message"), scrub)
    if more:
        detail = f"{detail or ''} (+{more} more error{'s' if more > 1 else ''})".strip()
    trace = doc.get("traceId", doc.get("traceid"))
    return {
        "code": _code(first.get("code"), scrub),
        "title": _clean(first.get("title"), scrub) or _clean(first.get("error"), scrub),
        "detail": detail,
        "trace_id": _clean(trace, scrub),
    }


def api_error(
    method: str,
    path: str,
    status: int,
    *,
    body: bytes,
    content_type: str,
    reason: str,
    scrub: Scrub,
    cls: type[ApiError] = ApiError,
) -> ApiError:
    """The error for an answer with `status` and `body`; `path` carries no query string."""
    doc: object = None
    if body.strip():
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            doc = None
    if isinstance(doc, dict):
        fields = _fields(doc, scrub)
        if fields["title"] is None and fields["code"] is None:
            fields["title"] = _clean(reason, scrub)
        return cls(method, path, status, **fields)
    detail = None
    kind = content_type.split(";", 1)[0].strip().lower()
    if body.strip() and kind not in ("text/html", "application/xhtml+xml") and doc is None:
        detail = _clean(body.decode("utf-8", errors="replace"), scrub)
    return cls(method, path, status, title=_clean(reason, scrub), detail=detail)


def with_note(error: ApiError, note: str) -> ApiError:
    """The same error with `note` added to its detail ("gave up after 6 attempts", ...)."""
    detail = f"{error.detail}; {note}" if error.detail else note
    return type(error)(
        error.method,
        error.path,
        error.status,
        code=error.code,
        title=error.title,
        detail=detail,
        trace_id=error.trace_id,
    )
