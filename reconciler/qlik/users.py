"""The users API through the client: who the caller is (`GET /api/v1/users/me`), a user by id
(`GET /api/v1/users/{id}`), users by a SCIM filter (`GET /api/v1/users?filter=`), and the
identities a plan needs (every owner once, each declared owner resolved and, with an OAuth client,
checked to be one the client may act as). `live.LiveReader.owners` asks for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from reconciler.errors import ApiError
from reconciler.owners import (
    Identities,
    Person,
)
from reconciler.qlik.client import TenantClient, _quoted, scim_string

USERS = "/api/v1/users"
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


async def me(client: TenantClient) -> Person:
    """The user the client acts as."""
    response = await client._send("users_me", "GET", f"{USERS}/me")
    return Person.from_user(client._object(response))


async def get_user(client: TenantClient, user_id: str) -> Person | None:
    """The user with this id, or None when the tenant does not know it (404)."""
    path = f"{USERS}/{_quoted(user_id)}"
    response = await client._send("get_user", "GET", path, expected=frozenset({403, 404}))
    if response.status_code in (403, 404):
        return None
    return Person.from_user(client._object(response))


async def find_users(client: TenantClient, field: str, value: str) -> list[Person]:
    """Users whose `field` (id, subject, name, email, status) equals `value` (all pages)."""
    params = {"limit": str(client.page_limit), "filter": f"{field} eq {scim_string(value)}"}
    found = await client._pages("find_users", USERS, params)
    return [Person.from_user(doc) for doc in found or []]


async def resolve(client: TenantClient, spec: str) -> Person | None:
    """The user an `owner:` value names: an email, else a user id, else a subject."""
    if EMAIL.match(spec):
        matches = await find_users(client, "email", spec)
    else:
        by_id = await get_user(client, spec)
        matches = [by_id] if by_id is not None else await find_users(client, "subject", spec)
    return matches[0] if len(matches) == 1 else None


async def acting_check(client: TenantClient, person: Person) -> str | None:
    """None when the client can write as `person` (it asks the tenant who it is with a token for
    that user), else why not in one line."""
    lookup = ("subject", person.subject) if person.subject else ("userId", person.id)
    try:
        seen = await me(client.acting_as(*lookup))
    except ApiError as error:
        return error.one_line()
    if seen.id != person.id:
        return f"the tenant answered as {seen.name} ({seen.id}), not as {person.name}"
    return None


async def read_identities(
    client: TenantClient,
    owner_ids: Iterable[str],
    specs: Iterable[str] = (),
    *,
    check_acting: bool = True,
) -> Identities:
    """The caller, every owner id once, and each declared owner `spec` resolved; with an OAuth
    client and `check_acting`, whether the client may act as each declared owner."""
    caller = await me(client)
    people = {caller.id: caller}
    resolved: dict[str, Person | None] = {}
    for spec in dict.fromkeys(specs):
        person = await resolve(client, spec)
        resolved[spec] = person
        if person is not None:
            people.setdefault(person.id, person)
    for user_id in dict.fromkeys(owner_ids):
        if user_id and user_id not in people:
            found = await get_user(client, user_id)
            people[user_id] = found if found is not None else Person.unknown(user_id)
    refusals: dict[str, str | None] = {}
    if check_acting and client.is_oauth:
        for person in resolved.values():
            acts = person is not None and person.id != caller.id and person.can_act
            if person is not None and acts and person.id not in refusals:
                refusals[person.id] = await acting_check(client, person)
    return Identities(
        caller=caller, people=people, resolved=resolved, refusals=refusals, oauth=client.is_oauth
    )
