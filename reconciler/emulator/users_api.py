"""The tenant's users: `GET /api/v1/users/me`, `/api/v1/users/{id}`, `/api/v1/users?filter=`, the
people a new local tenant knows, the identities callers authenticate as, and the OAuth user
impersonation grant (`urn:qlik:oauth:user-impersonation`), which a client may use only when it is
allowed to (`EmulatorConfig.impersonation_clients`), as in a real tenant.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from reconciler.emulator import paging
from reconciler.emulator.replies import Reply, ServiceError, bad_request, json_reply
from reconciler.emulator.request import Core, Request
from reconciler.emulator.rules import iso, user_id
from reconciler.emulator.scim import FilterError, parse_filter
from reconciler.emulator.store import Doc

IMPERSONATION_GRANT = "urn:qlik:oauth:user-impersonation"
STATUSES = ("active", "invited", "disabled", "deleted", "provisioned")
ACTING_STATUSES = frozenset({"active", "provisioned"})
"""A user in another status cannot be impersonated (and their tasks stop: OWNER-DISABLED)."""

UI_USER = user_id("tenant-ui")
"""The owner of tasks that appear out of band (seeds, `put_task_raw`): a person in the hub."""

DEFAULT_USERS: tuple[Doc, ...] = (
    {
        "id": UI_USER,
        "name": "Anna Berg",
        "email": "anna.berg@example.com",
        "subject": "auth0|anna-berg",
        "status": "active",
    },
    {
        "id": user_id("person:ben-okafor"),
        "name": "Ben Okafor",
        "email": "ben.okafor@example.com",
        "subject": "auth0|ben-okafor",
        "status": "active",
    },
    {
        "id": user_id("person:carla-diaz"),
        "name": "Carla Diaz",
        "email": "carla.diaz@example.com",
        "subject": "auth0|carla-diaz",
        "status": "disabled",
    },
)
"""The people every new tenant knows unless its seed names its own `users`."""

USER_FIELDS = ("id", "subject", "name", "email", "status")
"""The fields a users filter may name (SCIM `eq`, `co`, ... on id, subject, name, email, status)."""


def fill_user(doc: Mapping[str, Any], *, tenant_id: str, now: float) -> Doc:
    """A user in the service's shape, keeping every field it already has."""
    subject = doc.get("subject") or f"local|{doc.get('email') or doc.get('name') or doc.get('id')}"
    user: Doc = {
        "id": doc.get("id") or user_id(f"subject:{subject}"),
        "tenantId": tenant_id,
        "name": doc.get("name") or subject,
        "subject": subject,
        "status": doc.get("status") or "active",
        "created": iso(now),
        **{k: v for k, v in doc.items() if k not in ("id",)},
    }
    user.setdefault("email", "")
    if user["status"] not in STATUSES:
        raise ValueError(f"user status must be one of {', '.join(STATUSES)}")
    return user


def remember_caller(core: Core, uid: str, *, name: str, subject: str, now: float) -> None:
    """Record an identity that called the tenant (an API key's user, an OAuth client's bot user),
    so that its id is a user the users API knows. Never stores a secret: `subject` is not one."""
    if uid in core.state.users:
        return
    core.state.users[uid] = fill_user(
        {"id": uid, "name": name, "subject": subject, "status": "active"},
        tenant_id=core.config.tenant_id,
        now=now,
    )
    core.state.dirty = True


def key_caller(core: Core, token: str, now: float) -> str:
    """The user an API key acts as (one user per key)."""
    uid = user_id(f"key:{token}")
    label = hashlib.sha256(uid.encode()).hexdigest()[:6]
    remember_caller(core, uid, name=f"API key user {label}", subject=f"apikey|{uid}", now=now)
    return uid


def client_caller(core: Core, client_id: str, now: float) -> str:
    """The bot user an OAuth client acts as with client credentials (named after the client)."""
    uid = user_id(f"client:{client_id}")
    remember_caller(core, uid, name=client_id, subject=f"qlikbot|{client_id}", now=now)
    return uid


# -- handlers ------------------------------------------------------------------------------------


def _user(core: Core, uid: str) -> Doc:
    user = core.state.users.get(uid)
    if user is None:
        raise ServiceError(404, f"user '{uid}' not found", code="USERS-404")
    return user


def me(req: Request) -> Reply:
    return json_reply(200, _user(req.core, req.user))


def get_user(req: Request) -> Reply:
    return json_reply(200, _user(req.core, req.params["userId"]))


def list_users(req: Request) -> Reply:
    limit = paging.parse_limit(req.query, req.core.config.default_page_limit)
    users = list(req.core.state.users.values())
    raw_filter = req.arg("filter")
    if raw_filter:
        try:
            predicate = parse_filter(raw_filter, USER_FIELDS)
        except FilterError as error:
            raise bad_request(f"invalid filter: {error}") from None
        users = [u for u in users if predicate(u.get)]

    def key(doc: Doc) -> paging.FullKey:
        return paging.normalise(doc.get("name")), str(doc["id"])

    page = paging.paginate(users, key, descending=False, limit=limit, cursor=req.arg("next"))
    links = paging.links(req.path, req.query, page, page_param="next", prev_param="prev")
    return json_reply(200, {"data": page.items, "links": links})


# -- OAuth user impersonation --------------------------------------------------------------------


def _grant_error(status: int, error: str, description: str) -> ServiceError:
    return ServiceError(
        status,
        description,
        code=f"HTTP-{status}",
        extra={"error": error, "error_description": description},
    )


def impersonated_user(core: Core, client_id: str, body: Mapping[str, Any]) -> str:
    """The id of the user a client may act as, from `user_lookup: {field, value}`; raises the
    OAuth error a tenant answers when the client lacks the grant or the user cannot act."""
    allowed = core.config.impersonation_clients
    if client_id not in allowed and "*" not in allowed:
        raise _grant_error(
            400,
            "unauthorized_client",
            f"the client is not allowed the grant type {IMPERSONATION_GRANT}",
        )
    lookup = body.get("user_lookup")
    field = lookup.get("field") if isinstance(lookup, dict) else None
    value = lookup.get("value") if isinstance(lookup, dict) else None
    if field not in ("subject", "userId") or not isinstance(value, str) or not value:
        raise _grant_error(
            400, "invalid_request", "user_lookup needs field (subject or userId) and value"
        )
    key = "subject" if field == "subject" else "id"
    found = next((u for u in core.state.users.values() if u.get(key) == value), None)
    if found is None:
        raise _grant_error(400, "invalid_grant", f"no user with {field} {value!r}")
    if found.get("status") not in ACTING_STATUSES:
        raise _grant_error(
            400, "invalid_grant", f"user {found['id']} is {found.get('status')}: it cannot act"
        )
    return str(found["id"])


def issue(core: Core, principal: str, now: float) -> dict[str, Any]:
    """A new access token acting as `principal` (a user id); only its digest is kept."""
    token = secrets.token_urlsafe(32)
    expires_in = core.config.token_expires_in
    core.tokens[hashlib.sha256(token.encode()).hexdigest()] = (principal, now + expires_in)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
