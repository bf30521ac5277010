"""Cursor pagination, sorting and `links` for every list endpoint.

Cursors are keyset cursors: an opaque token holding the sort key of the last (or first) item
shown, so a page never repeats or skips an item that did not change between requests. An item
whose sort key changes between two page requests may move across the cursor, as with any
keyset-paginated service.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from reconciler.emulator.replies import bad_request

T = TypeVar("T")
Query = list[tuple[str, str]]
NormKey = tuple[int, Any, str]
FullKey = tuple[NormKey, str]

MAX_LIMIT = 100
_RANK_TYPES: dict[int, tuple[type, ...]] = {0: (str,), 1: (int,), 2: (int, float), 3: (str,)}


def first(query: Query, name: str) -> str | None:
    """The first value of query parameter `name`, or None."""
    for key, value in query:
        if key == name:
            return value
    return None


def parse_limit(query: Query, default: int, maximum: int = MAX_LIMIT) -> int:
    raw = first(query, "limit")
    if raw is None:
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise bad_request(f"limit must be an integer between 1 and {maximum}, got '{raw}'")
    return limit


def parse_sort(raw: str | None, allowed: Sequence[str], default: str) -> tuple[str, bool]:
    """`+name` / `-name` / `name` -> (field, descending); fields outside `allowed` are refused."""
    value = (raw or default).strip()
    descending = value.startswith("-")
    name = value[1:] if value[:1] in "+-" and value else value
    for field in allowed:
        if field.casefold() == name.casefold():
            return field, descending
    choices = ", ".join(f"[+-]{field}" for field in allowed)
    raise bad_request(f"invalid sort '{value}': use one of {choices}")


def normalise(value: object) -> NormKey:
    """A totally ordered key for any JSON scalar (strings case-insensitive, ties by raw value)."""
    if value is None or value == "":
        return (0, "", "")
    if isinstance(value, bool):
        return (1, int(value), "")
    if isinstance(value, int | float):
        return (2, float(value), "")
    text = str(value) if not isinstance(value, str) else value
    return (3, text.casefold(), text)


def _encode(direction: str, key: FullKey) -> str:
    raw = json.dumps({"d": direction, "k": [list(key[0]), key[1]]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(token: str) -> tuple[str, FullKey]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        direction = data["d"]
        (rank, primary, raw), item_id = data["k"]
        kinds = _RANK_TYPES[int(rank)]
        if direction not in ("n", "p") or not isinstance(item_id, str):
            raise ValueError(direction)
        if not isinstance(primary, kinds) or not isinstance(raw, str):
            raise ValueError(primary)
        return direction, ((int(rank), primary, str(raw)), item_id)
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request(f"invalid page cursor '{token}'") from None


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None
    prev_cursor: str | None


def paginate(
    items: Sequence[T],
    key: Callable[[T], FullKey],
    *,
    descending: bool,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of `items` ordered by `key` (ties broken by the id in the key)."""
    ordered, keys = sort(items, key, descending=descending)
    return page_of(ordered, keys, descending=descending, limit=limit, cursor=cursor)


def sort(
    items: Sequence[T], key: Callable[[T], FullKey], *, descending: bool
) -> tuple[list[T], list[FullKey]]:
    """`items` in page order, and their keys; each key is computed once."""
    unsorted = [key(item) for item in items]
    order = sorted(range(len(unsorted)), key=unsorted.__getitem__, reverse=descending)
    return [items[i] for i in order], [unsorted[i] for i in order]


def page_of(
    ordered: Sequence[T],
    keys: Sequence[FullKey],
    *,
    descending: bool,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of items already in page order (`sort`); the cursor is found by bisection, so a
    page costs the same in a tenant of any size."""
    start, end = 0, min(limit, len(ordered))
    if cursor:
        direction, mark = _decode(cursor)
        if direction == "n":  # the first item beyond the mark
            start = _after(keys, mark, descending)
            end = min(start + limit, len(ordered))
        else:  # up to the mark, not included
            end = _before(keys, mark, descending)
            start = max(0, end - limit)
    page = list(ordered[start:end])
    next_cursor = _encode("n", keys[end - 1]) if end < len(ordered) and end > 0 else None
    prev_cursor = _encode("p", keys[start]) if start > 0 and start < len(ordered) else None
    return Page(page, next_cursor, prev_cursor)


def _after(keys: Sequence[FullKey], mark: FullKey, descending: bool) -> int:
    """Index of the first key past `mark` in page order (`mark` need not be in `keys`)."""
    if not descending:
        return bisect.bisect_right(keys, mark)
    return _first(keys, lambda k: k < mark)


def _before(keys: Sequence[FullKey], mark: FullKey, descending: bool) -> int:
    """Index of the first key at or past `mark` in page order."""
    if not descending:
        return bisect.bisect_left(keys, mark)
    return _first(keys, lambda k: k <= mark)


def _first(keys: Sequence[FullKey], past: Callable[[FullKey], bool]) -> int:
    """The first index whose key is `past`, for a `past` false then true along `keys`."""
    low, high = 0, len(keys)
    while low < high:
        middle = (low + high) // 2
        if past(keys[middle]):
            high = middle
        else:
            low = middle + 1
    return low


def links(
    path: str, query: Query, page: Page, page_param: str = "page", prev_param: str | None = None
) -> dict[str, dict[str, str]]:
    """`links.self/next/prev.href` as path+query, keeping every other query parameter."""
    cursor_params = {page_param, prev_param or page_param}

    def href(extra: Mapping[str, str]) -> str:
        kept = [(k, v) for k, v in query if k not in cursor_params]
        pairs = kept + list(extra.items())
        return f"{path}?{urlencode(pairs)}" if pairs else path

    own = urlencode(query)
    result = {"self": {"href": f"{path}?{own}" if own else path}}
    if page.next_cursor:
        result["next"] = {"href": href({page_param: page.next_cursor})}
    if page.prev_cursor:
        result["prev"] = {"href": href({prev_param or page_param: page.prev_cursor})}
    return result
