"""Routing: the route table (method, path template, handler, rate-limit tier), bearer auth, rate
limits, and the translation of every failure into the service's error shape.
"""

from __future__ import annotations

import hmac
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from reconciler.emulator import legacy_api, tasks_api, users_api
from reconciler.emulator.faults import RateLimiter, Tier
from reconciler.emulator.paging import Query
from reconciler.emulator.replies import Reply, ServiceError, not_found, rate_limited
from reconciler.emulator.request import Core, Request

Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    tier: Tier | None
    auth: bool = True

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        return re.compile(f"^{regex}$")


_T = "/api/scheduling/tasks"
_READ, _WRITE = Tier.READS, Tier.WRITES
ROUTES: tuple[Route, ...] = (
    Route("GET", _T, tasks_api.list_tasks, _READ),
    Route("POST", _T, tasks_api.create_task, _WRITE),
    Route("GET", f"{_T}/resources/{{id}}/runs", tasks_api.resource_runs, _READ),
    Route("GET", f"{_T}/{{id}}", tasks_api.get_task, _READ),
    Route("PATCH", f"{_T}/{{id}}", tasks_api.patch_task, _WRITE),
    Route("PUT", f"{_T}/{{id}}", tasks_api.put_task, _WRITE),
    Route("DELETE", f"{_T}/{{id}}", tasks_api.delete_task, _WRITE),
    Route("POST", f"{_T}/{{id}}/actions/start", tasks_api.start_task, _WRITE),
    Route("GET", f"{_T}/{{id}}/graphs/ancestors", tasks_api.ancestors, _READ),
    Route("GET", f"{_T}/{{id}}/graphs/children", tasks_api.children, _READ),
    Route("GET", f"{_T}/{{id}}/graphs/descendants", tasks_api.descendants, _READ),
    Route("GET", f"{_T}/{{id}}/graphs/parents", tasks_api.parents, _READ),
    Route("GET", f"{_T}/{{id}}/graphs/subgraph", tasks_api.subgraph, _READ),
    Route("GET", f"{_T}/{{id}}/runs", tasks_api.list_runs, _READ),
    Route("GET", f"{_T}/{{id}}/runs/last", tasks_api.last_run, _READ),
    Route("GET", f"{_T}/{{id}}/runs/{{runId}}/log", tasks_api.run_log, _READ),
    Route("GET", "/api/v1/reload-tasks", legacy_api.list_legacy, _READ),
    Route("POST", "/api/v1/reload-tasks", legacy_api.create_legacy, _WRITE),
    Route("GET", "/api/v1/reload-tasks/{taskId}", legacy_api.get_legacy, _READ),
    Route("PUT", "/api/v1/reload-tasks/{taskId}", legacy_api.put_legacy, _WRITE),
    Route("DELETE", "/api/v1/reload-tasks/{taskId}", legacy_api.delete_legacy, _WRITE),
    Route("POST", "/api/v1/reloads", legacy_api.create_reload, Tier.RELOADS),
    Route("GET", "/api/v1/reloads/{reloadId}", legacy_api.get_reload, _READ),
    Route("GET", "/api/v1/apps/{appId}", legacy_api.get_app, _READ),
    Route("GET", "/api/v1/users", users_api.list_users, _READ),
    Route("GET", "/api/v1/users/me", users_api.me, _READ),
    Route("GET", "/api/v1/users/{userId}", users_api.get_user, _READ),
    Route("POST", "/oauth/token", legacy_api.issue_token, None, auth=False),
)


def unauthorized(detail: str) -> ServiceError:
    return ServiceError(401, detail, headers={"www-authenticate": "Bearer"})


def authenticate(core: Core, headers: Mapping[str, str], now: float) -> str:
    """The caller's user id from `Authorization: Bearer <token>`; raises 401. A token from
    `/oauth/token` acts as the user it was issued for; an API key acts as its own user."""
    scheme, _, token = headers.get("authorization", "").strip().partition(" ")
    token = token.strip()
    if scheme.casefold() != "bearer" or not token:
        raise unauthorized("a bearer token is required (Authorization: Bearer <API key>)")
    digest = legacy_api.token_digest(token)
    issued = core.tokens.get(digest)
    if issued is not None:
        principal, expiry = issued
        if expiry <= now:
            del core.tokens[digest]
            raise unauthorized("the access token has expired")
        return principal
    api_key = core.config.api_key
    if api_key is not None and not hmac.compare_digest(token.encode(), api_key.encode()):
        raise unauthorized("the bearer token is not valid for this tenant")
    return users_api.key_caller(core, token, now)


class Router:
    """Finds the route, authenticates, applies the tier's rate limit, runs the handler."""

    def __init__(self, routes: tuple[Route, ...] = ROUTES) -> None:
        self.routes = [(route, route.pattern) for route in routes]
        self.limiter = RateLimiter()
        self.throttled: dict[str, int] = {tier.value: 0 for tier in Tier}
        self.server_errors: list[str] = []

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], set[str]]:
        allowed: set[str] = set()
        for route, pattern in self.routes:
            found = pattern.match(path)
            if found is None:
                continue
            allowed.add(route.method)
            if route.method == method:
                params = {key: unquote(value) for key, value in found.groupdict().items()}
                return route, params, allowed
        return None, {}, allowed

    def dispatch(
        self,
        core: Core,
        method: str,
        path: str,
        query: Query,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
    ) -> Reply:
        try:
            return self._dispatch(core, method, path, query, headers, body, now)
        except ServiceError as error:
            return error.reply()
        except Exception:
            # A bug in the emulator: answer 500 in the service's shape, keep the traceback.
            self.server_errors.append(traceback.format_exc())
            return ServiceError(500, "unexpected error in the local tenant").reply()

    def _dispatch(
        self,
        core: Core,
        method: str,
        path: str,
        query: Query,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
    ) -> Reply:
        path = path.rstrip("/") or "/"
        route, params, allowed = self.match(method, path)
        if route is None:
            if allowed:
                raise ServiceError(
                    405,
                    f"{method} is not allowed on {path}",
                    headers={"allow": ", ".join(sorted(allowed))},
                )
            raise not_found(f"no such endpoint: {method} {path}")
        request = Request(core, method, path, query, dict(headers), body, now, params)
        if route.auth:
            request.user = authenticate(core, headers, now)
        if route.tier is not None:
            retry_after = self.limiter.admit(route.tier, request.user, core.config, now)
            if retry_after is not None:
                self.throttled[route.tier.value] += 1
                raise rate_limited(retry_after)
        core.engine.advance(now)
        return route.handler(request)
