"""Handlers of the older APIs the tool also calls: legacy `/api/v1/reload-tasks`,
`/api/v1/reloads`, `/api/v1/apps/{appId}`, and the OAuth2 client-credentials `/oauth/token`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from reconciler.emulator import paging, rules, users_api
from reconciler.emulator.replies import Reply, ServiceError, empty_reply, json_reply
from reconciler.emulator.request import Request
from reconciler.emulator.runs import legacy_style_id, public
from reconciler.emulator.store import Doc

LEGACY_ORDER = (
    "appId", "partial", "timeZone", "autoReload", "recurrence", "endDateTime", "startDateTime",
    "autoReloadPartial", "id", "log", "links", "state", "userId", "spaceId", "tenantId",
    "fortressId", "disabledCode", "lastExecutionTime", "nextExecutionTime", "migrated",
)  # fmt: skip
LEGACY_WRITABLE = (
    "appId", "partial", "timeZone", "autoReload", "recurrence", "endDateTime", "startDateTime",
    "autoReloadPartial", "state",
)  # fmt: skip
LEGACY_STATES = ("Enabled", "Disabled", "Completed")


def legacy_error(status: int, detail: str) -> ServiceError:
    return ServiceError(status, detail, code=f"TASKS-{status:03d}")


def reloads_error(status: int, detail: str, code: str) -> ServiceError:
    return ServiceError(status, detail, code=code)


def fill_legacy(
    doc: Mapping[str, Any],
    *,
    user: str,
    tenant_id: str,
    apps: Mapping[str, Doc],
    new_id: Callable[[], str],
) -> Doc:
    """A legacy reload-task in the documented shape, keeping every field it already has."""
    result: Doc = {
        "partial": False,
        "autoReload": False,
        "recurrence": [],
        "autoReloadPartial": False,
        "state": "Enabled",
        "userId": user,
        "tenantId": tenant_id,
        **{key: value for key, value in doc.items() if key != "type"},
    }
    result["id"] = doc.get("id") or legacy_style_id(new_id)
    result["links"] = {"self": {"href": f"/api/v1/reload-tasks/{result['id']}"}}
    app = apps.get(str(result.get("appId")))
    result.setdefault("spaceId", (app or {}).get("spaceId", ""))
    ordered = {key: result[key] for key in LEGACY_ORDER if key in result}
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    return ordered


def _validate_legacy(doc: Mapping[str, Any], *, creating: bool) -> None:
    app_id = doc.get("appId")
    if not isinstance(app_id, str) or not app_id:
        raise legacy_error(400, "appId is required")
    if creating and not doc.get("timeZone"):
        raise legacy_error(400, "timeZone is required")
    if doc.get("state", "Enabled") not in LEGACY_STATES:
        raise legacy_error(400, f"state must be one of {', '.join(LEGACY_STATES)}")
    recurrence = doc.get("recurrence") or []
    if not isinstance(recurrence, list) or not all(isinstance(r, str) for r in recurrence):
        raise legacy_error(400, "recurrence must be an array of RRULE strings")
    schedule = {
        "timezone": doc.get("timeZone"),
        "startDateTime": doc.get("startDateTime"),
        "endDateTime": doc.get("endDateTime"),
    }
    try:
        for rule in recurrence:
            rules.check_rrule(rule)
        # The legacy service accepts schedules that already ended (its own example does).
        rules.check_schedule(schedule, now=0.0, check_past_end=False)
    except ServiceError as error:
        raise legacy_error(400, error.detail) from None


def _legacy(req: Request) -> Doc:
    task = req.core.state.legacy.get(req.params["taskId"])
    if task is None:
        raise legacy_error(404, f"reload task '{req.params['taskId']}' not found")
    return task


def list_legacy(req: Request) -> Reply:
    limit = paging.parse_limit(
        req.query, req.core.config.default_page_limit, req.core.config.max_page_limit
    )
    tasks = list(req.core.state.legacy.values())
    app_id = req.arg("appId")
    if app_id:
        tasks = [t for t in tasks if t.get("appId") == app_id]
    if req.arg("partial") not in (None, ""):
        partial = req.flag("partial")
        tasks = [t for t in tasks if bool(t.get("partial")) == partial]

    def key(doc: Doc) -> paging.FullKey:
        return paging.normalise(None), req.core.order_key(doc["id"])

    cursor = req.arg("next") or req.arg("prev")
    page = paging.paginate(tasks, key, descending=False, limit=limit, cursor=cursor)
    links = paging.links(req.path, req.query, page, page_param="next", prev_param="prev")
    return json_reply(200, {"data": page.items, "links": links})


def create_legacy(req: Request) -> Reply:
    body = req.json_object()
    _validate_legacy(body, creating=True)
    core = req.core
    fields = {key: body[key] for key in LEGACY_WRITABLE if key in body}
    doc = fill_legacy(
        fields,
        user=req.user,
        tenant_id=core.config.tenant_id,
        apps=core.state.apps,
        new_id=core.new_id,
    )
    core.state.legacy[doc["id"]] = doc
    core.touch(doc["id"])
    core.state.dirty = True
    return json_reply(201, doc)


def get_legacy(req: Request) -> Reply:
    return json_reply(200, _legacy(req))


def put_legacy(req: Request) -> Reply:
    task = _legacy(req)
    body = req.json_object()
    merged = {**task, **{key: body[key] for key in LEGACY_WRITABLE if key in body}}
    _validate_legacy(merged, creating=False)
    if body.get("state") == "Enabled":
        merged.pop("disabledCode", None)
    task.clear()
    task.update(merged)
    req.core.state.dirty = True
    return json_reply(200, task)


def delete_legacy(req: Request) -> Reply:
    task = _legacy(req)
    del req.core.state.legacy[task["id"]]
    req.core.state.order.pop(task["id"], None)
    req.core.state.dirty = True
    return empty_reply(204)


# -- reloads, apps -------------------------------------------------------------------------------


def create_reload(req: Request) -> Reply:
    body = req.json_object()
    app_id = body.get("appId")
    if not isinstance(app_id, str) or not app_id:
        raise reloads_error(400, "appId is required", "RELOADS-001")
    partial = body.get("partial", False)
    if not isinstance(partial, bool):
        raise reloads_error(400, "partial must be a boolean", "RELOADS-001")
    reload = req.core.engine.start_reload(app_id, partial, req.user, req.now)
    req.core.engine.advance(req.now)
    return json_reply(201, public(reload))


def get_reload(req: Request) -> Reply:
    reload = req.core.state.reloads.get(req.params["reloadId"])
    if reload is None:
        raise reloads_error(404, f"reload '{req.params['reloadId']}' not found", "RELOADS-004")
    return json_reply(200, public(reload))


APP_PRIVILEGES = ("read", "update", "delete", "reload", "export", "duplicate", "change_owner")
"""What the caller may do with an app unless the app says otherwise (`privileges` in its record)."""


def get_app(req: Request) -> Reply:
    """`{attributes, privileges}`. An app the tenant was never told about answers 404, unless
    `open_apps` makes every app id one the caller may reload (a sandbox without an app catalog)."""
    app_id = req.params["appId"]
    app = req.core.state.apps.get(app_id)
    if app is None and req.core.config.open_apps:
        app = {"id": app_id, "name": f"App {app_id[:8]}"}
    if app is None:
        raise ServiceError(404, f"app '{app_id}' not found", code="APP-404")
    hidden = ("id", "name", "description", "privileges")
    attributes = {
        "id": app["id"],
        "name": app.get("name", ""),
        "description": app.get("description", ""),
        "resourceType": "app",
        **{k: v for k, v in app.items() if k not in hidden},
    }
    privileges = app.get("privileges", list(APP_PRIVILEGES))
    return json_reply(200, {"attributes": attributes, "privileges": privileges})


# -- OAuth2 client credentials -------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _oauth_error(status: int, error: str, description: str) -> ServiceError:
    # RFC 6749 section 5.2 fields beside the service's own error list.
    return ServiceError(
        status,
        description,
        code=f"HTTP-{status}",
        extra={"error": error, "error_description": description},
    )


def issue_token(req: Request) -> Reply:
    content_type = req.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in content_type:
        body: Any = dict(parse_qsl(req.body.decode("utf-8", "replace")))
    else:
        body = req.json_object()
    grant = body.get("grant_type")
    if grant not in ("client_credentials", users_api.IMPERSONATION_GRANT):
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            f"grant_type must be client_credentials or {users_api.IMPERSONATION_GRANT}",
        )
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not client_id or not isinstance(client_secret, str):
        raise _oauth_error(401, "invalid_client", "client authentication failed")
    config = req.core.config
    # Configured clients must match; without any, the API key (when set) is every client's
    # secret, so a served tenant can be reached with client credentials too.
    if config.oauth_clients:
        expected = config.oauth_clients.get(client_id)
    else:
        expected = config.api_key if config.api_key is not None else client_secret
    if not client_secret or expected is None or not hmac.compare_digest(expected, client_secret):
        raise _oauth_error(401, "invalid_client", "client authentication failed")
    if grant == users_api.IMPERSONATION_GRANT:
        principal = users_api.impersonated_user(req.core, client_id, body)
    else:
        principal = users_api.client_caller(req.core, client_id, req.now)
    return json_reply(200, users_api.issue(req.core, principal, req.now))
