"""ignoreDifferences: pointers and globs in reconciler.yaml, validated with locations; ignored
differences are not changes, are counted, and are kept as they are when a field is patched."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from reconciler import apidoc, ignore, planfile
from reconciler.config import resolve_settings
from reconciler.errors import ProblemsFound
from reconciler.load import LoadResult, load_text
from reconciler.model import MARKER
from reconciler.plan import Kind, Options, build_plan
from reconciler.report import plan_json

APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
TREE = f"""\
name: Sales ETL
description: nightly
reload: {{appId: {APP}}}
schedule:
  recurrence: RRULE:FREQ=DAILY;BYHOUR=6
  timezone: Europe/Zurich
  startDateTime: 2026-01-01T06:00:00
  endDateTime: 2030-01-01T00:00:00
---
name: Stock refresh
description: hourly
reload: {{appId: {APP}}}
"""


def _tasks() -> LoadResult:
    result = LoadResult()
    load_text("tasks/t.yaml", TREE.encode(), {}, result)
    assert not result.problems
    return result


def _live(**edits: Any) -> list[dict[str, Any]]:
    docs = []
    for i, task in enumerate(_tasks().tasks):
        doc = apidoc.build(task, {}, MARKER)
        doc["id"] = f"id-{i}"
        doc.update(edits.get(task.name, {}))
        docs.append(doc)
    return docs


def _schedule_edit(**changes: str) -> dict[str, Any]:
    doc = apidoc.build(_tasks().tasks[0], {}, MARKER)
    doc["start"]["schedule"].update(changes)
    return {"start": doc["start"]}


def _plan(live: list[dict[str, Any]], *rules: ignore.IgnoreRule) -> Any:
    return build_plan(_tasks().tasks, live, Options(marker=MARKER, ignore_rules=rules))


EDITED = {
    "Sales ETL": {"description": "edited in the hub"},
    "Stock refresh": {"description": "edited too"},
}


@pytest.mark.parametrize(
    ("rules", "updates", "ignored"),
    [
        ((), 2, 0),
        ((ignore.rule(["/description"]),), 0, 2),
        ((ignore.rule(["/description"], ["Sales *"]),), 1, 1),
        ((ignore.rule(["/description"], ["Sales ETL", "Stock*"]),), 0, 2),
        ((ignore.rule(["/description"], ["sales etl"]),), 2, 0),  # globs are case-sensitive
        ((ignore.rule(["/keepActive"]),), 2, 0),  # nothing differs there: nothing is ignored
    ],
)
def test_ignored_differences_are_not_changes_and_are_counted(
    rules: tuple[ignore.IgnoreRule, ...], updates: int, ignored: int
) -> None:
    plan = _plan(_live(**EDITED), *rules)
    assert len(plan.of(Kind.UPDATE)) == updates
    assert plan.ignored == ignored
    assert plan.summary()["ignored"] == ignored
    if ignored:
        assert f"{ignored} difference(s) ignored" in plan.summary_line()
    else:
        assert "ignored" not in plan.summary_line()


def test_an_ignored_inner_field_keeps_its_live_value_when_its_field_is_patched() -> None:
    live = _live(**{"Sales ETL": _schedule_edit(endDateTime="2031-06-30T00:00:00")})
    rule = ignore.rule(["/start/schedule/endDateTime"])
    assert not _plan(live, rule).actions  # only the ignored field differs
    assert _plan(live, rule).ignored == 1
    changed = _live(
        **{
            "Sales ETL": _schedule_edit(
                endDateTime="2031-06-30T00:00:00", recurrence="RRULE:FREQ=DAILY;BYHOUR=7"
            )
        }
    )
    (action,) = _plan(changed, rule).actions
    (op,) = action.patch
    assert op["path"] == "/start"
    assert op["value"]["schedule"]["recurrence"] == "RRULE:FREQ=DAILY;BYHOUR=6"  # git's
    assert op["value"]["schedule"]["endDateTime"] == "2031-06-30T00:00:00"  # kept as live has it


def test_an_ignored_field_whose_parent_is_missing_is_still_a_change() -> None:
    live = _live(**{"Sales ETL": {"start": None}})
    live[0].pop("start")
    plan = _plan(live, ignore.rule(["/start/schedule/endDateTime"]))
    assert [a.fields for a in plan.actions] == [["start"]]
    assert plan.ignored == 0


def test_adoption_still_adds_the_marker_when_annotations_are_ignored() -> None:
    live = _live()
    live[0]["annotations"] = []
    rules = (ignore.rule(["/annotations"]),)
    plan = build_plan(_tasks().tasks, live, Options(marker=MARKER, adopt=True, ignore_rules=rules))
    assert [a.fields for a in plan.actions] == [["annotations"]]


def test_the_ignored_count_survives_a_saved_plan() -> None:
    plan = _plan(_live(**EDITED), ignore.rule(["/description"], ["Sales*"]))
    text = plan_json.render(plan, tenant=None, generated_at=_now(), git_commit=None, requests=None)
    loaded, header = planfile.load(text)
    assert loaded.ignored == 1
    assert header["summary"]["ignored"] == 1


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ("/description", ("description",)),
        ("/start/schedule/endDateTime", ("start", "schedule", "endDateTime")),
        ("/annotations/0", ("annotations", "0")),
        ("/a~1b/c~0d", ("a/b", "c~d")),
    ],
)
def test_pointers(text: str, pointer: ignore.Pointer) -> None:
    assert ignore.parse_pointer(text) == pointer
    assert ignore.text(pointer) == text


def _config(tmp_path: Path, text: str, env: str | None = None) -> Any:
    (tmp_path / "reconciler.yaml").write_text(textwrap.dedent(text))
    return resolve_settings(
        config_file=None, tasks=None, env=env, tenant=None, environ={}, cwd=tmp_path
    )


def test_top_level_and_environment_rules_add_up(tmp_path: Path) -> None:
    settings = _config(
        tmp_path,
        """\
        ignoreDifferences:
          - fields: [/description]
            tasks: ["Sales *"]
        environments:
          prod:
            ignoreDifferences:
              - fields: /start/schedule/endDateTime
        """,
        env="prod",
    )
    assert settings.ignore == (
        ignore.IgnoreRule((("description",),), ("Sales *",)),
        ignore.IgnoreRule((("start", "schedule", "endDateTime"),), ("*",)),
    )
    assert len(_config(tmp_path, (tmp_path / "reconciler.yaml").read_text()).ignore) == 1


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("ignoreDifferences:\n  - fields: [description]\n", 2, "starts with '/'"),
        ("ignoreDifferences:\n  - fields: [/name]\n", 2, "identity"),
        ("ignoreDifferences:\n  - fields: [/a~2]\n", 2, "~0"),
        ("ignoreDifferences:\n  - fields: [/]\n", 2, "names no field"),
        ("ignoreDifferences:\n  - fields: []\n", 2, "fields"),
        ("ignoreDifferences:\n  - tasks: [x]\n", 2, "fields"),
        ("ignoreDifferences:\n  - fields: [/description]\n    task: [x]\n", 3, "task"),
        (
            "environments:\n  prod:\n    ignoreDifferences:\n      - fields:\n          - /ok\n"
            "          - nope\n",
            6,
            "starts with '/'",
        ),
    ],
)
def test_bad_rules_are_located(tmp_path: Path, body: str, line: int, words: str) -> None:
    (tmp_path / "reconciler.yaml").write_text(body)
    with pytest.raises(ProblemsFound) as caught:
        resolve_settings(
            config_file=None, tasks=None, env=None, tenant=None, environ={}, cwd=tmp_path
        )
    problem = caught.value.problems[0]
    assert problem.path.endswith("reconciler.yaml")
    assert problem.line == line
    assert words in problem.message
