"""The central promise, as a property: after apply, plan is empty, whatever the starting tenant.

Random starting tenants (managed, unmanaged, drifted, duplicated, chained) and random desired trees
run through plan and apply against the in-process emulator; then a new plan has nothing to do, and
every unmanaged task that git does not name is exactly as it was.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler import apidoc, taskdoc
from reconciler.apply import apply_plan
from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.emulator import quirks as emulator_quirks
from reconciler.load import LoadResult, load_text
from reconciler.model import MARKER
from reconciler.plan import Options, build_plan
from reconciler.qlik.auth import Credentials, Secret
from reconciler.qlik.client import RateLimits, TenantClient
from reconciler.validate import validate

APPS = [f"{i}a6e3c9b-2d4f-4a8e-9c1b-7f6e5d4c3b2a" for i in range(6)]
NAMES = [f"Task {c}" for c in "ABCDEFG"]


@st.composite
def desired_trees(draw: st.DrawFn) -> str:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=0, max_size=6, unique=True))
    docs = []
    data_update_apps: set[str] = set()
    for i, name in enumerate(names):
        app = draw(st.sampled_from(APPS))
        lines = [f"name: {name}", f"reload: {{appId: {app}, partial: {draw(st.booleans())}}}"]
        kind = draw(st.sampled_from(["schedule", "cron", "chain", "data", "demand"]))
        if kind == "chain" and i > 0:
            ups = draw(st.lists(st.sampled_from(names[:i]), min_size=1, max_size=2, unique=True))
            lines.append("after:")
            for up in ups:
                status = draw(st.sampled_from(["succeeded", "failed", "any"]))
                lines.append(f"  - {{task: {up}, status: {status}}}")
            lines.append(f"when: {draw(st.sampled_from(['any', 'all']))}")
        elif kind == "schedule":
            hour = draw(st.integers(0, 23))
            tz = draw(st.sampled_from(["UTC", "Europe/Zurich", "America/Toronto"]))
            rule = draw(
                st.sampled_from(
                    [
                        f"RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE=0;BYSECOND=0",
                        f"RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR={hour}",
                        f"FREQ=HOURLY;INTERVAL=2;BYMINUTE={hour}",
                    ]
                )
            )
            end = draw(st.sampled_from(["", ", endDateTime: '2036-06-30T12:00:00'"]))
            lines.append(
                f"schedule: {{recurrence: '{rule}',"
                f" timezone: {tz}, startDateTime: '2026-01-01T00:00:00'{end}}}"
            )
        elif kind == "cron":
            lines.append(f"schedule: {{cron: '0 {draw(st.integers(0, 23))} * * 1-5'}}")
        elif kind == "data" and app not in data_update_apps:
            data_update_apps.add(app)
            lines.append("onDataUpdate: true")
        if draw(st.booleans()):
            lines.append(f"description: {draw(st.sampled_from(['nightly', 'hourly', 'x']))}")
        if not draw(st.integers(0, 4)):
            lines.append("enabled: false")
        docs.append("\n".join(lines) + "\n")
    return "---\n".join(docs)


def _load(text: str) -> LoadResult:
    result = LoadResult()
    if text:
        load_text("tasks/t.yaml", text.encode(), {}, result)
    return result


@st.composite
def live_tasks(draw: st.DrawFn, tree: LoadResult) -> list[dict[str, Any]]:
    """Live documents: some rendered from the tree (then maybe drifted), some strangers."""
    out = []
    for _ in range(draw(st.integers(0, 6))):
        managed = draw(st.booleans())
        if tree.tasks and draw(st.booleans()):
            task = draw(st.sampled_from(tree.tasks))
            doc = apidoc.build(task, {}, MARKER)
            doc["events"] = (
                [  # ids that do not exist: a stale chain
                    {
                        **e,
                        "correlation": [
                            {**c, "contextAttributeValue": "0" * 8}
                            if c["contextAttributeName"] == "id"
                            else c
                            for c in e["correlation"]
                        ],
                    }
                    for e in doc.get("events", [])
                ]
                or doc.pop("events", None)
                or []
            )
            if not doc["events"]:
                doc.pop("events")
        else:
            task_doc = _load(
                f"name: {draw(st.sampled_from(NAMES))}\nreload: {{appId: {draw(st.sampled_from(APPS))}}}\n"
            )
            doc = apidoc.build(task_doc.tasks[0], {}, MARKER)
        drift = draw(st.sampled_from(["none", "disabled", "description", "partial", "case"]))
        if drift == "disabled":
            doc["enabled"] = False
        elif drift == "description":
            doc["description"] = "edited by hand"
        elif drift == "partial":
            args = doc["states"][0]["onEvents"][0]["actions"][0]["functionRef"]["arguments"]
            args["partial"] = not args["partial"]
        elif drift == "case":
            doc["states"][0]["type"] = "EVENT"
        if not managed:
            doc["annotations"] = []
        doc["metadata"] = {"createdAt": f"2026-01-0{draw(st.integers(1, 9))}T00:00:00Z"}
        out.append(doc)
    return out


async def _converge(
    live: list[dict[str, Any]], tree: LoadResult, adopt: bool, quirks: tuple[str, ...] = ()
) -> None:
    emulator = Emulator(EmulatorConfig(quirks=quirks))
    for doc in live:  # tasks already there, stored in the tenant's own spelling
        emulator_quirks.rewrite_stored(emulator_quirks.resolve(quirks), doc)
    stored = [emulator.put_task_raw(doc) for doc in live]
    untouchable = {
        d["id"]: d
        for d in stored
        if MARKER not in (d.get("annotations") or [])
        and (not adopt or d["name"] not in {t.name for t in tree.tasks})
    }
    options = Options(marker=MARKER, adopt=adopt)
    client = TenantClient(
        "http://127.0.0.1",
        Credentials(api_key=Secret("k")),
        transport=emulator.transport(),
        limits=RateLimits(reads_per_minute=10**6, writes_per_minute=10**6),
    )
    async with client:
        first = build_plan(tree.tasks, await client.list_tasks(), options)
        result = await apply_plan(first, client, marker=MARKER)
        second = build_plan(tree.tasks, await client.list_tasks(), options)
    after = {t["id"]: t for t in emulator.tasks()}
    for task_id, before in untouchable.items():
        assert after[task_id] == before, "an unmanaged task was changed"
    assert not emulator.server_errors()
    if adopt:
        assert result.ok, [(o.action.name, o.status, o.detail) for o in result.outcomes]
        assert not second.actions, [(a.kind, a.name, a.reason) for a in second.actions]
    else:
        # Only conflicts remain, and the tasks that wait for a conflicted upstream, directly or
        # through another task that waits for one.
        blocked = {a.name for a in second.conflicts}
        waiting = True
        while waiting:
            waiting = False
            for action in second.actions:
                needs = apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)
                if action.name not in blocked and needs & blocked:
                    blocked.add(action.name)
                    waiting = True
        for action in second.actions:
            needs = apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)
            assert action.kind.value == "conflict" or needs & blocked, (
                action.kind,
                action.name,
                action.reason,
            )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), adopt=st.booleans())
def test_after_apply_plan_is_empty_whatever_the_starting_tenant(
    data: st.DataObject, adopt: bool
) -> None:
    _property(data, adopt, ())


# Every spelling the service may store, one at a time and all together: a few examples each, so
# that the suite stays quick; the property above explores the plain tenant further.
SPELLINGS = tuple(q.name for q in emulator_quirks.QUIRKS if q.spelling)


@pytest.mark.parametrize(
    "quirks",
    [(name,) for name in SPELLINGS] + [SPELLINGS],
    ids=lambda quirks: "all-spellings" if quirks == SPELLINGS else quirks[0],
)
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data(), adopt=st.booleans())
def test_after_apply_plan_is_empty_whatever_the_tenant_spells(
    quirks: tuple[str, ...], data: st.DataObject, adopt: bool
) -> None:
    _property(data, adopt, quirks)


def _property(data: st.DataObject, adopt: bool, quirks: tuple[str, ...]) -> None:
    tree = _load(data.draw(desired_trees()))
    assume(not tree.problems)
    assume(not [p for p in validate(tree.tasks) if p.severity == "error"])
    live = data.draw(live_tasks(tree))
    per_app: dict[str, int] = {}
    for doc in [*live, *(apidoc.build(t, {}, MARKER) for t in tree.tasks)]:
        app = taskdoc.app_id(doc) or ""
        per_app[app] = per_app.get(app, 0) + 1
    assume(max(per_app.values(), default=0) <= 10)
    asyncio.run(_converge(copy.deepcopy(live), tree, adopt, quirks))
