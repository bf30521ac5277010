"""Task documents and assertions the local tenant's tests share."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

TOKEN = "test-token-owner-a"
OTHER_TOKEN = "test-token-owner-b"
BASE = "https://tenant.example.local"
TASKS = "/api/scheduling/tasks"
START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def app_id() -> str:
    return str(uuid.uuid4())


def task_body(name: str, app: str | None = None, **extra: Any) -> dict[str, Any]:
    """A minimal valid task document (short form rendered: one state, one reload action)."""
    body: dict[str, Any] = {
        "name": name,
        "specVersion": "0.8",
        "version": "1.0.0",
        "enabled": True,
        "states": [
            {
                "name": "reload",
                "type": "event",
                "end": True,
                "onEvents": [
                    {
                        "eventRefs": [],
                        "actions": [
                            {
                                "name": "reload-action",
                                "functionRef": {
                                    "refName": "app.reload",
                                    "arguments": {"appId": app or app_id(), "partial": False},
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    body.update(extra)
    return body


def chained_body(
    name: str, upstreams: list[str], *, status: str | None = "succeeded", all_: bool = False
) -> dict[str, Any]:
    """A task run when the upstream tasks finish (`when: any`, or `when: all` with all_)."""
    events = []
    for index, upstream in enumerate(upstreams):
        correlation = [{"contextAttributeName": "id", "contextAttributeValue": upstream}]
        if status is not None:
            correlation.append({"contextAttributeName": "status", "contextAttributeValue": status})
        events.append(
            {
                "name": f"upstream-{index}",
                "type": "com.qlik.v1.task.run.finished",
                "source": "system-events.task",
                "correlation": correlation,
            }
        )
    body = task_body(name, events=events)
    body["states"][0]["onEvents"][0]["eventRefs"] = [event["name"] for event in events]
    body["states"][0]["exclusive"] = not all_
    return body


def scheduled_body(name: str, **schedule: Any) -> dict[str, Any]:
    base = {"recurrence": "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0", "timezone": "UTC"}
    base.update(schedule)
    return task_body(name, start={"stateName": "reload", "schedule": base})


def create(client: httpx.Client, body: dict[str, Any], **params: str) -> dict[str, Any]:
    response = client.post(TASKS, json=body, params=params)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def enable(client: httpx.Client, task_id: str) -> None:
    ops = [{"op": "replace", "path": "/enabled", "value": True}]
    response = client.patch(f"{TASKS}/{task_id}", json=ops)
    assert response.status_code == 200, response.text


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the service's shape; returns its first error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["errors"], list)
    assert body["errors"]
    error: dict[str, Any] = body["errors"][0]
    assert {"code", "title", "detail"} <= set(error)
    assert isinstance(body.get("traceId"), str)
    assert body["traceId"]
    if code is not None:
        assert error["code"] == code
    return error
