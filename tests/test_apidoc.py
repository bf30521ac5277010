"""Short form to API document: exactly the documents the README and the API reference describe."""

from __future__ import annotations

import copy

import pytest

from reconciler import apidoc
from reconciler.config import resolve_settings
from reconciler.desired import read_desired
from tests.conftest import APP_A, APP_B, REPO, tasks_from

MARKER = "managed-by:qlik-task-reconciler"


def test_scheduled_task_renders_exactly_as_documented() -> None:
    (task,) = tasks_from(
        f"""
        name: Sales ETL
        description: Nightly sales extract
        reload: {{appId: {APP_A}, partial: false}}
        schedule:
          recurrence: RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0
          timezone: Europe/Zurich
          startDateTime: 2026-01-01T06:00:00
        enabled: true
        """
    )
    assert apidoc.build(task, {}, MARKER) == {
        "name": "Sales ETL",
        "description": "Nightly sales extract",
        "enabled": True,
        "specVersion": "0.8",
        "version": "1.0.0",
        "annotations": ["managed-by:qlik-task-reconciler"],
        "start": {
            "stateName": "reload",
            "schedule": {
                "recurrence": "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
                "timezone": "Europe/Zurich",
                "startDateTime": "2026-01-01T06:00:00",
            },
        },
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
                                    "arguments": {"appId": APP_A, "partial": False},
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize(("when", "exclusive"), [("any", True), ("all", False)])
def test_chained_task_has_one_event_per_upstream(when: str, exclusive: bool) -> None:
    tasks = tasks_from(
        f"""
        name: Up
        reload: {{appId: {APP_A}}}
        ---
        name: Other
        reload: {{appId: {APP_A}}}
        ---
        name: Down
        reload: {{appId: {APP_B}}}
        after:
          - task: Up
          - task: Other
            status: any
        when: {when}
        """
    )
    doc = apidoc.build(tasks[2], {"Up": "id-up"}, MARKER)
    assert "start" not in doc
    assert doc["events"] == [
        {
            "name": "upstream-1",
            "type": "com.qlik.v1.task.run.finished",
            "source": "system-events.task",
            "correlation": [
                {"contextAttributeName": "id", "contextAttributeValue": "id-up"},
                {"contextAttributeName": "status", "contextAttributeValue": "succeeded"},
            ],
        },
        {
            "name": "upstream-2",
            "type": "com.qlik.v1.task.run.finished",
            "source": "system-events.task",
            "correlation": [
                {
                    "contextAttributeName": "id",
                    "contextAttributeValue": "(known after apply: Other)",
                }
            ],
        },
    ]
    state = doc["states"][0]
    assert state["exclusive"] is exclusive
    assert state["onEvents"][0]["eventRefs"] == ["upstream-1", "upstream-2"]
    assert apidoc.placeholders(doc) == {"Other"}
    assert apidoc.placeholders(apidoc.substitute(doc, {"Other": "id-other"})) == set()


def test_data_update_trigger() -> None:
    (task,) = tasks_from(f"name: S\nreload: {{appId: {APP_A}}}\nonDataUpdate: true\n")
    doc = apidoc.build(task, {}, MARKER)
    assert doc["events"] == [
        {
            "name": "dataset-updated",
            "type": "com.qlik/active-analytics-orch",
            "source": "dataset.updated",
            "correlation": [{"contextAttributeName": "appId", "contextAttributeValue": APP_A}],
        }
    ]
    assert doc["states"][0]["onEvents"][0]["eventRefs"] == ["dataset-updated"]


def test_full_form_is_sent_as_written_with_marker_and_references() -> None:
    tasks = tasks_from(
        f"""
        name: Up
        reload: {{appId: {APP_A}}}
        ---
        name: Full
        keepActive: true
        renamedFrom: [Old]
        events:
          - name: e1
            type: com.qlik.v1.task.run.finished
            source: system-events.task
            correlation:
              - {{contextAttributeName: id, taskRef: Up}}
        states:
          - name: s
            type: EVENT
            onEvents:
              - eventRefs: [e1]
                actions:
                  - functionRef: {{refName: app.reload, arguments: {{appId: {APP_B}}}}}
        """
    )
    doc = apidoc.build(tasks[1], {"Up": "id-up"}, MARKER)
    assert doc["keepActive"] is True
    assert "renamedFrom" not in doc
    assert doc["annotations"] == [MARKER]
    assert doc["events"][0]["correlation"] == [
        {"contextAttributeName": "id", "contextAttributeValue": "id-up"}
    ]
    assert doc["states"][0]["type"] == "EVENT"  # as written; comparison ignores case


def test_unquoted_dates_stay_as_written() -> None:
    (task,) = tasks_from(
        f"""
        name: S
        reload: {{appId: {APP_A}}}
        schedule: {{recurrence: "RRULE:FREQ=DAILY", startDateTime: 2026-01-01T06:00:00}}
        """
    )
    assert apidoc.build(task, {}, MARKER)["start"]["schedule"]["startDateTime"] == (
        "2026-01-01T06:00:00"
    )


def test_example_tree_is_valid_and_uses_every_feature() -> None:
    settings = resolve_settings(
        config_file=REPO / "reconciler.yaml",
        tasks=None,
        env="dev",
        tenant=None,
        environ={},
        cwd=REPO,
    )
    desired = read_desired(settings, now=None, cwd=REPO)
    docs = [apidoc.build(t, {}, MARKER) for t in desired.tasks]
    kinds = {
        (e["type"], c.get("contextAttributeValue"))
        for d in docs
        for e in d.get("events", [])
        for c in e["correlation"]
        if c["contextAttributeName"] == "status"
    }
    assert ("com.qlik.v1.task.run.finished", "failed") in kinds
    assert any(d["states"][0].get("exclusive") is False for d in docs)  # a join (when: all)
    assert any("cron" in d.get("start", {}).get("schedule", {}) for d in docs)
    assert any("recurrence" in d.get("start", {}).get("schedule", {}) for d in docs)
    assert any(
        e["type"] == "com.qlik/active-analytics-orch" for d in docs for e in d.get("events", [])
    )
    assert any("keepActive" in t.data for t in desired.tasks)  # a full-form file


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_example_variables_differ_per_environment(env: str) -> None:
    settings = resolve_settings(
        config_file=REPO / "reconciler.yaml", tasks=None, env=env, tenant=None, environ={}, cwd=REPO
    )
    task = read_desired(settings, now=None, cwd=REPO).named("Finance dashboard")
    assert task is not None
    action = apidoc.build(task, {}, MARKER)["states"][0]["onEvents"][0]["actions"][0]
    assert action["functionRef"]["arguments"]["appId"] == settings.vars["finance_app"]


def test_full_form_document_is_a_deep_copy_even_of_anchored_parts() -> None:
    tasks = tasks_from(
        f"""
        name: Up
        reload: {{appId: {APP_A}}}
        ---
        name: Full
        events:
          - name: e1
            type: com.qlik.v1.task.run.finished
            source: system-events.task
            correlation: &upstream
              - {{contextAttributeName: id, taskRef: Up}}
          - name: e2
            type: com.qlik.v1.task.run.finished
            source: system-events.task
            correlation: *upstream
        states:
          - name: s
            type: event
            onEvents:
              - eventRefs: [e1, e2]
                actions:
                  - functionRef: {{refName: app.reload, arguments: {{appId: {APP_B}}}}}
        """
    )
    before = copy.deepcopy(tasks[1].data)
    doc = apidoc.build(tasks[1], {"Up": "id-up"}, MARKER)
    resolved = [{"contextAttributeName": "id", "contextAttributeValue": "id-up"}]
    assert [e["correlation"] for e in doc["events"]] == [resolved, resolved]
    assert tasks[1].data == before  # the file's data is not touched
    doc["states"][0]["onEvents"][0]["eventRefs"].append("e3")
    assert tasks[1].data == before
