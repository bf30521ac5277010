"""The tenant client: the typed task, run, legacy and app operations plan, apply, drift and migrate
call. Only `reconciler.qlik` speaks HTTP; the send loop it sends through is owned by `sender`.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import ssl
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from reconciler import __version__, json_pointer
from reconciler.errors import AmbiguousWriteError, ApiError
from reconciler.qlik import answers, paging
from reconciler.qlik.auth import Credentials, QlikAuth, validate_tenant_url
from reconciler.qlik.bounds import Bounds, Budget
from reconciler.qlik.retry import RetryPolicy
from reconciler.qlik.sender import Check, JsonObject, Look, OnRetry, RequestCounter, Sender
from reconciler.qlik.throttle import Clock, RateLimits, Sleep, Throttle

__all__ = [
    "Bounds",
    "Check",
    "JsonObject",
    "OnRetry",
    "RateLimits",
    "RequestCounter",
    "RetryPolicy",
    "TenantClient",
]

log = logging.getLogger("reconciler.qlik")

FindCreated = Look

TASKS = "/api/scheduling/tasks"
LEGACY_TASKS = "/api/v1/reload-tasks"
APPS = "/api/v1/apps"
PAGE_LIMIT = 100
USER_AGENT = f"qlik-task-reconciler/{__version__}"
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)


def _quoted(segment: str) -> str:
    return quote(segment, safe="")


def scim_string(value: str) -> str:
    """A SCIM string literal (RFC 7644 §3.4.2.2: JSON string rules, so quotes and backslashes are
    escaped)."""
    return json.dumps(value, ensure_ascii=False)


class TenantClient:
    """An async client for one tenant. Use as `async with TenantClient(url, credentials) as c:`."""

    def __init__(
        self,
        tenant_url: str,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: RateLimits | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        on_retry: OnRetry | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = 16,
        page_limit: int = PAGE_LIMIT,
        bounds: Bounds | None = None,
    ) -> None:
        self.tenant_url = validate_tenant_url(tenant_url)
        self.page_limit = page_limit
        self.is_oauth = credentials.is_oauth
        if bounds is None:
            read = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
            bounds = Bounds(timeout=read or DEFAULT_TIMEOUT.read or 60.0)
        self.bounds = bounds
        if not isinstance(timeout, httpx.Timeout):
            # Seconds to wait for an answer; connecting never waits longer than the default.
            timeout = httpx.Timeout(
                timeout, connect=min(timeout, DEFAULT_TIMEOUT.connect or timeout)
            )
        self.requests = RequestCounter()
        self.limits = limits or RateLimits()
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry
        self.budget = Budget(bounds, clock)
        self._throttle = Throttle(self.limits, clock=clock, sleep=sleep)
        self._auth = QlikAuth(
            credentials,
            tenant_url=self.tenant_url,
            user_agent=USER_AGENT,
            clock=clock,
            on_token_request=lambda: self.requests.sent("oauth_token"),
            on_token_answer=self._saw_token_answer,
        )
        self._http = httpx.AsyncClient(
            base_url=self.tenant_url,
            auth=self._auth,
            transport=transport,
            verify=_tls_for(self.tenant_url),
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )
        self._sender = Sender(
            self._http,
            self._auth,
            tenant_url=self.tenant_url,
            requests=self.requests,
            retry=self.retry,
            throttle=self._throttle,
            budget=self.budget,
            bounds=bounds,
            sleep=sleep,
            clock=clock,
            on_retry=on_retry,
        )
        # Writes as another user (OAuth user impersonation): None is the client's own identity.
        self._acting: httpx.Auth | None = None
        self._acting_as: dict[tuple[str, str], httpx.Auth] = {}

    def acting_as(self, field: str, value: str) -> TenantClient:
        """This client, sending as the user `field` (`subject` or `userId`) = `value` names: one
        token per user, fetched with the impersonation grant and cached. Shares the connection
        pool, rate limits and counters; only `aclose` of the original client closes them."""
        auth = self._acting_as.get((field, value))
        if auth is None:
            auth = self._acting_as[field, value] = self._auth.impersonating(field, value)
        view = copy.copy(self)
        view._acting = auth
        return view

    def __repr__(self) -> str:
        return f"TenantClient({self.tenant_url!r})"

    async def __aenter__(self) -> TenantClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- scheduling tasks -------------------------------------------------------------------------

    async def list_tasks(self, filter: str | None = None) -> list[JsonObject]:
        """Every task the caller can see (all pages), optionally narrowed by a SCIM filter. Sorted by
        creation so that tasks updated while we page do not move between pages."""
        params = {"limit": str(self.page_limit), "sort": "+createdAt"}
        if filter is not None:
            params["filter"] = filter
        pages = await self._pages("list_tasks", TASKS, params, check=answers.check_task)
        assert pages is not None
        return pages

    async def find_tasks_by_name(self, name: str) -> list[JsonObject]:
        """Tasks named exactly `name` (the service compares case-insensitively; we do not)."""
        params = {"limit": str(self.page_limit), "filter": f"name eq {scim_string(name)}"}
        found = await self._pages("find_tasks_by_name", TASKS, params, check=answers.check_task)
        assert found is not None
        return [task for task in found if task.get("name") == name]

    async def get_task(self, task_id: str) -> JsonObject:
        return await self._read_task(task_id)

    async def _read_task(self, task_id: str) -> JsonObject:
        """The task as the tenant stores it (what the client's own checks compare with)."""
        response = await self._send("get_task", "GET", f"{TASKS}/{_quoted(task_id)}")
        return self._task(response)

    async def create_task(
        self,
        doc: JsonObject,
        migrate_from: str | None = None,
        *,
        find_created: FindCreated | None = None,
    ) -> JsonObject:
        """Create a task. A POST whose outcome is unknown (no answer, or a gateway error) is never
        simply sent again: with `find_created` the client waits its backoff, asks `find_created()`
        whether the task exists (then that task is the answer) and only if not sends the POST
        again, within the retry budget. Without it, or once the budget is spent and the task is
        still not found, raises AmbiguousWriteError."""
        params = {"migrateFrom": migrate_from} if migrate_from is not None else None
        answer = await self._sender.send_looking(
            "create_task",
            "POST",
            TASKS,
            look=find_created,
            looks_for="the task",
            params=params,
            body=doc,
            acting=self._acting,
        )
        return answer if isinstance(answer, dict) else self._task(answer)

    async def patch_task(self, task_id: str, ops: Sequence[JsonObject]) -> JsonObject | None:
        """Apply a JSON Patch (RFC 6902); the task as answered (200), or None (204).

        A retry of a patch whose first answer was lost may be refused because the first attempt
        did apply it (a `remove` cannot be applied twice): then the task is read back, and if every
        operation holds, that is the answer."""
        try:
            response = await self._send(
                "patch_task", "PATCH", f"{TASKS}/{_quoted(task_id)}", body=list(ops)
            )
        except AmbiguousWriteError as error:
            refused = error
        else:
            if response.status_code == 204 or not response.content.strip():
                return None
            return self._task(response)
        task = await self._read_task(task_id)
        if _patch_holds(task, ops):
            log.info("PATCH %s: refused on retry, but the lost attempt applied it", task_id)
            return task
        raise refused

    async def put_task(self, task_id: str, doc: JsonObject) -> JsonObject:
        """Replace a task; the task as answered (read back if the answer has no body)."""
        response = await self._send("put_task", "PUT", f"{TASKS}/{_quoted(task_id)}", body=doc)
        if response.status_code == 204 or not response.content.strip():
            return await self._read_task(task_id)
        return self._task(response)

    async def delete_task(self, task_id: str) -> None:
        await self._send("delete_task", "DELETE", f"{TASKS}/{_quoted(task_id)}")

    async def start_task(self, task_id: str, source: str | None = None) -> JsonObject:
        params = {"source": source} if source is not None else None
        path = f"{TASKS}/{_quoted(task_id)}/actions/start"
        response = await self._send("start_task", "POST", path, params=params)
        return self._object(response) if response.content.strip() else {}

    async def last_run(self, task_id: str) -> JsonObject | None:
        """The task's most recent run, or None if it never ran (404)."""
        path = f"{TASKS}/{_quoted(task_id)}/runs/last"
        response = await self._send("last_run", "GET", path, expected=frozenset({404}))
        return None if response.status_code == 404 else self._object(response)

    async def list_runs(self, task_id: str, *, max_runs: int | None = None) -> list[JsonObject]:
        """The task's runs, newest first (all pages, or the first `max_runs`)."""
        path = f"{TASKS}/{_quoted(task_id)}/runs"
        runs = await self._pages(
            "list_runs", path, {"limit": str(self.page_limit)}, max_items=max_runs
        )
        assert runs is not None
        return runs

    # -- legacy reload-tasks and apps -------------------------------------------------------------

    async def list_legacy_reload_tasks(self) -> list[JsonObject] | None:
        """Every legacy reload-task (all pages), or None when the tenant no longer has the legacy
        endpoint (404 on the first page)."""
        params = {"limit": str(self.page_limit)}
        return await self._pages(
            "list_legacy_reload_tasks",
            LEGACY_TASKS,
            params,
            missing_ok=True,
            check=answers.check_legacy,
        )

    async def delete_legacy_reload_task(self, legacy_id: str) -> None:
        path = f"{LEGACY_TASKS}/{_quoted(legacy_id)}"
        await self._send("delete_legacy_reload_task", "DELETE", path)

    async def get_app(self, app_id: str) -> JsonObject | None:
        """The app, or None when it does not exist or is not visible to the caller (404, 403)."""
        path = f"{APPS}/{_quoted(app_id)}"
        response = await self._send("get_app", "GET", path, expected=frozenset({403, 404}))
        return None if response.status_code in (403, 404) else self._object(response)

    # -- sending, through the send loop ---------------------------------------------------------

    async def _send(
        self,
        operation: str,
        method: str,
        url: str | httpx.URL,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        expected: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        return await self._sender.send(
            operation, method, url, params=params, body=body, expected=expected, acting=self._acting
        )

    async def _pages(
        self,
        operation: str,
        path: str,
        params: Mapping[str, str],
        *,
        missing_ok: bool = False,
        max_items: int | None = None,
        check: Check | None = None,
    ) -> list[JsonObject] | None:
        return await paging.pages(
            self._sender,
            operation,
            path,
            params,
            missing_ok=missing_ok,
            max_items=max_items,
            check=check,
            acting=self._acting,
        )

    def _saw_token_answer(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.requests.throttled += 1

    def _object(self, response: httpx.Response) -> JsonObject:
        return self._sender.object(response)

    def _task(self, response: httpx.Response) -> JsonObject:
        return self._sender.task(response)

    def _malformed(self, response: httpx.Response, why: str) -> ApiError:
        return self._sender.malformed(response, why)


def _tls_for(tenant_url: str) -> ssl.SSLContext | bool:
    """How the client checks the tenant's certificate: against the system's trusted authorities
    (True: httpx loads them, a few hundred of them, when the client is made), except for a
    loopback tenant over plain http (the only http `validate_tenant_url` accepts), which never
    opens TLS: for it a context that trusts no one, so that no connection could go unchecked."""
    if tenant_url.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _patch_holds(doc: JsonObject, ops: Sequence[JsonObject]) -> bool:
    """Whether every operation's effect is already in `doc`: each `add`/`replace` value is at its
    path, each `remove`d path is absent. Other operations cannot be checked this way (False)."""
    for op in ops:
        parts = json_pointer.split(str(op.get("path")))
        if not parts or op.get("op") not in ("add", "replace", "remove"):
            return False
        node: Any = doc
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return False
        present = parts[-1] in node
        if op["op"] == "remove" and present:
            return False
        if op["op"] != "remove" and (not present or node[parts[-1]] != op.get("value")):
            return False
    return True
