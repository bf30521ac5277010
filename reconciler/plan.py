"""Desired tasks + live tasks → a Plan: the exact, ordered list of what apply will do.

Pure: everything it needs is passed in (task files already loaded, the live listing, the legacy
listing); nothing is read or sent here. Terminology:

- managed: a live task carrying the marker annotation; only those are ever changed or deleted.
- unmanaged: a live task without the marker; listed, never touched (unless adopted).
- conflict: an unmanaged task holds the name of a desired task (nothing happens without --adopt).
- placeholder: `(known after apply: NAME)`, an upstream id apply learns when it creates NAME.

The plan's value types are owned by `reconciler.plan_values` and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from reconciler import apidoc, ignore, matching, normalize, verbatim
from reconciler.chains import ChainGraph, desired_graph, live_graph
from reconciler.load import LoadedTask, paused_gc
from reconciler.matching import How, Match, oldest_first
from reconciler.ownership import migrated_from
from reconciler.plan_values import Action, Kind, Options, Plan, RemoteTask

__all__ = [
    "Action",
    "Kind",
    "Options",
    "Plan",
    "RemoteTask",
    "build_plan",
]


FIELD_WORDS = {
    "start": "schedule",
    "events": "trigger",
    "states": "reload action",
    "enabled": "enabled",
    "keepActive": "keepActive",
}
"""How the API's top-level fields are called in reasons: words a Qlik person uses."""


def build_plan(
    tasks: Sequence[LoadedTask],
    live: Sequence[Mapping[str, Any]],
    options: Options,
    legacy: Sequence[Mapping[str, Any]] | None = None,
) -> Plan:
    """The plan that makes `live` match `tasks`. `legacy` is None when there is no legacy listing."""
    with paused_gc():
        return _build_plan(tasks, live, options, legacy)


def _build_plan(
    tasks: Sequence[LoadedTask],
    live: Sequence[Mapping[str, Any]],
    options: Options,
    legacy: Sequence[Mapping[str, Any]] | None,
) -> Plan:
    plan = Plan()
    marker = options.marker
    found = matching.match(tasks, live, marker, adopt=options.adopt)
    plan.matches = matches = found.matches
    plan.managed_count = found.listing.managed_count
    legacy_by_id = {str(t.get("id")): dict(t) for t in legacy or []}

    ids = found.ids()
    graph = desired_graph(tasks)
    by_name = {t.name: t for t in tasks}
    creates: list[Action] = []
    updates: list[Action] = []
    ignored: list[ignore.Pointer] = []
    for task in tasks:
        match = matches[task.name]
        desired = apidoc.build(task, ids, marker)
        ups = [u for u in graph.upstreams.get(task.name, []) if u in by_name]
        if match.how is How.CONFLICT:
            assert match.live is not None
            holds = (
                f"an unmanaged task already migrated from legacy reload-task "
                f"{task.spec.migrateFrom} exists ({match.live.get('name')!r}, id {match.live['id']})"
                if match.migrated
                else f"an unmanaged task with this name exists (id {match.live['id']})"
            )
            updates.append(
                Action(
                    Kind.CONFLICT,
                    task.name,
                    f"{holds}; use --adopt to manage it, or rename the task in git",
                    source=task.path,
                    task_id=str(match.live["id"]),
                )
            )
            continue
        if match.live is None:
            creates.append(_create(task, desired, ups, legacy, legacy_by_id, options))
            continue
        action = _update(task, desired, match, ups, options.ignore_rules, ignored)
        plan.ignored += len(ignored)
        ignored.clear()
        if action is not None and match.migrated:
            action.migrate_from = task.spec.migrateFrom
        pending_legacy = _pending_legacy(task, match.live, legacy_by_id, options)
        if action is None and pending_legacy:
            action = Action(
                Kind.MIGRATE,
                task.name,
                f"finish the migration: delete legacy reload-task {pending_legacy}, "
                "already migrated to this task",
                source=task.path,
                task_id=str(match.live["id"]),
                remote_fingerprint=normalize.fingerprint(match.live),
                upstreams=ups,
            )
        if action is not None:
            action.delete_legacy = pending_legacy
            updates.append(action)

    deletes = _deletes(live, found, options)
    if creates:  # upstreams first
        rank = {name: i for i, name in enumerate(graph.order())}
        creates.sort(key=lambda a: rank.get(a.name, len(rank)))
    plan.actions = creates + updates + deletes
    if options.targets:
        plan.actions = _targeted(plan.actions, graph, options.targets)
    conflicted = {a.name for a in plan.actions if a.kind is Kind.CONFLICT}
    for action in plan.actions:
        blocked = sorted(
            (apidoc.placeholders(action.after) | apidoc.placeholders(action.patch)) & conflicted
        )
        if blocked:
            plan.warnings.append(
                f"{action.name!r} runs after {', '.join(map(repr, blocked))}, which is in conflict: "
                "it will be skipped until the conflict is resolved (--adopt or a rename)"
            )
    held_by_git = {
        id(m.live)
        for m in matches.values()
        if m.live is not None and m.how in (How.ADOPT, How.CONFLICT)
    }
    for name, group in sorted(found.listing.unmanaged.items()):
        for doc in group:
            if id(doc) in held_by_git:
                continue
            plan.unmanaged.append(
                RemoteTask(str(doc.get("id")), name, f"app {doc.get('resourceId') or '?'}")
            )
    referenced = {t.spec.migrateFrom for t in tasks if t.spec.migrateFrom}
    for legacy_id, doc in legacy_by_id.items():
        if legacy_id not in referenced and not doc.get("migrated"):
            plan.legacy.append(
                RemoteTask(legacy_id, str(doc.get("appId") or ""), "not migrated; see `migrate`")
            )
    return plan


def _create(
    task: LoadedTask,
    desired: dict[str, Any],
    ups: list[str],
    legacy: Sequence[Mapping[str, Any]] | None,
    legacy_by_id: Mapping[str, Mapping[str, Any]],
    options: Options,
) -> Action:
    origin = task.spec.migrateFrom
    enable = bool(desired.get("enabled"))
    if origin and origin in legacy_by_id:
        return Action(
            Kind.MIGRATE,
            task.name,
            f"migrate legacy reload-task {origin} to a scheduling task"
            + ("" if options.keep_legacy else ", then delete the legacy task"),
            source=task.path,
            after=desired,
            upstreams=ups,
            migrate_from=origin,
            delete_legacy=None if options.keep_legacy else origin,
            enable=enable,
        )
    reason = "not in the tenant"
    if origin:
        reason += f"; legacy reload-task {origin} " + (
            "no longer exists" if legacy is not None else "cannot be read on this tenant"
        )
    return Action(
        Kind.CREATE,
        task.name,
        reason,
        source=task.path,
        after=desired,
        upstreams=ups,
        enable=enable,
    )


def _update(
    task: LoadedTask,
    desired: dict[str, Any],
    match: Match,
    ups: list[str],
    rules: Sequence[ignore.IgnoreRule] = (),
    ignored: list[ignore.Pointer] | None = None,
) -> Action | None:
    """The update of a matched task, or None. Differences at the pointers of `rules` are not
    changes; they are added to `ignored`."""
    ignored = [] if ignored is None else ignored
    live = match.live
    assert live is not None
    if verbatim.as_sent(desired, live):
        return None  # stored as it would be sent: the rules cannot tell the two apart
    have = normalize.normalize(live, desired=desired)
    want = normalize.normalize(desired)
    fields = normalize.changed_fields(want, have)
    pointers = ignore.pointers_for(rules, task.name) if fields else []
    if match.how is How.ADOPT:  # adoption adds the marker: annotations are never ignored then
        pointers = [p for p in pointers if p[0] != "annotations"]
    if pointers:
        want_seen, have_seen = normalize.copy_doc(want), normalize.copy_doc(have)
        ignored.extend(ignore.set_aside(pointers, want_seen, have_seen))
        fields = normalize.changed_fields(want_seen, have_seen)
    if not fields:
        return None
    detail = ", ".join(FIELD_WORDS.get(f, f) for f in fields)
    others = ", ".join(FIELD_WORDS.get(f, f) for f in fields if f != "name")
    if match.how is How.RENAME:
        reason = f"renamed from {match.renamed_from!r}" + (
            f"; also changes {others}" if others else ""
        )
    elif match.how is How.ADOPT:
        reason = f"adopt the unmanaged task of this name (it gets the marker); changes {detail}"
    elif match.how is How.MIGRATED:
        reason = f"the task migrated from the legacy reload-task differs from git: {detail}"
    else:
        reason = f"differs from git: {detail}"
    top_ignored = {p[0] for p in pointers if len(p) == 1}
    # Fields git states that the live document lacks ride along with a change that happens
    # anyway, so the service never sees a document without them (for example specVersion).
    riding = [k for k in desired if k not in live and k not in fields and k not in top_ignored]
    patch = ignore.keep_live(pointers, normalize.patch_ops(fields + riding, desired, live), live)
    sent = {op["path"][1:]: op["value"] for op in patch if "value" in op}
    before = {k: have.get(k) for k in fields}
    after = {k: sent.get(k, desired.get(k, want.get(k))) for k in fields}
    return Action(
        Kind.UPDATE,
        task.name,
        reason,
        source=task.path,
        task_id=str(live["id"]),
        before=before,
        after=after,
        patch=patch,
        fields=fields,
        upstreams=ups,
        remote_fingerprint=normalize.fingerprint(live),
    )


def _pending_legacy(
    task: LoadedTask,
    live: Mapping[str, Any],
    legacy_by_id: Mapping[str, Mapping[str, Any]],
    options: Options,
) -> str | None:
    origin = task.spec.migrateFrom
    if options.keep_legacy or not origin or origin not in legacy_by_id:
        return None
    if migrated_from(live) != origin:
        return None
    return origin


def _deletes(
    live: Sequence[Mapping[str, Any]],
    found: matching.Matching,
    options: Options,
) -> list[Action]:
    reasons: dict[str, tuple[dict[str, Any], str]] = {}
    for extra, kept in found.duplicates:
        reasons[str(extra["id"])] = (
            extra,
            f"duplicate of {kept['id']} (same name, managed); keeping the oldest, created "
            f"{oldest_first(kept)[0] or 'earlier'}",
        )
    if options.prune:
        for group in found.listing.managed.values():
            for doc in group:
                if str(doc["id"]) not in found.claimed and str(doc["id"]) not in reasons:
                    reasons[str(doc["id"])] = (
                        doc,
                        "managed by this tool, but no task file declares it any more",
                    )
    if not reasons:
        return []
    graph = live_graph(live)
    order = list(reversed(graph.order(reasons)))
    return [
        Action(
            Kind.DELETE,
            str(reasons[task_id][0].get("name")),
            reasons[task_id][1],
            task_id=task_id,
            before=normalize.normalize(reasons[task_id][0]),
            remote_fingerprint=normalize.fingerprint(reasons[task_id][0]),
        )
        for task_id in order
    ]


def _targeted(actions: list[Action], graph: ChainGraph, targets: Iterable[str]) -> list[Action]:
    keep = graph.closure_upstream(targets) | set(targets)
    return [a for a in actions if a.name in keep]
