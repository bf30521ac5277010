"""The paged listing: every item of a list, across as many requests as its `links.next.href` asks
for, each sent through the send loop, within the bounds of the command (pages, items)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from reconciler.qlik import answers
from reconciler.qlik.sender import Check, JsonObject, Sender

__all__ = ["pages"]


async def pages(
    sender: Sender,
    operation: str,
    path: str,
    params: Mapping[str, str],
    *,
    missing_ok: bool = False,
    max_items: int | None = None,
    check: Check | None = None,
    acting: httpx.Auth | None = None,
) -> list[JsonObject] | None:
    """All items of a paged list, following `links.next.href` until it is absent. Any page
    failing fails the whole list: a short list would look like deleted tasks. `check` refuses
    a malformed item; a list longer than the bounds allow stops the command."""
    items: list[JsonObject] = []
    ids: set[str] = set()
    url: str | httpx.URL = path
    query: Mapping[str, str] | None = params
    seen: set[str] = set()
    while True:
        expected = frozenset({404}) if missing_ok and not seen else frozenset()
        response = await sender.send(
            operation, "GET", url, params=query, expected=expected, acting=acting
        )
        if response.status_code == 404:
            return None
        doc = sender.object(response)
        data = doc.get("data")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise sender.malformed(response, "the answer has no list of data")
        for index, item in enumerate(data):
            if check is not None:
                try:
                    check(item, len(items) + index)
                except answers.Malformed as exc:
                    raise sender.malformed(response, str(exc)) from None
            key = item.get("id")
            if not isinstance(key, str) or key not in ids:
                items.append(item)
                if isinstance(key, str):
                    ids.add(key)
        sender.budget.check_listing(_what(response), len(seen) + 1, len(items))
        if max_items is not None and len(items) >= max_items:
            return items[:max_items]
        href = _next_href(doc)
        if href is None:
            return items
        next_url = _on_tenant(sender.tenant_url, response.request.url, href)
        if next_url is None:
            raise sender.malformed(response, "the next page link is not a URL")
        if str(next_url) in seen:
            raise sender.malformed(response, "the next page link repeats a page")
        sender.budget.check_listing(_what(response), len(seen) + 2, len(items))
        seen.add(str(next_url))
        url, query = next_url, None


def _on_tenant(tenant_url: str, current: httpx.URL, href: str) -> httpx.URL | None:
    """A link (absolute, or relative to the page it came from) as a path and query on the
    tenant's own origin: whatever host a link names, the credentials only go to the tenant."""
    base = httpx.URL(tenant_url)
    try:
        url = current.join(href)
        return url.copy_with(scheme=base.scheme, host=base.host, port=base.port)
    except httpx.InvalidURL:
        return None


def _what(response: httpx.Response) -> str:
    return f"{response.request.method} {response.request.url.path}"


def _next_href(doc: JsonObject) -> str | None:
    links = doc.get("links")
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) and href.strip() else None
