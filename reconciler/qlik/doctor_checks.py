"""The read-only checks of `reconciler doctor`, over HTTP: `auth`, `identity`, `list`, `legacy`,
`apps` and `limits`. Every request here is a GET: the doctor changes nothing without `--probe`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.doctor import (
    READ_ONLY,
    Check,
    Status,
    apps_check,
    legacy_check,
    limits_check,
    not_checked,
    page_check,
)
from reconciler.errors import ApiError
from reconciler.owners import Person
from reconciler.qlik import users
from reconciler.qlik.client import TASKS, JsonObject, TenantClient

USERS_ME = f"{users.USERS}/me"


@dataclass(slots=True)
class ReadOnly:
    """The read-only checks, the live tasks they listed, and the page limit the tenant accepts
    when it refused the profile's (None when it did not)."""

    checks: list[Check] = field(default_factory=list)
    live: list[JsonObject] = field(default_factory=list)
    page_limit: int | None = None
    reachable: bool = True


async def read_only(
    client: TenantClient, *, app_ids: Sequence[str] | None, oauth: bool, page_limit: int
) -> ReadOnly:
    """Run the read-only checks in order; once the credentials are refused the rest are not
    checked (each would only repeat the refusal)."""
    out = ReadOnly()
    auth = await _auth(client)
    out.checks.append(auth)
    if auth.status is Status.FAIL:
        out.reachable = False
        out.checks.extend(not_checked(READ_ONLY[1:], "the credentials were refused"))
        return out
    out.checks.append(await _identity(client, oauth))
    out.checks.append(await _list(client, page_limit, out))
    out.checks.append(await _legacy(client))
    out.checks.append(await _apps(client, app_ids))
    out.checks.append(limits_check(out.live))
    return out


async def _auth(client: TenantClient) -> Check:
    expected = "the credentials are accepted"
    try:
        response = await client._send(
            "doctor_auth", "GET", TASKS, params={"limit": "1"}, expected=frozenset({401, 403})
        )
    except ApiError as error:
        return Check("auth", Status.FAIL, expected, "no answer", error.one_line())
    if response.status_code == 401:
        detail = "check QLIK_API_KEY, or QLIK_CLIENT_ID and QLIK_CLIENT_SECRET"
        return Check("auth", Status.FAIL, expected, "refused (HTTP 401)", detail)
    if response.status_code == 403:
        detail = "the identity may not read scheduling tasks"
        return Check("auth", Status.FAIL, expected, "forbidden (HTTP 403)", detail)
    return Check("auth", Status.OK, expected, f"accepted by {client.tenant_url}")


async def _identity(client: TenantClient, oauth: bool) -> Check:
    expected = "the user the tool acts as (users/me)"
    try:
        response = await client._send("users_me", "GET", USERS_ME, expected=frozenset({403, 404}))
    except ApiError as error:
        return Check("identity", Status.WARN, expected, "unknown", error.one_line())
    if response.status_code in (403, 404):
        return Check(
            "identity",
            Status.WARN,
            expected,
            f"unknown (HTTP {response.status_code})",
            "tasks will be owned by whoever the credentials belong to",
        )
    person = Person.from_user(client._object(response))
    who = f"{person.name} ({person.id})"
    if not oauth:
        return Check(
            "identity",
            Status.OK,
            expected,
            who,
            "an API key acts only as its user: tasks are created and run as them",
        )
    refused = await users.acting_check(client, person)
    if refused is None:
        return Check("identity", Status.OK, expected, who, "may impersonate users")
    return Check(
        "identity",
        Status.WARN,
        expected,
        who,
        f"may not impersonate users ({refused}): tasks are created and run as this client",
    )


async def _list(client: TenantClient, asked: int, out: ReadOnly) -> Check:
    try:
        first = await _page(client, asked)
        largest = None
        if first is None:
            largest = await _largest_limit(client, asked)
            out.page_limit = largest
        limit = largest or asked
        out.live = (
            await client._pages("doctor_list", TASKS, {"limit": str(limit), "sort": "+createdAt"})
            or []
        )
    except ApiError as error:
        expected = f"a listing in pages of {asked}"
        return Check("list", Status.FAIL, expected, "failed", error.one_line())
    short = None
    if first is not None:
        items, more = first
        if more and 0 < items < asked:
            short = items
    if largest is None and short is not None:
        out.page_limit = short
    if out.page_limit is not None:
        client.page_limit = out.page_limit  # the doctor's other listings use what works
    return page_check(asked, largest, short, len(out.live))


async def _page(client: TenantClient, limit: int) -> tuple[int, bool] | None:
    """One page at `limit`: how many items and whether more follow; None when it is refused."""
    response = await client._send(
        "doctor_list",
        "GET",
        TASKS,
        params={"limit": str(limit), "sort": "+createdAt"},
        expected=frozenset({400, 422}),
    )
    if response.status_code in (400, 422):
        return None
    doc: dict[str, Any] = client._object(response)
    data = doc.get("data")
    links = doc.get("links")
    more = isinstance(links, dict) and isinstance(links.get("next"), dict)
    return (len(data) if isinstance(data, list) else 0), more


async def _largest_limit(client: TenantClient, refused: int) -> int | None:
    """The largest page limit below `refused` that the tenant accepts (a bisection)."""
    low, high = 0, refused  # low: accepted (0: none yet); high: refused
    while high - low > 1:
        middle = (low + high) // 2
        if await _page(client, middle) is None:
            high = middle
        else:
            low = middle
    if low == 0:
        raise ApiError("GET", TASKS, 400, title="the tenant refuses every page limit")
    return low


async def _legacy(client: TenantClient) -> Check:
    try:
        legacy = await TenantClient.list_legacy_reload_tasks(client)
    except ApiError as error:
        return Check("legacy", Status.WARN, "answers, or is gone (404)", "failed", error.one_line())
    return legacy_check(legacy)


async def _apps(client: TenantClient, app_ids: Sequence[str] | None) -> Check:
    apps: dict[str, JsonObject | None] = {}
    for app_id in app_ids or ():
        try:
            answer = await client.get_app(app_id)
        except ApiError as error:
            expected = "every app of the task files exists and may be reloaded"
            return Check("apps", Status.FAIL, expected, f"{app_id}: failed", error.one_line())
        apps[app_id] = _app_record(answer)
    return apps_check(app_ids, apps)


def _app_record(answer: JsonObject | None) -> JsonObject | None:
    """`{attributes, privileges}` as one record: the app's attributes and what the caller may do."""
    if answer is None:
        return None
    attributes = answer.get("attributes")
    record = dict(attributes) if isinstance(attributes, dict) else {}
    if "privileges" in answer:
        record["privileges"] = answer["privileges"]
    return record
