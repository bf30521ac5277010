"""Owners in the plan, table-driven over plain data: who owns a task before and after apply, the
writes made as a declared owner, the problems that refuse a plan, renames in the hub, and what
turning a service-disabled task back on means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler import apidoc, hub_renames, model
from reconciler.config import DefaultOwner, resolve_settings
from reconciler.disabled import by_hand, enabling_words
from reconciler.drift import Category, build_report
from reconciler.errors import ProblemsFound
from reconciler.live import Live
from reconciler.load import LoadResult, load_text
from reconciler.owners import (
    Identities,
    Owners,
    Person,
    acting_key,
    acting_lookup,
    annotate,
    declared_owners,
    move_words,
    moves,
    owner_problems,
)
from reconciler.plan import Kind, Options, build_plan
from reconciler.report import drift_json, drift_text, plan_markdown, plan_text
from tests.conftest import APP_A, APP_B, tasks_from
from tests.test_drift import NOW

MARKER = model.MARKER
Doc = dict[str, Any]
ANNA = Person("u-anna", "Anna Berg", "active", "auth0|anna", "anna@example.com")
BEN = Person("u-ben", "Ben Okafor", "active", "auth0|ben", "ben@example.com")
CARLA = Person("u-carla", "Carla Diaz", "disabled", "auth0|carla", "carla@example.com")
BOT = Person("u-bot", "qlik-gitops", "active", "qlikbot|gitops")
TREE = f"""
name: Sales ETL
reload: {{appId: {APP_A}}}
---
name: Owned
owner: ben@example.com
reload: {{appId: {APP_B}}}
"""


def live_of(text: str = TREE, owner: str = "u-anna", managed: bool = True) -> list[Doc]:
    docs = []
    for task in tasks_from(text):
        doc = apidoc.build(task, {}, MARKER if managed else "")
        if not managed:
            doc["annotations"] = []
        doc["id"] = "id-" + task.name.lower().replace(" ", "-")
        doc["metadata"] = {"createdAt": "2026-01-02T00:00:00Z", "ownerId": owner}
        docs.append(doc)
    return docs


def ids(oauth: bool = True, refusals: dict[str, str | None] | None = None) -> Identities:
    people = {p.id: p for p in (ANNA, BEN, CARLA, BOT)}
    resolved: dict[str, Person | None] = {
        "ben@example.com": BEN,
        "auth0|anna": ANNA,
        "carla@example.com": CARLA,
        "qlik-gitops@example.com": BOT,
        "nobody@example.com": None,
    }
    return Identities(BOT, people, resolved, refusals or {}, oauth)


def planned(text: str, live: list[Doc], identities: Identities, adopt: bool = False) -> Any:
    tasks = tasks_from(text)
    plan = build_plan(tasks, live, Options(marker=MARKER, adopt=adopt))
    owners = Owners.of(identities, declared_owners(tasks, None))
    annotate(plan, tasks, live, owners)
    return plan


def test_creates_belong_to_the_writer_and_declared_owners_are_acted_as() -> None:
    plan = planned(TREE, [], ids())
    by_name = {a.name: a for a in plan.actions}
    assert by_name["Sales ETL"].owner_after == BOT.to_json()
    assert by_name["Sales ETL"].act_as is None
    assert by_name["Owned"].owner_after == BEN.to_json()
    assert by_name["Owned"].act_as == "subject:auth0|ben"
    assert moves(plan) == 0


def test_an_adoption_moves_ownership_and_says_so() -> None:
    plan = planned(TREE.split("---", maxsplit=1)[0], live_of(managed=False)[:1], ids(), adopt=True)
    (action,) = plan.actions
    assert action.owner_before == ANNA.to_json()
    assert action.owner_after == BOT.to_json()
    words = "owner: Anna Berg → qlik-gitops (reloads will run as qlik-gitops)"
    assert move_words(action) == words
    assert words in plan_text.render(plan, now=NOW)
    assert "1 ownership move" in plan_markdown.render(plan, now=NOW).splitlines()[1]
    assert action.to_json()["owner_before"] == {"id": "u-anna", "name": "Anna Berg"}


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        ("u-ben", None),  # already the declared owner: nothing to do
        ("u-anna", ("Anna Berg", "Ben Okafor")),  # changed behind git's back
    ],
)
def test_an_owner_that_is_not_the_declared_one_is_an_update(
    owner: str, expected: tuple[str, str] | None
) -> None:
    live = live_of()
    live[1]["metadata"]["ownerId"] = owner
    live[0]["metadata"]["ownerId"] = "u-anna"  # not declared: whoever owns it, no change
    plan = planned(TREE, live, ids())
    if expected is None:
        assert plan.actions == []
        return
    (action,) = plan.actions
    assert (action.kind, action.name, action.fields) == (Kind.UPDATE, "Owned", ["owner"])
    assert action.owner_before == {"id": owner, "name": expected[0]}
    assert action.owner_after == BEN.to_json()
    assert action.patch == [{"op": "replace", "path": "/name", "value": "Owned"}]
    assert action.act_as == "subject:auth0|ben"


@pytest.mark.parametrize(
    ("spec", "identities", "words"),
    [
        ("nobody@example.com", ids(), "is not a user of this tenant"),
        ("carla@example.com", ids(), "disabled"),
        ("ben@example.com", ids(oauth=False), "API key"),
        (
            "ben@example.com",
            ids(refusals={"u-ben": "HTTP 400"}),
            "urn:qlik:oauth:user-impersonation",
        ),
        ("ben@example.com", ids(), None),
        ("qlik-gitops@example.com", ids(oauth=False), None),  # the caller itself
    ],
)
def test_owner_problems_are_located_and_say_what_to_change(
    spec: str, identities: Identities, words: str | None
) -> None:
    text = f"name: Owned\nowner: {spec}\nreload: {{appId: {APP_B}}}\n"
    problems = owner_problems(declared_owners(tasks_from(text), None), identities)
    if words is None:
        assert problems == []
        return
    (problem,) = problems
    assert (problem.path, problem.line) == ("tasks/t.yaml", 2)
    assert words in problem.message
    assert str(ProblemsFound(problems))


def test_the_environment_default_owner_is_declared_where_it_is_written() -> None:
    text = f"name: A\nreload: {{appId: {APP_A}}}\n---\nname: B\nowner: auth0|anna\nreload: {{appId: {APP_A}}}\n"
    default = DefaultOwner("ben@example.com", "reconciler.yaml", 7, 24)
    declared = declared_owners(tasks_from(text), default)
    assert (declared["A"].spec, declared["A"].path, declared["A"].line) == (
        "ben@example.com",
        "reconciler.yaml",
        7,
    )
    assert declared["B"].spec == "auth0|anna"


def test_acting_keys_round_trip() -> None:
    assert acting_lookup(acting_key(BEN)) == ("subject", "auth0|ben")
    assert acting_lookup(acting_key(Person("u-x", "X"))) == ("userId", "u-x")


@pytest.mark.parametrize(
    ("code", "note"),
    [
        ("APP-SCRIPT-UPDATED", "the app's new load script will run, as qlik-gitops"),
        ("OWNER-MOVED", "reloads run as qlik-gitops"),
        ("SCHEDULE-EXPIRED", "runs on its schedule again"),
        ("MANUALLY", None),
    ],
)
def test_turning_a_service_disabled_task_back_on_says_why_and_what_it_means(
    code: str, note: str | None
) -> None:
    live = live_of(TREE.split("---", maxsplit=1)[0])
    live[0]["enabled"] = False
    live[0]["metadata"]["disabledCode"] = code
    plan = planned(TREE.split("---", maxsplit=1)[0], live, ids())
    (action,) = plan.actions
    assert action.fields == ["enabled"]
    if note is None:
        assert action.notes == []
        assert by_hand(code)
        return
    (written,) = action.notes
    assert note in written
    assert written == enabling_words(code, "qlik-gitops")
    assert written in plan_text.render(plan, now=NOW)


def test_a_task_renamed_in_the_hub_is_offered_renamed_from() -> None:
    live = live_of(TREE.split("---", maxsplit=1)[0])
    live[0]["name"] = "Sales ETL (renamed in the hub)"
    tasks = tasks_from(TREE.split("---", maxsplit=1)[0])
    plan = build_plan(tasks, live, Options(marker=MARKER))
    assert sorted(a.kind for a in plan.actions) == [Kind.CREATE, Kind.DELETE]
    (rename,) = hub_renames.mark(plan)
    assert (rename.name, rename.hub_name, rename.task_id) == (
        "Sales ETL",
        "Sales ETL (renamed in the hub)",
        "id-sales-etl",
    )
    create = next(a for a in plan.actions if a.kind is Kind.CREATE)
    assert 'renamedFrom: ["Sales ETL (renamed in the hub)"]' in create.notes[0]
    assert any("renamedFrom" in w for w in plan.warnings)

    followed = tasks_from(
        TREE.split("---", maxsplit=1)[0] + 'renamedFrom: ["Sales ETL (renamed in the hub)"]\n'
    )
    kept = build_plan(followed, live, Options(marker=MARKER))
    assert [(a.kind, a.task_id) for a in kept.actions] == [(Kind.UPDATE, "id-sales-etl")]


def test_a_different_task_is_not_a_rename() -> None:
    live = live_of(TREE.split("---", maxsplit=1)[0])
    live[0]["name"] = "Something else"
    live[0]["description"] = "another task"
    plan = build_plan(tasks_from(TREE.split("---", maxsplit=1)[0]), live, Options(marker=MARKER))
    assert hub_renames.mark(plan) == []


@pytest.mark.parametrize(
    ("value", "column"),
    [('""', 8), ('" ben@example.com"', 8), ('"ben\\a@example.com"', 8), ("[ben]", 8)],
)
def test_a_malformed_owner_is_a_located_validation_error(value: str, column: int) -> None:
    result = LoadResult()
    text = f"name: Owned\nowner: {value}\nreload: {{appId: {APP_B}}}\n"
    load_text("tasks/t.yaml", text.encode(), {}, result)
    (problem,) = result.problems
    assert (problem.path, problem.line) == ("tasks/t.yaml", 2)
    assert "owner" in problem.message


def test_the_schema_knows_owner() -> None:
    schema = model.json_schema()
    assert "owner" in schema["$defs"]["ShortTask"]["properties"]
    assert "owner" in schema["$defs"]["FullTask"]["properties"]


def test_defaults_owner_in_reconciler_yaml_is_located(tmp_path: Path) -> None:
    config = tmp_path / "reconciler.yaml"
    config.write_text(
        "environments:\n"
        "  prod:\n"
        "    tenant: https://acme.eu.qlikcloud.com\n"
        "    defaults: {owner: qlik-reloads@example.com}\n"
    )
    settings = resolve_settings(
        config_file=config, tasks=None, env="prod", tenant=None, environ={}, cwd=tmp_path
    )
    assert settings.default_owner is not None
    assert (settings.default_owner.spec, settings.default_owner.line) == (
        "qlik-reloads@example.com",
        4,
    )
    plain = resolve_settings(
        config_file=config, tasks=None, env=None, tenant=None, environ={}, cwd=tmp_path
    )
    assert plain.default_owner is None


@pytest.mark.parametrize(
    "defaults", ["{owner: ' padded'}", "{owner: [a]}", "{ownr: a@example.com}"]
)
def test_a_bad_default_owner_is_a_located_error(tmp_path: Path, defaults: str) -> None:
    config = tmp_path / "reconciler.yaml"
    config.write_text(f"environments:\n  prod:\n    defaults: {defaults}\n")
    with pytest.raises(ProblemsFound) as info:
        resolve_settings(
            config_file=config, tasks=None, env="prod", tenant=None, environ={}, cwd=tmp_path
        )
    (problem,) = info.value.problems
    assert problem.line == 3
    assert "defaults" in problem.message


def test_drift_names_owners_who_changed_and_disabled_by_hand() -> None:
    live = live_of()
    owned = live[1]
    owned["metadata"].update(updatedBy="u-anna", updatedAt="2026-11-30T09:00:00Z")
    live[0]["enabled"] = False
    live[0]["metadata"]["disabledCode"] = "MANUALLY"
    tasks = tasks_from(TREE)
    owners = Owners.of(ids(), declared_owners(tasks, None))
    report = build_report(tasks, Live(tasks=live), marker=MARKER, owners=owners)
    by_name = {t.name: t for t in report.tasks}
    assert [f.category for f in by_name["Sales ETL"].findings] == [Category.DISABLED_BY_HAND]
    (modified,) = by_name["Owned"].findings
    assert modified.category is Category.MODIFIED
    assert "owned by Anna Berg; git declares Ben Okafor" in modified.message
    assert modified.changed_by == ANNA.to_json()
    assert modified.changed_at == "2026-11-30T09:00:00Z"
    assert by_name["Owned"].owner == ANNA.to_json()
    text = drift_text.render(report)
    assert "Disabled by hand" in text
    assert "last changed by Anna Berg at 2026-11-30T09:00:00Z" in text
    assert "owner Anna Berg" in text
    assert drift_json.task_json(by_name["Owned"])["owner"] == ANNA.to_json()


@pytest.mark.parametrize(
    ("spec", "reported"),
    [
        ("nobody@example.com", True),
        ("carla@example.com", True),
        ("ben@example.com", False),  # an API key could not act as Ben, but drift writes nothing
    ],
)
def test_drift_reports_only_owners_that_cannot_own(spec: str, reported: bool) -> None:
    text = f"name: Owned\nowner: {spec}\nreload: {{appId: {APP_B}}}\n"
    problems = owner_problems(
        declared_owners(tasks_from(text), None), ids(oauth=False), acting=False
    )
    assert bool(problems) is reported
