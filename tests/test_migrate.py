"""migrate: legacy reload-tasks to task files, field by field as the legacy API defines them."""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import respx
from dateutil.rrule import rruleset, rrulestr
from typer.testing import CliRunner

from reconciler import apidoc, model, schedule, taskfile
from reconciler.cli.commands import app
from reconciler.load import LoadedTask, LoadResult, load_text
from reconciler.migrate import LegacyFile, Migration, migrate, read_dump
from reconciler.validate import validate

# The example document of GET /api/v1/reload-tasks on the legacy reload-tasks reference page,
# verbatim.
LEGACY_EXAMPLE = json.loads(
    """
{
  "data": [
    {
      "appId": "116dbfae-7fb9-4983-8e23-5ccd8c508722",
      "partial": false,
      "timeZone": "America/Toronto",
      "autoReload": false,
      "recurrence": [
        "RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=11;BYMINUTE=18;BYSECOND=0",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0"
      ],
      "endDateTime": "2022-10-12T23:59:00",
      "startDateTime": "2022-09-19T11:18:00",
      "autoReloadPartial": false,
      "id": "5be59decca62aa00097268a4",
      "log": "Scheduled reload has been disabled since exceeded limit of 5 consecutive reload failures. Please fix error and re-enable schedule.",
      "links": {
        "self": {
          "href": "http://example.com"
        }
      },
      "state": "Enabled",
      "userId": "FyPG6xWp6prDU6BXQ3g7LY9gWR_YRkkx",
      "spaceId": "602c2c2be2be220002a22a22",
      "tenantId": "efSCcpNYuayTysONkUcE3F80zYQ_LV9w",
      "fortressId": "5c5b097116d25a0001a48b06",
      "disabledCode": "CONSECUTIVE-FAILURES",
      "lastExecutionTime": "2022-09-20T17:17:00Z",
      "nextExecutionTime": "2022-09-20T17:17:00Z"
    }
  ],
  "links": {
    "self": {
      "href": "http://example.com"
    },
    "next": {
      "href": "http://example.com"
    },
    "prev": {
      "href": "http://example.com"
    }
  }
}
"""
)
EXAMPLE = LEGACY_EXAMPLE["data"][0]
APP = EXAMPLE["appId"]
APP_NAMES = {APP: "Inventory Monitor"}
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def legacy(**changes: Any) -> dict[str, Any]:
    doc = {**EXAMPLE, **changes}
    return {k: v for k, v in doc.items() if v is not None}


def loaded(made: LegacyFile | Migration, schema: str | None = None) -> list[LoadedTask]:
    """The tasks of the written file(s), read back through the loader; no load problem allowed."""
    files = made.files if isinstance(made, Migration) else [made]
    result = LoadResult()
    for f in files:
        load_text(
            f"tasks/migrated/{f.stem}.yaml",
            taskfile.dump(f.documents, schema=schema).encode(),
            {},
            result,
        )
    assert not result.problems, [str(p) for p in result.problems]
    return result.tasks


def only(migration: Migration) -> LegacyFile:
    assert len(migration.files) == 1, migration
    return migration.files[0]


def comments(made: LegacyFile) -> str:
    return "\n".join(c for d in made.documents for c in d.comments)


# -- the reference example -----------------------------------------------------------------------


def test_read_dump_takes_the_list_answer_or_a_bare_array() -> None:
    assert read_dump(LEGACY_EXAMPLE) == [EXAMPLE]
    assert read_dump([EXAMPLE]) == [EXAMPLE]
    assert read_dump({"data": []}) == []
    for bad in ({"items": []}, "text", [1, 2], {"data": {"id": 1}}):
        with pytest.raises(ValueError, match="reload-tasks"):
            read_dump(bad)


def test_the_reference_example_becomes_two_tasks_in_one_file() -> None:
    made = only(migrate(read_dump(LEGACY_EXAMPLE), app_names=APP_NAMES))
    assert made.stem == "inventory-monitor"
    first, second = (d.data for d in made.documents)
    assert first == {
        "name": "Inventory Monitor (reload)",
        "migrateFrom": "5be59decca62aa00097268a4",
        "reload": {"appId": APP, "partial": False},
        "schedule": {
            "recurrence": "RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=11;BYMINUTE=18;BYSECOND=0",
            "timezone": "America/Toronto",
            "startDateTime": "2022-09-19T11:18:00",
            "endDateTime": "2022-10-12T23:59:00",
        },
        "enabled": True,
    }
    assert second == {
        "name": "Inventory Monitor (reload, rule 2 of 2)",
        "reload": {"appId": APP, "partial": False},
        "schedule": {
            "recurrence": "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0",
            "timezone": "America/Toronto",
            "startDateTime": "2022-09-19T11:18:00",
            "endDateTime": "2022-10-12T23:59:00",
        },
        "enabled": True,
    }
    said = comments(made)
    for fact in (
        "5be59decca62aa00097268a4",
        "rule 1 of 2",
        "FyPG6xWp6prDU6BXQ3g7LY9gWR_YRkkx",  # userId
        "602c2c2be2be220002a22a22",  # spaceId
        "CONSECUTIVE-FAILURES",
    ):
        assert fact in said


def test_the_written_file_reads_back_as_written_and_validates() -> None:
    made = only(migrate([EXAMPLE], app_names=APP_NAMES))
    text = taskfile.dump(made.documents, schema="../../schemas/task.schema.json")
    assert text.startswith("# yaml-language-server: $schema=../../schemas/task.schema.json\n")
    tasks = loaded(made)
    assert [t.data for t in tasks] == [dict(d.data) for d in made.documents]
    problems = validate(tasks, now=NOW)
    assert not [p for p in problems if p.severity == "error"], problems
    # The end is past: the migrated task is exempt, the second one is warned about.
    late = [p for p in problems if "in the past" in p.message]
    assert len(late) == 1
    separator = taskfile.dump(made.documents).splitlines().index("---") + 1
    assert late[0].line > separator


def _task_runs(tasks: list[LoadedTask], after: datetime, count: int) -> list[datetime]:
    runs = []
    for task in tasks:
        sched = apidoc.build(task, {}, model.MARKER)["start"]["schedule"]
        runs.append(schedule.next_runs(sched, after, count=count))
    return list(heapq.merge(*runs))[:count]


def _legacy_runs(doc: Mapping[str, Any], after: datetime, count: int) -> list[datetime]:
    """The legacy task's runs, straight from its fields with dateutil: the rules expand in local
    wall time from startDateTime, up to endDateTime."""
    tz = ZoneInfo(doc["timeZone"])
    start = datetime.fromisoformat(doc["startDateTime"])
    end = datetime.fromisoformat(doc["endDateTime"]) if doc.get("endDateTime") else None
    rules = rruleset()
    for line in doc["recurrence"]:
        rules.rrule(rrulestr(line, dtstart=start))
    out: list[datetime] = []
    wall = after.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    while len(out) < count:
        wall = rules.after(wall)
        if wall is None or (end is not None and wall > end):
            break
        moment = wall.replace(tzinfo=tz)
        if moment > after:
            out.append(moment)
    return out


@pytest.mark.parametrize(
    ("case", "changes", "after"),
    [
        ("verbatim", {}, datetime(2022, 9, 19, 11, 17, tzinfo=ZoneInfo("America/Toronto"))),
        ("into winter time", {"endDateTime": None}, datetime(2022, 10, 20, tzinfo=UTC)),
    ],
)
def test_the_tasks_run_when_the_legacy_task_ran(
    case: str, changes: dict[str, Any], after: datetime
) -> None:
    doc = legacy(**changes)
    tasks = loaded(only(migrate([doc], app_names=APP_NAMES)))
    assert len(tasks) == 2
    expected = _legacy_runs(doc, after, 20)
    assert len(expected) == 20
    assert _task_runs(tasks, after, 20) == expected
    if case == "into winter time":
        assert {r.utcoffset() for r in expected} == {timedelta(hours=-4), timedelta(hours=-5)}


# -- the mapping table, row by row ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "enabled", "said"),
    [
        ("Enabled", True, None),
        ("Disabled", False, "was Disabled"),
        ("Completed", False, "was Completed"),
        ("Paused", False, "unknown"),
    ],
)
def test_state_maps_to_enabled(state: str, enabled: bool, said: str | None) -> None:
    made = only(migrate([legacy(state=state, disabledCode=None)], app_names=APP_NAMES))
    assert [d.data["enabled"] for d in made.documents] == [enabled, enabled]
    if said is not None:
        assert said in comments(made)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"autoReload": True, "autoReloadPartial": True},
            [
                ("Inventory Monitor (reload)", "schedule", True),
                ("Inventory Monitor (reload, rule 2 of 2)", "schedule", False),
                ("Inventory Monitor (on data update)", "onDataUpdate", False),
            ],
            id="schedule and data update",
        ),
        pytest.param(
            {"autoReload": True, "recurrence": [], "startDateTime": ""},
            [("Inventory Monitor (on data update)", "onDataUpdate", True)],
            id="data update only",
        ),
        pytest.param(
            {"recurrence": [], "startDateTime": "", "endDateTime": None},
            [("Inventory Monitor (reload)", None, True)],
            id="no schedule: on demand",
        ),
        pytest.param(
            {"recurrence": ["FREQ=DAILY;BYHOUR=6", "EXDATE:20220920T110000"]},
            [("Inventory Monitor (reload)", "schedule", True)],
            id="a rule without prefix, an EXDATE",
        ),
    ],
)
def test_triggers(changes: dict[str, Any], expected: list[tuple[str, str | None, bool]]) -> None:
    made = only(migrate([legacy(**changes)], app_names=APP_NAMES))
    got = []
    for doc in (d.data for d in made.documents):
        trigger = (
            "schedule" if "schedule" in doc else "onDataUpdate" if "onDataUpdate" in doc else None
        )
        got.append((doc["name"], trigger, "migrateFrom" in doc))
    assert got == expected
    tasks = loaded(made)
    assert not [p for p in validate(tasks) if p.severity == "error"]


def test_auto_reload_partial_is_the_data_update_task_partial() -> None:
    made = only(
        migrate([legacy(autoReload=True, autoReloadPartial=True, partial=False)], app_names={})
    )
    by_trigger = {("onDataUpdate" in d.data): d.data for d in made.documents}
    assert by_trigger[True]["reload"] == {"appId": APP, "partial": True}
    assert by_trigger[False]["reload"] == {"appId": APP, "partial": False}


def test_rules_are_kept_as_written_with_the_prefix() -> None:
    made = only(
        migrate(
            [legacy(recurrence=["FREQ=DAILY;BYHOUR=6", "EXDATE:20220920T110000"])], app_names={}
        )
    )
    assert made.documents[0].data["schedule"]["recurrence"] == "RRULE:FREQ=DAILY;BYHOUR=6"
    assert any("EXDATE:20220920T110000" in n for n in made.notes)


def test_one_data_update_task_per_app() -> None:
    migration = migrate(
        [legacy(id="a1", autoReload=True), legacy(id="a2", autoReload=True)], app_names=APP_NAMES
    )
    data_update = [
        d.data["name"] for f in migration.files for d in f.documents if "onDataUpdate" in d.data
    ]
    assert data_update == ["Inventory Monitor (on data update)"]
    assert "data-update task is 'Inventory Monitor (on data update)'" in comments(
        migration.files[1]
    )
    assert not [p for p in validate(loaded(migration)) if p.severity == "error"]


@pytest.mark.parametrize(
    ("changes", "timezone", "start", "end", "note"),
    [
        ({}, "America/Toronto", "2022-09-19T11:18:00", "2022-10-12T23:59:00", None),
        (
            {"startDateTime": "2022-09-19T15:18:00Z", "endDateTime": "2022-10-13T03:59:00.000Z"},
            "America/Toronto",
            "2022-09-19T11:18:00",
            "2022-10-12T23:59:00",
            "written as America/Toronto local time",
        ),
        (
            {"timeZone": None, "startDateTime": "2022-09-19T11:18:00+02:00", "endDateTime": None},
            "Etc/GMT-2",
            "2022-09-19T11:18:00",
            None,
            "fixed offset +02:00, written as Etc/GMT-2",
        ),
        (
            {
                "timeZone": None,
                "timezone": "Europe/Zurich",
                "startDateTime": "2026-01-05T06:00:00+01:00",
                "endDateTime": None,
            },
            "Europe/Zurich",
            "2026-01-05T06:00:00",
            None,
            None,
        ),
        (
            {
                "timeZone": None,
                "recurrence": [
                    "DTSTART;TZID=Europe/Zurich:20260105T060000",
                    "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
                ],
                "startDateTime": "2026-07-06T06:00:00+02:00",
                "endDateTime": None,
            },
            "Europe/Zurich",
            "2026-07-06T06:00:00",
            None,
            None,
        ),
        (
            {
                "timeZone": "",
                "startDateTime": "2022-09-19T11:18:00-05:00",
                "endDateTime": "2022-10-12T23:59:00-05:00",
            },
            "Etc/GMT+5",
            "2022-09-19T11:18:00",
            "2022-10-12T23:59:00",
            None,
        ),
        (
            {"timeZone": None, "startDateTime": "2022-09-19T11:18:00Z", "endDateTime": None},
            "UTC",
            "2022-09-19T11:18:00",
            None,
            None,
        ),
        (
            {"timeZone": None, "startDateTime": "2022-09-19T11:18:00+05:30", "endDateTime": None},
            "UTC",
            "2022-09-19T05:48:00",
            None,
            "no whole hours",
        ),
        ({"startDateTime": "", "endDateTime": ""}, "America/Toronto", None, None, None),
    ],
)
def test_times_become_local_times_without_offset(
    changes: dict[str, Any], timezone: str, start: str | None, end: str | None, note: str | None
) -> None:
    made = only(migrate([legacy(**changes)], app_names={}))
    sched = made.documents[0].data["schedule"]
    assert sched.get("timezone") == timezone
    assert sched.get("startDateTime") == start
    assert sched.get("endDateTime") == end
    if note is not None:
        assert note in comments(made)
    tasks = loaded(made)
    assert not [p for p in validate(tasks) if p.severity == "error"]


def test_the_fixed_offset_zone_keeps_the_run_times() -> None:
    doc = legacy(timeZone=None, startDateTime="2022-09-19T11:18:00+02:00", endDateTime=None)
    tasks = loaded(only(migrate([doc], app_names={})))
    after = datetime(2022, 9, 19, tzinfo=UTC)
    first = schedule.next_runs(apidoc.build(tasks[0], {}, model.MARKER)["start"]["schedule"], after)
    assert first[0] == datetime(2022, 9, 19, 9, 18, tzinfo=UTC)


# -- names, files, skips --------------------------------------------------------------------------


def test_names_and_file_stems_are_unique_and_stable() -> None:
    docs = [
        legacy(id="b", recurrence=["RRULE:FREQ=DAILY"]),
        legacy(id="a", recurrence=["RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"]),
        legacy(id="c", appId="0a6e3c9b-2d4f-4a8e-9c1b-7f6e5d4c3b2a"),
    ]
    names = {APP: "Sales / ETL", "0a6e3c9b-2d4f-4a8e-9c1b-7f6e5d4c3b2a": "../Sales ETL"}
    migration = migrate(docs, app_names=names, taken_names={"Sales / ETL (reload)"})
    assert [(f.legacy_id, f.stem, f.task_names) for f in migration.files] == [
        ("c", "sales-etl", ["../Sales ETL (reload)", "../Sales ETL (reload, rule 2 of 2)"]),
        (
            "a",
            "sales-etl-2",
            ["Sales / ETL (reload, task 2)", "Sales / ETL (reload, task 2, rule 2 of 2)"],
        ),
        ("b", "sales-etl-3", ["Sales / ETL (reload, task 3)"]),
    ]
    assert (
        migrate(list(reversed(docs)), app_names=names, taken_names={"Sales / ETL (reload)"})
        == migration
    )
    tasks = loaded(migration)
    assert not [p for p in validate(tasks) if p.severity == "error"]


def test_an_app_without_a_readable_name_is_named_by_its_id() -> None:
    made = only(migrate([EXAMPLE], app_names={}))
    assert made.stem == APP
    assert made.task_names[0] == f"{APP} (reload)"
    assert "name could not be read" in comments(made)


@pytest.mark.parametrize(
    ("doc", "kwargs", "reason"),
    [
        (legacy(migrated=True), {}, "already migrated (the service flags it"),
        (
            legacy(),
            {"migrated_to": {EXAMPLE["id"]: "Inventory"}},
            "already migrated to task 'Inventory'",
        ),
        (legacy(), {"declared": {EXAMPLE["id"]: "tasks/x.yaml"}}, "already in git: tasks/x.yaml"),
        (legacy(appId=None), {}, "no appId"),
    ],
)
def test_skips(doc: dict[str, Any], kwargs: dict[str, Any], reason: str) -> None:
    migration = migrate([doc], app_names=APP_NAMES, **kwargs)
    assert migration.files == []
    (skipped,) = migration.skipped
    assert reason in skipped.reason


def test_with_now_a_task_the_service_would_refuse_says_so() -> None:
    made = only(migrate([EXAMPLE], app_names=APP_NAMES, now=NOW))
    assert any("refuses to create" in n for n in made.notes)
    assert "refuses to create" in "\n".join(made.documents[1].comments)
    assert "refuses to create" not in "\n".join(made.documents[0].comments)
    future = only(
        migrate([legacy(endDateTime="2030-01-01T00:00:00")], app_names=APP_NAMES, now=NOW)
    )
    assert not future.notes


# -- the command, offline -------------------------------------------------------------------------


@pytest.fixture
def dump_file(workdir: Path) -> Path:
    path = workdir / "reload-tasks.json"
    path.write_text(json.dumps(LEGACY_EXAMPLE))
    (workdir / "schemas").mkdir()
    (workdir / "schemas" / "task.schema.json").write_text("{}")
    return path


def test_migrate_from_file_writes_and_refuses_to_overwrite(
    runner: CliRunner, workdir: Path, dump_file: Path
) -> None:
    result = runner.invoke(
        app, ["migrate", "--out", "tasks/migrated", "--from-file", str(dump_file)]
    )
    assert result.exit_code == 0, result.output
    written = workdir / "tasks" / "migrated" / f"{APP}.yaml"
    text = written.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../schemas/task.schema.json\n")
    assert "wrote tasks/migrated/" in result.output
    assert "Migrated 1 legacy reload-task(s) into 2 task(s) in 1 file(s)" in result.output
    assert runner.invoke(app, ["validate"]).exit_code == 0

    written.write_text(text + "# edited\n")
    again = runner.invoke(
        app, ["migrate", "--out", "tasks/migrated", "--from-file", str(dump_file)]
    )
    assert again.exit_code == 1
    assert "refusing to overwrite 1 existing file(s)" in again.output
    assert "nothing was written" in again.output
    assert written.read_text().endswith("# edited\n")

    forced = runner.invoke(
        app, ["migrate", "--out", "tasks/migrated", "--from-file", str(dump_file), "--force"]
    )
    assert forced.exit_code == 0, forced.output
    assert written.read_text() == text


def test_migrate_skips_legacy_tasks_already_in_other_files(
    runner: CliRunner, workdir: Path, dump_file: Path
) -> None:
    assert (
        runner.invoke(app, ["migrate", "--out", "tasks/a", "--from-file", str(dump_file)]).exit_code
        == 0
    )
    result = runner.invoke(app, ["migrate", "--out", "tasks/b", "--from-file", str(dump_file)])
    assert result.exit_code == 0, result.output
    assert "already in git: tasks/a/" in result.output
    assert "Nothing to migrate" in result.output
    assert not (workdir / "tasks" / "b").exists()


def test_migrate_from_a_bad_file_is_one_clear_line(runner: CliRunner, workdir: Path) -> None:
    (workdir / "dump.json").write_text('{"items": []}')
    result = runner.invoke(app, ["migrate", "--out", "x", "--from-file", "dump.json"])
    assert result.exit_code == 1
    assert "error: dump.json: expected the answer of GET /api/v1/reload-tasks" in result.output
    assert not (workdir / "x").exists()


def test_a_tenant_without_the_legacy_endpoint_has_nothing_to_migrate(
    runner: CliRunner, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = "https://acme.eu.qlikcloud.com"
    monkeypatch.setenv("QLIK_TENANT_URL", tenant)
    monkeypatch.setenv("QLIK_API_KEY", "SECRET-unit-key")
    with respx.mock(base_url=tenant, assert_all_called=True) as mock:
        mock.get("/api/v1/reload-tasks").respond(
            404, json={"errors": [{"code": "HTTP-404", "title": "Not Found"}]}
        )
        result = runner.invoke(app, ["migrate", "--out", "tasks/migrated"])
    assert result.exit_code == 0, result.output
    assert "Nothing to migrate: this tenant has no legacy reload-tasks" in result.output
    assert not (workdir / "tasks").exists()
    assert "SECRET-unit-key" not in result.output


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        pytest.param({}, "its schedule has ended", id="the end is past"),
        pytest.param(
            {"recurrence": ["FREQ=FORTNIGHTLY;BYHOUR=6"], "endDateTime": "2030-01-01T00:00:00"},
            "the service would refuse this schedule",
            id="a rule the service refuses",
        ),
    ],
)
def test_a_task_the_service_would_refuse_is_written_disabled_saying_why(
    changes: dict[str, Any], said: str
) -> None:
    made = only(migrate([legacy(disabledCode=None, **changes)], app_names=APP_NAMES, now=NOW))
    first = made.documents[0]
    assert first.data["enabled"] is False
    assert any(c.startswith("Written disabled: ") and said in c for c in first.comments)
    assert any("is written disabled" in n for n in made.notes)
    assert all(d.data["enabled"] is False for d in made.documents)


def test_a_task_that_may_run_stays_enabled() -> None:
    made = only(
        migrate(
            [legacy(disabledCode=None, endDateTime="2030-01-01T00:00:00")],
            app_names=APP_NAMES,
            now=NOW,
        )
    )
    assert [d.data["enabled"] for d in made.documents] == [True, True]
    assert not any("Written disabled" in c for d in made.documents for c in d.comments)


def test_names_of_split_tasks_and_of_a_second_legacy_task_cannot_be_confused() -> None:
    two_rules = legacy(id="a", recurrence=["RRULE:FREQ=DAILY", "RRULE:FREQ=WEEKLY"])
    one_rule = legacy(id="b", recurrence=["RRULE:FREQ=HOURLY;BYMINUTE=0"])
    names = [
        n for f in migrate([two_rules, one_rule], app_names=APP_NAMES).files for n in f.task_names
    ]
    assert names == [
        "Inventory Monitor (reload)",
        "Inventory Monitor (reload, rule 2 of 2)",
        "Inventory Monitor (reload, task 2)",
    ]


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        pytest.param({"recurrence": 5}, "not a list of RRULEs", id="recurrence is a number"),
        pytest.param(
            {"timeZone": None, "startDateTime": "9999-12-31T23:59:59-12:00", "endDateTime": None},
            "out of range",
            id="a date past the last year",
        ),
    ],
)
def test_malformed_legacy_fields_are_notes_not_crashes(changes: dict[str, Any], said: str) -> None:
    made = only(migrate([legacy(**changes)], app_names=APP_NAMES, now=NOW))
    assert said in comments(made)
    assert made.documents[0].data["migrateFrom"] == EXAMPLE["id"]
