"""import: live tasks to task files, short form where it round-trips exactly, full form otherwise."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler import apidoc, model, normalize, taskfile
from reconciler.chains import desired_graph
from reconciler.emulator import Emulator
from reconciler.importer import Imported, ImportResult, import_tasks
from reconciler.load import LoadedTask, LoadResult, load_text, load_tree
from reconciler.validate import validate
from tests.conftest import APP_A, EXAMPLES, REPO

MARKER = model.MARKER
UPSTREAM_OUTSIDE = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def example_tasks() -> list[LoadedTask]:
    config = yaml.safe_load((REPO / "reconciler.yaml").read_text())
    result = load_tree(EXAMPLES, config["environments"]["dev"]["vars"], root=REPO)
    assert not result.problems
    return result.tasks


@pytest.fixture(scope="module")
def live_examples() -> list[dict[str, Any]]:
    """The example tree as the service holds it once made by hand: real ids, no marker."""
    emulator = Emulator()
    tasks = {t.name: t for t in example_tasks()}
    ids: dict[str, str] = {}
    for name in desired_graph(list(tasks.values())).order():
        doc = apidoc.build(tasks[name], ids, MARKER)
        doc["annotations"] = [a for a in doc["annotations"] if a != MARKER]
        ids[name] = emulator.put_task_raw(doc)["id"]
    return emulator.tasks()


def written(result: ImportResult) -> list[LoadedTask]:
    """Every imported file, as text, read back through the loader (one tree)."""
    loaded = LoadResult()
    for item in result.imported:
        text = taskfile.dump([item.document], schema="../../schemas/task.schema.json")
        load_text(f"tasks/imported/{item.stem}.yaml", text.encode(), {}, loaded)
    assert not loaded.problems, [str(p) for p in loaded.problems]
    return loaded.tasks


def assert_round_trips(tasks: Sequence[LoadedTask], live: Sequence[Mapping[str, Any]]) -> None:
    """Rendering each file gives back its live task (with the marker adoption adds)."""
    by_name = {t["name"]: t for t in live}
    ids = {t.name: by_name[t.name]["id"] for t in tasks}
    for task in tasks:
        desired = apidoc.build(task, ids, MARKER)
        remote = by_name[task.name]
        adopted = {**remote, "annotations": [*(remote.get("annotations") or []), MARKER]}
        assert normalize.normalize(desired) == normalize.normalize(adopted, desired=desired)


def by_name(result: ImportResult) -> dict[str, Imported]:
    return {i.name: i for i in result.imported}


def test_every_example_task_imports_in_the_short_form_and_round_trips(
    live_examples: list[dict[str, Any]],
) -> None:
    result = import_tasks(live_examples, marker=MARKER)
    assert result.skipped == []
    assert sorted(by_name(result)) == sorted(t.name for t in example_tasks())
    assert {i.form for i in result.imported} == {"short"}
    tasks = written(result)
    assert not [p for p in validate(tasks) if p.severity == "error"]
    assert_round_trips(tasks, live_examples)
    chained = by_name(result)["Finance dashboard"].document.data
    assert chained["after"] == [
        {"task": "Sales ETL", "status": "succeeded"},
        {"task": "Budget load", "status": "succeeded"},
    ]
    assert chained["when"] == "all"
    # The full-form example says nothing the short form cannot: it comes back short.
    assert by_name(result)["HR headcount"].document.data["annotations"] == ["team:hr"]


def test_files_are_named_after_the_tasks(live_examples: list[dict[str, Any]]) -> None:
    result = import_tasks(live_examples, marker=MARKER)
    assert by_name(result)["Campaign results (hourly, on demand)"].stem == (
        "campaign-results-hourly-on-demand"
    )
    assert len({i.stem for i in result.imported}) == len(result.imported)


def _variant(live: list[dict[str, Any]], name: str, new_name: str, new_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(next(t for t in live if t["name"] == name))
    doc["name"], doc["id"] = new_name, new_id
    return doc


def test_what_the_short_form_cannot_say_comes_back_in_the_full_form(
    live_examples: list[dict[str, Any]],
) -> None:
    odd = _variant(
        live_examples, "Finance dashboard", "Odd", "0d0d0d0d-0000-4000-8000-000000000000"
    )
    odd["keepActive"] = True
    odd["events"][0]["correlation"].append(
        {"contextAttributeName": "datasetId", "contextAttributeValue": "dataset-1"}
    )
    live = [*live_examples, odd]
    result = import_tasks(live, marker=MARKER)
    item = by_name(result)["Odd"]
    assert item.form == "full"
    assert "keepActive" in item.notes[0] and "events" in item.notes[0]
    data = item.document.data
    assert data["keepActive"] is True
    assert "id" not in data and "metadata" not in data and "resourceId" not in data
    assert data["events"][0]["correlation"][0] == {
        "contextAttributeName": "id",
        "taskRef": "Sales ETL",
    }
    tasks = written(result)
    assert not [p for p in validate(tasks) if p.severity == "error"]
    assert_round_trips(tasks, live)


@pytest.mark.parametrize(
    ("change", "form"),
    [
        pytest.param(lambda d: d.update(description=""), "short", id="empty description"),
        pytest.param(lambda d: d.pop("enabled"), "short", id="no enabled: disabled"),
        pytest.param(lambda d: d.update(enabled=False), "short", id="disabled"),
        pytest.param(
            lambda d: d["states"][0].update(type="EVENT"), "short", id="enum in upper case"
        ),
        pytest.param(lambda d: d.update(key="sales"), "full", id="a key"),
        pytest.param(
            lambda d: d["start"].update(schedule="R/2026-01-01T06:00:00Z/PT1H"),
            "full",
            id="a bare interval string",
        ),
        pytest.param(
            lambda d: d["states"][0]["onEvents"][0]["actions"][0].update(name="other"),
            "full",
            id="another action name",
        ),
        pytest.param(
            lambda d: d["states"][0].update(name="main") or d["start"].update(stateName="main"),
            "full",
            id="another state name",
        ),
        pytest.param(
            lambda d: d["start"]["schedule"].update(timezone=None), "short", id="no timezone"
        ),
    ],
)
def test_forms(live_examples: list[dict[str, Any]], change: Any, form: str) -> None:
    doc = _variant(live_examples, "Sales ETL", "Variant", "0d0d0d0d-0000-4000-8000-000000000001")
    change(doc)
    live = [*live_examples, doc]
    result = import_tasks(live, marker=MARKER)
    assert by_name(result)["Variant"].form == form
    assert_round_trips(written(result), live)


def test_correlations_the_service_adds_do_not_force_the_full_form(
    live_examples: list[dict[str, Any]],
) -> None:
    doc = _variant(
        live_examples, "Finance dashboard", "Svc", "0d0d0d0d-0000-4000-8000-000000000002"
    )
    for event in doc["events"]:
        event["correlation"][1]["contextAttributeValue"] = "SUCCEEDED"
        event["correlation"] += [
            {"contextAttributeName": "appId", "contextAttributeValue": APP_A},
            {
                "contextAttributeName": "spaceId",
                "contextAttributeValue": "602c2c2be2be220002a22a22",
            },
        ]
    live = [*live_examples, doc]
    result = import_tasks(live, marker=MARKER)
    assert by_name(result)["Svc"].form == "short"
    assert_round_trips(written(result), live)


def test_upstreams_outside_git_stay_ids(live_examples: list[dict[str, Any]]) -> None:
    doc = _variant(live_examples, "Board pack", "Outside", "0d0d0d0d-0000-4000-8000-000000000003")
    doc["events"][0]["correlation"][0]["contextAttributeValue"] = UPSTREAM_OUTSIDE
    managed = _variant(live_examples, "Sales ETL", "Managed", UPSTREAM_OUTSIDE)
    managed["annotations"] = [MARKER]
    live = [*live_examples, doc, managed]
    result = import_tasks(live, marker=MARKER)
    assert "Managed" not in by_name(result)
    assert by_name(result)["Outside"].document.data["after"] == [
        {"taskId": UPSTREAM_OUTSIDE, "status": "succeeded"}
    ]
    assert_round_trips(written(result), live)


def test_all_imports_managed_tasks_too(live_examples: list[dict[str, Any]]) -> None:
    managed = _variant(live_examples, "Sales ETL", "Managed", UPSTREAM_OUTSIDE)
    managed["annotations"] = [MARKER, "team:sales"]
    result = import_tasks([*live_examples, managed], marker=MARKER, include_managed=True)
    item = by_name(result)["Managed"]
    assert item.document.data["annotations"] == ["team:sales"]


def _declared(name: str, path: str, **keys: Any) -> LoadedTask:
    """A task a task file declares: only its name and matching keys matter to import."""
    result = LoadResult()
    doc = {"name": name, "reload": {"appId": APP_A}, **keys}
    load_text(path, json.dumps(doc).encode(), {}, result)
    assert not result.problems
    return result.tasks[0]


def test_tasks_git_declares_are_left_out_and_referenced_by_name(
    live_examples: list[dict[str, Any]],
) -> None:
    declared = [_declared("Sales ETL", "tasks/sales/sales-etl.yaml")]
    result = import_tasks(live_examples, marker=MARKER, declared=declared)
    assert "Sales ETL" not in by_name(result)
    (skipped,) = result.skipped
    assert skipped.reason == "already declared in tasks/sales/sales-etl.yaml"
    alert = by_name(result)["Sales ETL failure alert"].document.data
    assert alert["after"] == [{"task": "Sales ETL", "status": "failed"}]


def test_of_two_tasks_with_one_name_the_oldest_is_imported(
    live_examples: list[dict[str, Any]],
) -> None:
    original = next(t for t in live_examples if t["name"] == "Sales ETL")
    copy_ = _variant(
        live_examples, "Sales ETL", "Sales ETL", "0d0d0d0d-0000-4000-8000-000000000004"
    )
    copy_["metadata"]["createdAt"] = "2099-01-01T00:00:00.000Z"
    result = import_tasks([copy_, *live_examples], marker=MARKER)
    assert [i.task_id for i in result.imported if i.name == "Sales ETL"] == [original["id"]]
    (skipped,) = result.skipped
    assert skipped.task_id == copy_["id"] and "rename one of them" in skipped.reason


def test_a_task_no_file_can_hold_is_skipped_with_the_reason(
    live_examples: list[dict[str, Any]],
) -> None:
    doc = _variant(live_examples, "Sales ETL", "Strange", "0d0d0d0d-0000-4000-8000-000000000005")
    doc["states"][0]["timeouts"] = {"eventTimeout": "PT1H"}
    result = import_tasks([*live_examples, doc], marker=MARKER)
    (skipped,) = result.skipped
    assert skipped.name == "Strange"
    assert "no task file can hold it" in skipped.reason and "timeouts" in skipped.reason


def test_references_to_a_task_that_gets_no_file_stay_ids(
    live_examples: list[dict[str, Any]],
) -> None:
    strange = next(t for t in live_examples if t["name"] == "Sales ETL")
    strange = {
        **strange,
        "states": [{**strange["states"][0], "timeouts": {"eventTimeout": "PT1H"}}],
    }
    live = [strange if t["name"] == "Sales ETL" else t for t in live_examples]
    result = import_tasks(live, marker=MARKER)
    assert [s.name for s in result.skipped] == ["Sales ETL"]
    alert = by_name(result)["Sales ETL failure alert"].document.data
    assert alert["after"] == [{"taskId": strange["id"], "status": "failed"}]
    assert not [p for p in validate(written(result)) if p.severity == "error"]


# -- the writer -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stem"),
    [
        ("Sales ETL", "sales-etl"),
        ("../../etc/passwd", "etc-passwd"),
        ("Campaign results (hourly, on demand)", "campaign-results-hourly-on-demand"),
        ("Zürich Bestände", "zurich-bestande"),
        ("日本", "task"),
        ("x" * 200, "x" * taskfile.MAX_STEM),
    ],
)
def test_slugs_are_safe_file_names(text: str, stem: str) -> None:
    assert taskfile.slug(text) == stem


def test_stems_are_deduplicated_in_order() -> None:
    assert taskfile.unique_stems(["A b", "a-b", "A B", "c"]) == ["a-b", "a-b-2", "a-b-3", "c"]


def test_the_schema_reference_is_relative_to_the_file() -> None:
    root = Path("/repo")
    assert taskfile.schema_reference(root / "tasks" / "migrated", root) == (
        "../../schemas/task.schema.json"
    )
    assert taskfile.schema_reference(root, root) == "schemas/task.schema.json"


def test_values_that_look_like_other_types_stay_text() -> None:
    data = {
        "name": "yes",
        "description": "true: 1.0 # not a comment ${not a var?}",
        "reload": {"appId": "123", "partial": False},
        "schedule": {"recurrence": "RRULE:FREQ=DAILY", "startDateTime": "2026-01-01T06:00:00"},
        "enabled": True,
        "annotations": ["null", "2026-01-01", "a: b"],
    }
    text = taskfile.dump([taskfile.Document(data, ("a comment", "two\nlines"))], schema="s.json")
    assert text.splitlines()[:4] == [
        "# yaml-language-server: $schema=s.json",
        "# a comment",
        "# two",
        "# lines",
    ]
    result = LoadResult()
    data["description"] = "true: 1.0 # not a comment"
    load_text("t.yaml", taskfile.dump([taskfile.Document(data)]).encode(), {}, result)
    assert not result.problems
    assert result.tasks[0].data == data


def test_a_hub_made_chain_with_other_event_names_comes_back_in_the_short_form(
    live_examples: list[dict[str, Any]],
) -> None:
    doc = _variant(
        live_examples, "Finance dashboard", "Hub chain", "0d0d0d0d-0000-4000-8000-000000000003"
    )
    renames = {e["name"]: f"hub-event-{i}" for i, e in enumerate(reversed(doc["events"]))}
    for event in doc["events"]:
        event["name"] = renames[event["name"]]
    doc["events"].reverse()
    for on_event in doc["states"][0]["onEvents"]:
        on_event["eventRefs"] = [renames[r] for r in on_event["eventRefs"]]
    live = [*live_examples, doc]
    result = import_tasks(live, marker=MARKER)
    assert by_name(result)["Hub chain"].form == "short"
    assert_round_trips(written(result), live)


def test_a_task_stored_in_the_tenants_own_spelling_imports_as_people_write_it() -> None:
    from reconciler import apidoc
    from reconciler.emulator import quirks
    from reconciler.load import LoadResult, load_text

    text = (
        "name: S\nreload: {appId: 116dbfae-7fb9-4983-8e23-5ccd8c508722}\n"
        "schedule: {recurrence: 'RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6',"
        " timezone: Europe/Zurich, startDateTime: '2026-01-01T06:00:00'}\n---\n"
        "name: C\nreload: {appId: 116dbfae-7fb9-4983-8e23-5ccd8c508722}\n"
        "schedule: {cron: '0 6 * * 1-5'}\n"
    )
    loaded = LoadResult()
    load_text("t.yaml", text.encode(), {}, loaded)
    spelled = quirks.resolve([q.name for q in quirks.QUIRKS if q.spelling])
    live = []
    for task in loaded.tasks:
        doc = apidoc.build(task, {}, MARKER)
        doc.update(id=f"{task.name}-id", annotations=[])
        quirks.rewrite_stored(spelled, doc)
        live.append(doc)
    result = import_tasks(live, marker=MARKER)
    assert not result.skipped
    schedules = {i.name: i.document.data["schedule"] for i in result.imported}
    assert schedules["S"] == {
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6",
        "timezone": "Europe/Zurich",
        "startDateTime": "2026-01-01T06:00:00",
    }
    assert schedules["C"] == {"cron": "0 6 * * 1-5", "timezone": "UTC"}


@pytest.mark.parametrize("include_managed", [False, True])
def test_a_task_git_declares_by_its_legacy_task_is_left_out(
    live_examples: list[dict[str, Any]], include_managed: bool
) -> None:
    made = _variant(live_examples, "Sales ETL", "Sales ETL (migrated)", UPSTREAM_OUTSIDE)
    made["metadata"]["migratedFrom"] = "5f1e"
    declared = [_declared("Sales ETL daily", "tasks/sales/daily.yaml", migrateFrom="5f1e")]
    result = import_tasks(
        [*live_examples, made], marker=MARKER, include_managed=include_managed, declared=declared
    )
    assert "Sales ETL (migrated)" not in by_name(result)
    skipped = {s.task_id: s.reason for s in result.skipped}
    assert skipped[UPSTREAM_OUTSIDE] == "already declared in tasks/sales/daily.yaml"


def test_a_managed_task_git_declares_under_a_new_name_is_left_out_with_all(
    live_examples: list[dict[str, Any]],
) -> None:
    old = _variant(live_examples, "Sales ETL", "Sales ETL old", UPSTREAM_OUTSIDE)
    old["annotations"] = [MARKER]
    declared = [_declared("Sales ETL new", "tasks/sales/new.yaml", renamedFrom=["Sales ETL old"])]
    result = import_tasks(
        [*live_examples, old], marker=MARKER, include_managed=True, declared=declared
    )
    assert "Sales ETL old" not in by_name(result)
    skipped = {s.task_id: s.reason for s in result.skipped}
    assert skipped[UPSTREAM_OUTSIDE] == "already declared in tasks/sales/new.yaml"
