"""Handlers of `/api/scheduling/tasks`: list, get, create, patch, put, delete, start, graphs, runs."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection, Sequence
from typing import Any

import jsonpatch

from reconciler.emulator import graph, paging, quirks, rules
from reconciler.emulator.replies import (
    Reply,
    ServiceError,
    bad_request,
    empty_reply,
    json_reply,
    not_found,
    text_reply,
)
from reconciler.emulator.request import Request
from reconciler.emulator.runs import public
from reconciler.emulator.scim import FilterError, parse_filter
from reconciler.emulator.store import Doc


def _meta(doc: Doc, *keys: str) -> Any:
    value: Any = doc.get("metadata", {})
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


# Filterable and sortable fields (reference page, GET /api/scheduling/tasks).
TASK_FIELDS: dict[str, Callable[[Doc], Any]] = {
    "createdAt": lambda d: _meta(d, "createdAt"),
    "enabled": lambda d: d.get("enabled"),
    "name": lambda d: d.get("name"),
    "ownerId": lambda d: _meta(d, "ownerId"),
    "resourceId": lambda d: d.get("resourceId"),
    "spaceId": lambda d: _meta(d, "spaceId"),
    "updatedAt": lambda d: _meta(d, "updatedAt"),
    "updatedBy": lambda d: _meta(d, "updatedBy"),
    "lastStatus": lambda d: _meta(d, "orchestration", "lastRun", "status"),
    "lastTriggeredBy": lambda d: _meta(d, "orchestration", "lastRun", "triggeredBy"),
    "lastStartedAt": lambda d: _meta(d, "orchestration", "lastRun", "startedAt"),
    "lastEndedAt": lambda d: _meta(d, "orchestration", "lastRun", "endedAt"),
    "lastExecutedAs": lambda d: _meta(d, "orchestration", "lastRun", "executedAs"),
    "triggerType": lambda d: _meta(d, "trigger", "type"),
}


WRITE_ONLY_FIELDS = frozenset(
    {"createdAt", "name", "ownerId", "resourceId", "updatedAt", "updatedBy"}
)
"""Sort fields that change only with a write through the API or a test hook (both `touch`)."""


def _getter(doc: Doc) -> Callable[[str], object]:
    return lambda name: TASK_FIELDS[name](doc)


RUN_SORT_FIELDS = ("startedAt", "endedAt", "status", "taskId", "actionId")


def _task(req: Request) -> Doc:
    task = req.core.state.tasks.get(req.params["id"])
    if task is None:
        raise not_found(f"task '{req.params['id']}' not found")
    return task


def _task_page(req: Request, tasks: Collection[Doc], *, whole_tenant: bool = False) -> Reply:
    """One page of `tasks`; `whole_tenant` when they are every task of the store (the listing),
    whose order is kept between pages."""
    limit = paging.parse_limit(
        req.query, req.core.config.default_page_limit, req.core.config.max_page_limit
    )
    field, descending = paging.parse_sort(req.arg("sort"), list(TASK_FIELDS), "-updatedAt")
    raw_filter = req.arg("filter")
    resource_id = req.arg("resourceId")
    getter = TASK_FIELDS[field]

    def key(doc: Doc) -> paging.FullKey:
        return paging.normalise(getter(doc)), req.core.order_key(doc["id"])

    core = req.core
    if raw_filter or resource_id or field not in WRITE_ONLY_FIELDS or not whole_tenant:
        ordered, keys = paging.sort(
            _selected(tasks, raw_filter, resource_id), key, descending=descending
        )
    else:
        # Every page of a listing would sort the whole tenant again: sort once per state of the
        # store. Only a write changes these fields, and a write bumps `seq` (or, a delete, the count).
        stamp = (field, descending, core.state.seq, len(tasks))
        if core.listing is None or core.listing[0] != stamp:
            core.listing = (stamp, *paging.sort(list(tasks), key, descending=descending))
        _, ordered, keys = core.listing
    page = paging.page_of(ordered, keys, descending=descending, limit=limit, cursor=req.arg("page"))
    links = paging.links(req.path, req.query, page)
    return json_reply(200, {"data": page.items, "links": links})


def _selected(tasks: Collection[Doc], raw_filter: str | None, resource_id: str | None) -> list[Doc]:
    selected = list(tasks)
    if raw_filter:
        try:
            predicate = parse_filter(raw_filter, TASK_FIELDS)
        except FilterError as error:
            raise bad_request(f"invalid filter: {error}") from None
        selected = [d for d in selected if predicate(_getter(d))]
    if resource_id:
        selected = [d for d in selected if d.get("resourceId") == resource_id]
    return selected


def list_tasks(req: Request) -> Reply:
    return _task_page(req, req.core.state.tasks.values(), whole_tenant=True)


def get_task(req: Request) -> Reply:
    return json_reply(200, _task(req))


def _check_quotas(req: Request, resource_id: str, task_id: str | None) -> None:
    config, tasks = req.core.config, req.core.state.tasks.values()
    on_app = [d for d in tasks if d.get("resourceId") == resource_id and d["id"] != task_id]
    if len(on_app) >= config.max_tasks_per_app:
        raise ServiceError(
            422,
            f"an app can have at most {config.max_tasks_per_app} tasks; "
            f"app '{resource_id}' has {len(on_app)}",
            code="CHO-014",
            title="Maximum number of tasks for the resource reached",
        )
    if config.max_tasks_per_user is not None and task_id is None:
        owned = [d for d in tasks if _meta(d, "ownerId") == req.user]
        if len(owned) >= config.max_tasks_per_user:
            raise ServiceError(
                422,
                f"a user can own at most {config.max_tasks_per_user} tasks",
                code="CHO-018",
                title="Task quota reached",
            )


def create_task(req: Request) -> Reply:
    body = req.json_object()
    migrate_from = req.arg("migrateFrom")
    resource_id = rules.validate_task(body, now=req.now, check_past_end=not migrate_from)
    core = req.core
    legacy = None
    if migrate_from:
        legacy = core.state.legacy.get(migrate_from)
        if legacy is None:
            raise not_found(f"legacy reload task '{migrate_from}' not found")
    _check_quotas(req, resource_id, None)
    doc = {**rules.PUT_DEFAULTS, **rules.client_fields(body)}
    quirks.rewrite_stored(core.quirks, doc)
    # Created tasks are disabled whatever the body says (the service's documented default).
    doc["enabled"] = bool(doc.get("enabled")) and core.config.honour_enabled_on_create
    doc["id"] = core.new_id()
    doc["resourceId"] = resource_id
    doc["metadata"] = rules.task_metadata(
        None,
        doc,
        user=req.user,
        now=req.now_iso,
        tenant_id=core.config.tenant_id,
        app=core.state.apps.get(resource_id),
        new_id=core.new_id,
    )
    if legacy is not None and migrate_from:
        doc["metadata"]["migratedFrom"] = migrate_from
        legacy["migrated"] = True
    core.state.tasks[doc["id"]] = rules.ordered(doc)
    core.touch(doc["id"])
    graph.refresh_after_write(core.state.tasks, doc["id"], None)
    core.state.dirty = True
    return json_reply(201, core.state.tasks[doc["id"]])


def _store_update(req: Request, task: Doc, fields: Doc) -> Reply:
    """Replace `task`'s client fields; the caller becomes owner (PATCH and PUT both do this)."""
    core = req.core
    resource_id = rules.validate_task(fields, now=req.now, check_past_end=False)
    if resource_id != task.get("resourceId"):
        _check_quotas(req, resource_id, task["id"])
    doc = {**rules.PUT_DEFAULTS, **fields}
    quirks.rewrite_stored(core.quirks, doc)
    metadata = rules.task_metadata(
        task.get("metadata"),
        doc,
        user=req.user,
        now=req.now_iso,
        tenant_id=core.config.tenant_id,
        app=core.state.apps.get(resource_id),
        new_id=core.new_id,
    )
    was_enabled, enabled = task.get("enabled") is True, doc.get("enabled") is True
    if enabled and not was_enabled:
        metadata.pop("disabledCode", None)
        core.state.failure_streaks.pop(task["id"], None)
    elif was_enabled and not enabled:
        metadata["disabledCode"] = "MANUALLY"
    doc.update(id=task["id"], resourceId=resource_id, metadata=metadata)
    core.state.tasks[task["id"]] = rules.ordered(doc)
    core.touch(task["id"])
    graph.refresh_after_write(core.state.tasks, task["id"], task)
    core.state.dirty = True
    return json_reply(200, core.state.tasks[task["id"]])


def patch_task(req: Request) -> Reply:
    task = _task(req)
    ops = req.json()
    refusal = rules.patch_refusal(ops)
    if refusal:
        raise bad_request(refusal)
    try:
        patched = jsonpatch.apply_patch(copy.deepcopy(task), ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as error:
        raise bad_request(f"the patch cannot be applied: {error}") from None
    if not isinstance(patched, dict):
        raise bad_request("the patch must leave a task object")
    reply = _store_update(req, task, rules.client_fields(patched))
    return empty_reply(204) if req.core.config.patch_answers_204 else reply


def put_task(req: Request) -> Reply:
    task = _task(req)
    return _store_update(req, task, rules.client_fields(req.json_object()))


def delete_task(req: Request) -> Reply:
    task = _task(req)
    core = req.core
    del core.state.tasks[task["id"]]
    core.state.order.pop(task["id"], None)
    core.engine.cancel(task["id"], req.now)
    graph.refresh_after_write(core.state.tasks, task["id"], task)
    core.state.dirty = True
    return empty_reply(204)


def start_task(req: Request) -> Reply:
    task = _task(req)
    req.core.engine.start(task, at=req.now, triggered_by=req.arg("source") or "manual")
    req.core.engine.advance(req.now)
    return json_reply(200, {"message": "Task started successfully"})


# -- graphs --------------------------------------------------------------------------------------


def _graph(req: Request, *, up: bool, down: bool) -> Reply:
    task = _task(req)
    raw = req.arg("level")
    level = None
    if raw not in (None, ""):
        try:
            level = int(raw)
        except ValueError:
            level = -1
        if level < 0:
            raise bad_request(f"level must be a non-negative integer, got '{raw}'")
    body = graph.graph(
        req.core.state.tasks,
        task["id"],
        up=up,
        down=down,
        level=level,
        with_task=req.flag("withTask"),
    )
    return json_reply(200, body)


def ancestors(req: Request) -> Reply:
    return _graph(req, up=True, down=False)


def descendants(req: Request) -> Reply:
    return _graph(req, up=False, down=True)


def subgraph(req: Request) -> Reply:
    return _graph(req, up=True, down=True)


def children(req: Request) -> Reply:
    return _task_page(req, graph.children_of(req.core.state.tasks, _task(req)["id"]))


def parents(req: Request) -> Reply:
    return _task_page(req, graph.parents_of(req.core.state.tasks, _task(req)["id"]))


# -- runs ----------------------------------------------------------------------------------------


def _run_page(req: Request, runs: Sequence[Doc]) -> Reply:
    limit = paging.parse_limit(
        req.query, req.core.config.default_page_limit, req.core.config.max_page_limit
    )
    field, descending = paging.parse_sort(req.arg("sort"), RUN_SORT_FIELDS, "-startedAt")

    def key(run: Doc) -> paging.FullKey:
        return paging.normalise(run.get(field)), f"{run.get('_seq', 0):012d}:{run['id']}"

    page = paging.paginate(runs, key, descending=descending, limit=limit, cursor=req.arg("page"))
    page.items = [public(run) for run in page.items]
    return json_reply(200, {"data": page.items, "links": paging.links(req.path, req.query, page)})


def list_runs(req: Request) -> Reply:
    task_id = _task(req)["id"]
    return _run_page(req, [run for run in req.core.state.runs if run["taskId"] == task_id])


def last_run(req: Request) -> Reply:
    task_id = _task(req)["id"]
    mine = [run for run in req.core.state.runs if run["taskId"] == task_id]
    if not mine:
        raise not_found(f"task '{task_id}' has never run")
    return json_reply(200, public(max(mine, key=lambda run: run.get("_seq", 0))))


def run_log(req: Request) -> Reply:
    task_id = _task(req)["id"]
    run_id = req.params["runId"]
    run = next(
        (r for r in req.core.state.runs if r["id"] == run_id and r["taskId"] == task_id), None
    )
    if run is None:
        raise not_found(f"run '{run_id}' of task '{task_id}' not found")
    accept = req.headers.get("accept", "")
    if "text/plain" in accept and "application/json" not in accept:
        return text_reply(200, run.get("log", ""))
    return json_reply(200, {"logContent": run.get("log", "")})


def resource_runs(req: Request) -> Reply:
    resource_id = req.params["id"]
    return _run_page(req, [run for run in req.core.state.runs if run["resourceId"] == resource_id])
