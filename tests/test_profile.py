"""The tenant profile: settings, their validation in reconciler.yaml, and the two spellings of a
document (the tool's, and the one a tenant of the profile is sent and answers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler import normalize
from reconciler.apidoc import reload_state
from reconciler.config import resolve_settings
from reconciler.errors import ProblemsFound
from reconciler.model import MARKER
from reconciler.profile import (
    DEFAULT,
    Profile,
    merged,
    ops_need_description,
    ops_to_wire,
    split_description,
    to_view,
    to_wire,
    with_marker,
)

LINE = f"[{MARKER}]"
DESCRIBED = Profile(markerIn="description")


def chained(status: str = "succeeded") -> dict[str, Any]:
    return {
        "name": "Finance",
        "description": "Nightly",
        "enabled": True,
        "specVersion": "0.8",
        "annotations": [MARKER, "team:finance"],
        "events": [
            {
                "name": "upstream-1",
                "type": "com.qlik.v1.task.run.finished",
                "source": "system-events.task",
                "correlation": [
                    {"contextAttributeName": "id", "contextAttributeValue": "t-1"},
                    {"contextAttributeName": "status", "contextAttributeValue": status},
                ],
            }
        ],
        "states": [reload_state("app-1", event_refs=["upstream-1"])],
    }


@pytest.mark.parametrize(
    ("description", "shown", "marked"),
    [
        ("Nightly", "Nightly", False),
        (f"Nightly\n{LINE}", "Nightly", True),
        (LINE, "", True),
        (f"two\nlines\n{LINE}", "two\nlines", True),
        (f"{LINE}\nafter", f"{LINE}\nafter", False),  # only the last line is the marker
        (None, "", False),
    ],
)
def test_the_marker_is_the_descriptions_last_line(
    description: str | None, shown: str, marked: bool
) -> None:
    assert split_description(description, MARKER) == (shown, marked)
    assert split_description(with_marker(description, MARKER), MARKER) == (shown, True)


def test_default_profile_sends_the_document_as_rendered() -> None:
    doc = chained()
    assert to_wire(doc, MARKER, DEFAULT) == doc
    assert to_view(doc, MARKER, DEFAULT) == doc


@pytest.mark.parametrize(
    ("profile", "path", "expected"),
    [
        (Profile(stateType="EVENT"), ("states", 0, "type"), "EVENT"),
        (Profile(specVersion="1.16.0"), ("specVersion",), "1.16.0"),
        (
            Profile(statusCase="upper"),
            ("events", 0, "correlation", 1, "contextAttributeValue"),
            "SUCCEEDED",
        ),
        (DESCRIBED, ("description",), f"Nightly\n{LINE}"),
        (DESCRIBED, ("annotations",), ["team:finance"]),
    ],
)
def test_each_setting_changes_what_is_sent(
    profile: Profile, path: tuple[Any, ...], expected: Any
) -> None:
    node: Any = to_wire(chained(), MARKER, profile)
    for part in path:
        node = node[part]
    assert node == expected


def test_a_document_sent_and_answered_back_means_the_same() -> None:
    everything = Profile(
        stateType="EVENT", specVersion="1.16.0", statusCase="upper", markerIn="description"
    )
    doc = chained()
    back = to_view(to_wire(doc, MARKER, everything), MARKER, everything)
    assert back["description"] == "Nightly"
    assert MARKER in back["annotations"]
    same = ("name", "description", "events", "states", "annotations")
    assert {k: normalize.normalize(back)[k] for k in same} == {
        k: normalize.normalize(doc)[k] for k in same
    }


def test_a_full_form_spec_version_is_sent_as_written() -> None:
    doc = {**chained(), "specVersion": "0.9"}
    assert to_wire(doc, MARKER, Profile(specVersion="1.16.0"))["specVersion"] == "0.9"


@pytest.mark.parametrize(
    ("ops", "live_description", "expected"),
    [
        (
            [{"op": "replace", "path": "/description", "value": "New"}],
            None,
            [{"op": "replace", "path": "/description", "value": f"New\n{LINE}"}],
        ),
        (
            [{"op": "remove", "path": "/description"}],
            None,
            [{"op": "replace", "path": "/description", "value": LINE}],
        ),
        (  # adoption: the marker moves into the description the task already has
            [{"op": "replace", "path": "/annotations", "value": [MARKER]}],
            "Made by hand",
            [
                {"op": "replace", "path": "/annotations", "value": []},
                {"op": "replace", "path": "/description", "value": f"Made by hand\n{LINE}"},
            ],
        ),
        (  # the description already carries it: nothing to add
            [{"op": "add", "path": "/annotations", "value": [MARKER]}],
            f"x\n{LINE}",
            [{"op": "add", "path": "/annotations", "value": []}],
        ),
        (
            [{"op": "replace", "path": "/enabled", "value": True}],
            None,
            [{"op": "replace", "path": "/enabled", "value": True}],
        ),
    ],
)
def test_a_patch_keeps_the_marker_in_the_description(
    ops: list[dict[str, Any]], live_description: str | None, expected: list[dict[str, Any]]
) -> None:
    assert ops_to_wire(ops, MARKER, DESCRIBED, live_description) == expected


def test_only_an_adoption_needs_the_live_description() -> None:
    adopt: list[dict[str, Any]] = [{"op": "replace", "path": "/annotations", "value": [MARKER]}]
    assert ops_need_description(adopt, MARKER, DESCRIBED)
    assert not ops_need_description(adopt, MARKER, DEFAULT)
    both = [*adopt, {"op": "replace", "path": "/description", "value": "x"}]
    assert not ops_need_description(both, MARKER, DESCRIBED)


def test_a_patch_of_states_and_events_is_sent_in_the_profiles_spelling() -> None:
    doc = chained()
    ops = [
        {"op": "replace", "path": "/states", "value": doc["states"]},
        {"op": "replace", "path": "/events", "value": doc["events"]},
    ]
    wire = ops_to_wire(ops, MARKER, Profile(stateType="EVENT", statusCase="upper"))
    assert wire[0]["value"][0]["type"] == "EVENT"
    assert wire[1]["value"][0]["correlation"][1]["contextAttributeValue"] == "SUCCEEDED"
    assert doc["states"][0]["type"] == "event"  # the plan's own document is untouched


def test_an_environments_profile_overrides_the_top_level_one_key_by_key(tmp_path: Path) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        "profile: {pageLimit: 50, stateType: EVENT}\n"
        "environments:\n"
        "  prod:\n"
        "    tenant: https://acme.eu.qlikcloud.com\n"
        "    profile: {markerIn: description, pageLimit: 20}\n"
    )
    settings = resolve_settings(
        config_file=None, tasks=None, env="prod", tenant=None, environ={}, cwd=tmp_path
    )
    assert settings.profile == Profile(pageLimit=20, stateType="EVENT", markerIn="description")
    assert settings.profile.changed() == {
        "stateType": "EVENT",
        "pageLimit": 20,
        "markerIn": "description",
    }
    assert merged(None, None) == DEFAULT


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("markerIn: descr", 4),
        ("pageLimit: 0", 4),
        ("statusCase: UPPER", 4),
        ("stateTyp: EVENT", 4),
        ("specVersion: ''", 4),
    ],
)
def test_a_bad_setting_is_a_located_error(tmp_path: Path, setting: str, line: int) -> None:
    (tmp_path / "reconciler.yaml").write_text(
        f"environments:\n  dev:\n    profile:\n      {setting}\n"
    )
    with pytest.raises(ProblemsFound) as caught:
        resolve_settings(
            config_file=None, tasks=None, env="dev", tenant=None, environ={}, cwd=tmp_path
        )
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (line, 7)
    assert f"environments.dev.profile.{setting.split(':', maxsplit=1)[0]}" in problem.message
