"""Deterministic benchmark workloads: a tasks repository of N task files and the live tenant state
that matches it (or differs from it by a chosen number of creates, updates and deletes).

Everything is drawn from one `random.Random(seed)`: the same seed and size give byte-identical files
and documents. The mix resembles a real repository: RRULE, cron and interval schedules in several
timezones, chains up to five tasks deep (some waiting for all upstreams, some on failure), data-update
triggers, app ids given through `${var.NAME}` environment variables, a few full-form documents, at
most seven tasks per app (the service allows ten).

Live documents are made by the product's own loader and renderer, with upstream ids resolved and the
ownership marker added: exactly what an apply of the same tree would have created.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import apidoc
from reconciler.load import LoadResult, load_text
from reconciler.model import MARKER

TASKS_PER_APP = 7
MAX_DEPTH = 5
ENV = "bench"
TIMEZONES = (
    "UTC",
    "Europe/Zurich",
    "Europe/London",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "Australia/Sydney",
)
CONFIG_HEADER = "# A generated benchmark repository.\ntasks: tasks/\n"


@dataclass(slots=True)
class TaskSpec:
    """One generated task: its file, its text, and the chain group it belongs to."""

    index: int
    name: str
    group: int
    relpath: str
    text: str
    upstreams: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Tree:
    """A generated repository: the task files and the variables they use."""

    tasks: list[TaskSpec]
    variables: dict[str, str]

    def groups(self) -> dict[int, list[TaskSpec]]:
        out: dict[int, list[TaskSpec]] = {}
        for spec in self.tasks:
            out.setdefault(spec.group, []).append(spec)
        return out


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _schedule(rng: random.Random) -> list[str]:
    """The `schedule:` block of a short-form task, as YAML lines."""
    zone = rng.choice(TIMEZONES)
    hour, minute = rng.randrange(24), rng.choice((0, 15, 30, 45))
    roll = rng.random()
    if roll < 0.25:
        body = [f"  recurrence: RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE={minute};BYSECOND=0"]
    elif roll < 0.40:
        days = ",".join(sorted(rng.sample(("MO", "TU", "WE", "TH", "FR"), rng.randint(1, 3))))
        body = [
            f"  recurrence: RRULE:FREQ=WEEKLY;BYDAY={days};BYHOUR={hour};BYMINUTE={minute};"
            "BYSECOND=0"
        ]
    elif roll < 0.50:
        day = rng.randint(1, 28)
        body = [
            f"  recurrence: RRULE:FREQ=MONTHLY;BYMONTHDAY={day};BYHOUR={hour};BYMINUTE=0;BYSECOND=0"
        ]
    elif roll < 0.70:
        body = [f'  cron: "{minute} {hour} * * 1-5"']
    elif roll < 0.80:
        body = [f'  cron: "*/{rng.choice((5, 10, 15, 30))} * * * *"']
    elif roll < 0.90:
        body = ["  cron:", f'    expression: "{minute} {hour} * * 0"']
    else:
        body = [f"  interval: R/2026-01-01T{hour:02d}:00:00Z/PT{rng.choice((1, 2, 4, 6))}H"]
        return ["schedule:", *body]
    body.append(f"  timezone: {zone}")
    if rng.random() < 0.7:
        body.append(f"  startDateTime: 2026-0{rng.randint(1, 9)}-01T{hour:02d}:{minute:02d}:00")
        if rng.random() < 0.2:
            body.append("  endDateTime: 2031-01-01T00:00:00")
    return ["schedule:", *body]


def _short(
    rng: random.Random, name: str, app: str, trigger: list[str], on_data_update: bool
) -> str:
    lines = [
        "# yaml-language-server: $schema=../../schemas/task.schema.json",
        f"name: {name}",
    ]
    if rng.random() < 0.6:
        lines.append(f"description: Reload of {name.lower()} for the benchmark")
    partial = "true" if rng.random() < 0.1 else "false"
    lines.append(f"reload: {{appId: {app}, partial: {partial}}}")
    lines.extend(trigger)
    if on_data_update:
        lines.append("onDataUpdate: true")
    if rng.random() < 0.05:
        lines.append("enabled: false")
    if rng.random() < 0.1:
        lines.append(f"annotations: [team:{rng.choice(('sales', 'finance', 'ops', 'hr'))}]")
    return "\n".join(lines) + "\n"


def _full(rng: random.Random, name: str, app: str, upstream: str | None) -> str:
    """A full-form document: the API shape, with `taskRef` in place of an upstream id."""
    hour = rng.randrange(24)
    lines = [f"name: {name}", "description: Written in the full form", "enabled: true"]
    if upstream is None:
        lines += [
            "start:",
            "  stateName: reload",
            "  schedule:",
            f"    recurrence: RRULE:FREQ=DAILY;BYHOUR={hour};BYMINUTE=0;BYSECOND=0",
            f"    timezone: {rng.choice(TIMEZONES)}",
        ]
        refs = "[]"
    else:
        lines += [
            "events:",
            "  - name: upstream-done",
            "    type: com.qlik.v1.task.run.finished",
            "    source: system-events.task",
            "    correlation:",
            "      - {contextAttributeName: id, taskRef: " + json.dumps(upstream) + "}",
            "      - {contextAttributeName: status, contextAttributeValue: succeeded}",
        ]
        refs = "[upstream-done]"
    lines += [
        "states:",
        "  - name: reload",
        "    type: event",
        "    end: true",
        "    onEvents:",
        f"      - eventRefs: {refs}",
        "        actions:",
        "          - name: reload-action",
        "            functionRef:",
        "              refName: app.reload",
        f"              arguments: {{appId: {app}, partial: false}}",
    ]
    return "\n".join(lines) + "\n"


def generate(n: int, seed: int = 1, *, prefix: str = "Task") -> Tree:
    """N tasks, one per file, in chain groups of one to five tasks."""
    rng = random.Random(seed)
    apps = [_uuid(rng) for _ in range(-(-n // TASKS_PER_APP))]
    variables = {f"app_{k:04d}": apps[k] for k in range(0, len(apps), 10)}
    via_variable = set(range(0, len(apps), 10))
    specs: list[TaskSpec] = []
    group = 0
    i = 0
    while i < n:
        size = min(n - i, rng.choices((1, 2, 3, 4, 5), weights=(50, 15, 15, 10, 10))[0])
        members: list[str] = []
        for depth in range(size):
            index = i + depth
            name = f"{prefix} {index:05d} {rng.choice(('sales', 'stock', 'hr', 'finance'))}"
            app_index = index // TASKS_PER_APP
            app = apps[app_index]
            if app_index in via_variable and index % 3 == 0:
                # Quoted: in the flow mapping `{appId: ...}` the variable's `}` would end it.
                app = f'"${{var.app_{app_index:04d}}}"'
            upstreams: list[str] = []
            trigger: list[str] = []
            on_data_update = False
            if depth == 0:
                roll = rng.random()
                if roll < 0.9:
                    trigger = _schedule(rng)
                elif roll < 0.95 and index % TASKS_PER_APP == 0:
                    on_data_update = True  # the first task of its app: one per app
            else:
                upstreams = [members[-1]]
                if depth >= 2 and rng.random() < 0.3:
                    upstreams.append(members[0])
                    trigger = ["after:", *(f"  - task: {u}" for u in upstreams), "when: all"]
                else:
                    status = rng.choices(("succeeded", "failed", "any"), weights=(85, 10, 5))[0]
                    trigger = ["after:", f"  - task: {upstreams[0]}", f"    status: {status}"]
            if rng.random() < 0.03 and len(upstreams) <= 1:
                text = _full(rng, name, app, upstreams[0] if upstreams else None)
            else:
                text = _short(rng, name, app, trigger, on_data_update)
            relpath = f"tasks/g{index // 100:03d}/t{index:05d}.yaml"
            specs.append(TaskSpec(index, name, group, relpath, text, upstreams))
            members.append(name)
        i += size
        group += 1
    return Tree(specs, variables)


def write_project(root: Path, tasks: Iterable[TaskSpec], variables: dict[str, str]) -> Path:
    """Write reconciler.yaml (environment `bench` with the variables) and the task files."""
    root.mkdir(parents=True, exist_ok=True)
    lines = [CONFIG_HEADER, "environments:", f"  {ENV}:", "    vars:"]
    lines += [f"      {k}: {v}" for k, v in variables.items()]
    (root / "reconciler.yaml").write_text("\n".join(lines) + "\n")
    for spec in tasks:
        path = root / spec.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(spec.text)
    return root


def live_documents(
    tasks: Sequence[TaskSpec], variables: dict[str, str], seed: int
) -> list[dict[str, Any]]:
    """The documents a tenant holds after applying `tasks`: rendered by the product, ids resolved."""
    result = LoadResult()
    for spec in tasks:
        load_text(spec.relpath, spec.text.encode(), variables, result)
    if result.problems:
        raise ValueError("generated tasks do not load: " + str(result.problems[0]))
    rng = random.Random(seed ^ 0x5EED)
    ids = {task.name: _uuid(rng) for task in result.tasks}
    docs = []
    for task in result.tasks:
        doc = apidoc.build(task, ids, MARKER)
        doc["id"] = ids[task.name]
        docs.append(doc)
    return docs


@dataclass(slots=True)
class ChangeSet:
    """A repository and a tenant that differ by `creates` + `updates` + `deletes` tasks."""

    git: list[TaskSpec]
    live: list[dict[str, Any]]
    variables: dict[str, str]
    creates: int
    updates: int
    deletes: int


def change_set(creates: int, updates: int, deletes: int, unchanged: int, seed: int) -> ChangeSet:
    """Whole chain groups are created, updated, deleted or left alone, so that every count is
    exact and no chain straddles two kinds (a create's downstream is created too)."""
    total = creates + updates + deletes + unchanged
    tree = generate(total, seed)
    rng = random.Random(seed + 1)
    groups = list(tree.groups().values())
    rng.shuffle(groups)
    want = {"create": creates, "update": updates, "delete": deletes, "keep": unchanged}
    kinds: dict[str, list[TaskSpec]] = {k: [] for k in want}
    for members in sorted(groups, key=len, reverse=True):  # big groups first, ones fill up
        kind = next((k for k in want if want[k] >= len(members)), None)
        if kind is None:
            raise ValueError("cannot split the generated groups exactly")
        want[kind] -= len(members)
        kinds[kind].extend(members)
    live_specs = kinds["update"] + kinds["delete"] + kinds["keep"]
    live = live_documents(live_specs, tree.variables, seed)
    changed = {s.name for s in kinds["update"]}
    for doc in live:
        if doc["name"] in changed:
            doc["description"] = "an older description"
    git = sorted(kinds["create"] + kinds["update"] + kinds["keep"], key=lambda s: s.index)
    return ChangeSet(git, live, tree.variables, creates, updates, deletes)
