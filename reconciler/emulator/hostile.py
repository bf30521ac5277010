"""Answers a broken or hostile tenant gives, for the requests a fault rule selects: a listing that
is empty or omits tasks, a body with a duplicated key, pages that never end, an answer that
trickles in one byte at a time, a 429 asking for a long wait.

Each rewrites the answer the tenant would have given (the request is carried out as usual), so a
test states what goes wrong and nothing else: `Emulator.add_fault_rule(is_listing,
answer=Hostile(Shape.OMIT, omit=lambda task: task["name"] == "Sales load"), times=1)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

from reconciler.emulator.paging import Query, first
from reconciler.emulator.replies import JSON_TYPE, Reply, ServiceError, rate_limited
from reconciler.emulator.replies import scheduler_unavailable as _unavailable

ENDLESS_PARAM = "endlessPage"
"""The query parameter of the links an endless listing makes up (removed before the real
handler sees the request)."""


class Shape(StrEnum):
    EMPTY_LISTING = "empty-listing"  # {"data": []}: as if the tenant had no task
    DUPLICATE_DATA = "duplicate-data"  # the listing, then `"data": []` again in the same object
    OMIT = "omit"  # the listing without the items `omit` selects
    ENDLESS_PAGES = "endless-pages"  # every page links to one more, holding new copies of its items
    EDIT_ITEMS = "edit-items"  # each item of the listing passed through `edit` (a wrong type, ...)
    TRICKLE = "trickle"  # the answer as usual, one byte every `trickle_ms`


@dataclass(frozen=True)
class Hostile:
    """How a selected answer is rewritten."""

    shape: Shape
    omit: Callable[[dict[str, Any]], bool] | None = None
    edit: Callable[[dict[str, Any]], None] | None = None
    trickle_ms: float = 1000.0


def injected_failure(status: int, retry_after: int = 1) -> Reply:
    """The answer of an injected FAIL: the scheduler's 503, a 429 with `Retry-After`, or `status`."""
    if status == 503:
        return _unavailable().reply()
    if status == 429:
        return rate_limited(retry_after).reply()
    return ServiceError(status, f"injected fault (HTTP {status})").reply()


def request_query(hostile: Hostile | None, query: Query) -> Query:
    """The query the real handler sees: without the made-up page parameter."""
    if hostile is None or hostile.shape is not Shape.ENDLESS_PAGES:
        return query
    return [(key, value) for key, value in query if key != ENDLESS_PARAM]


def rewrite(hostile: Hostile, reply: Reply, path: str, query: Query) -> Reply:
    """`reply` as the hostile tenant gives it; answers that are not a listing stay as they are
    (but a trickle slows any answer)."""
    if hostile.shape is Shape.TRICKLE:
        reply.trickle_s = max(0.0, hostile.trickle_ms) / 1000.0
        return reply
    doc = reply.json() if reply.status == 200 and reply.body else None
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        return reply
    if hostile.shape is Shape.EMPTY_LISTING:
        links = doc.get("links") or {}
        return _json(reply, {"data": [], "links": {"self": links.get("self", {"href": path})}})
    if hostile.shape is Shape.DUPLICATE_DATA:
        body = json.dumps(doc, separators=(",", ":"))
        return Reply(reply.status, dict(reply.headers), (body[:-1] + ',"data":[]}').encode())
    if hostile.shape is Shape.OMIT:
        selected = hostile.omit or (lambda _: False)
        doc["data"] = [item for item in doc["data"] if not selected(item)]
        return _json(reply, doc)
    if hostile.shape is Shape.EDIT_ITEMS:
        for item in doc["data"]:
            if hostile.edit is not None and isinstance(item, dict):
                hostile.edit(item)
        return _json(reply, doc)
    page = int(first(query, ENDLESS_PARAM) or 0)
    doc["data"] = [{**item, "id": f"{item.get('id')}~{page}"} for item in doc["data"]]
    kept = [(k, v) for k, v in request_query(hostile, query) if k not in ("page", "next")]
    href = f"{path}?{urlencode([*kept, (ENDLESS_PARAM, str(page + 1))])}"
    doc["links"] = {"self": {"href": path}, "next": {"href": href}}
    return _json(reply, doc)


def _json(reply: Reply, doc: dict[str, Any]) -> Reply:
    body = json.dumps(doc, separators=(",", ":")).encode()
    return Reply(reply.status, {**reply.headers, "content-type": JSON_TYPE}, body)
