"""Task files as pydantic models: the short form most users write and the full-form escape hatch.

A file's document is a full-form task when it has `states` (the API document itself);
otherwise it is a short-form task. Both reject unknown keys. Keys that steer the tool
rather than the task (`renamedFrom`, `migrateFrom`, `allowCycle`) are common to both.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)

MARKER = "managed-by:qlik-task-reconciler"
SPEC_VERSION = "0.8"
WORKFLOW_VERSION = "1.0.0"
RUN_FINISHED = "com.qlik.v1.task.run.finished"
RUN_FINISHED_SOURCE = "system-events.task"
DATA_UPDATED = "com.qlik/active-analytics-orch"
DATA_UPDATED_SOURCE = "dataset.updated"
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

Loc = tuple[str | int, ...]
"""A place in a task file: the keys and indexes from the document's root."""


class Strict(BaseModel):
    """Unknown keys are errors: a typo must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


NonEmpty = Annotated[str, StringConstraints(min_length=1)]
OWNER_HELP = (
    "Who owns the task, and so whom its reloads run as: an email, a subject or a user id. "
    "apply writes the task as this user (needs an OAuth client allowed user impersonation)."
)


def check_owner(value: str | None) -> str | None:
    """An `owner:` value: an email, a subject or a user id, as one printable word or phrase."""
    if value is None:
        return None
    if not value.strip() or value != value.strip():
        raise ValueError("owner must be an email, a subject or a user id, without spaces around it")
    if len(value) > 256 or not value.isprintable():
        raise ValueError("owner must be an email, a subject or a user id (printable, at most 256)")
    return value


class Reload(Strict):
    """The app to reload."""

    appId: NonEmpty = Field(description="The app's id (a UUID), or ${var.NAME}.")
    partial: bool = Field(default=False, description="A partial reload.")


class CronSpec(Strict):
    expression: NonEmpty
    validUntil: str | None = None


class Schedule(Strict):
    """When a task runs: exactly one of recurrence, cron or interval."""

    recurrence: str | None = Field(
        default=None, description="One RRULE, e.g. RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0"
    )
    cron: str | CronSpec | None = Field(
        default=None, description='A cron expression: "0 6 * * 1-5"'
    )
    interval: str | None = Field(default=None, description="An ISO 8601 repeating interval.")
    timezone: NonEmpty | None = Field(default=None, description="IANA name; default UTC.")
    startDateTime: str | None = Field(
        default=None, description="Local time without offset, e.g. 2026-01-01T06:00:00"
    )
    endDateTime: str | None = Field(default=None, description="Local time without offset.")


class Upstream(Strict):
    """One upstream of a chain: a task of this tree by name, or any task by id."""

    task: NonEmpty | None = Field(default=None, description="A task name from this tree.")
    taskId: NonEmpty | None = Field(default=None, description="The id of a task outside the tree.")
    status: Literal["succeeded", "failed", "any"] = Field(
        default="succeeded", description="Which outcome of the upstream triggers this task."
    )

    @model_validator(mode="after")
    def _one_reference(self) -> Upstream:
        if (self.task is None) == (self.taskId is None):
            raise ValueError("give exactly one of `task` (a name in this tree) or `taskId`")
        return self


class Common(Strict):
    """Keys shared by both forms."""

    name: NonEmpty = Field(description="Unique in the tenant; the task's identity.")
    description: str | None = None
    enabled: bool = Field(default=True, description="A task declared in git is meant to run.")
    annotations: list[str] = Field(default_factory=list)
    renamedFrom: list[NonEmpty] = Field(
        default_factory=list, description="Earlier names: rename the remote task in place."
    )
    migrateFrom: NonEmpty | None = Field(
        default=None, description="The id of the legacy reload-task this task replaces."
    )
    allowCycle: bool = Field(
        default=False, description="Allow this task to be part of a cycle (a continuous reload)."
    )
    owner: str | None = Field(default=None, description=OWNER_HELP)

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return check_owner(value)

    @field_validator("renamedFrom", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class ShortTask(Common):
    """The short form: an app to reload and at most one trigger."""

    # Where each part is written: problems about the part point there.
    APP_AT: ClassVar[Loc] = ("reload", "appId")
    SCHEDULE_AT: ClassVar[Loc] = ("schedule",)
    CHAIN_AT: ClassVar[Loc] = ("after",)
    TRIGGER_AT: ClassVar[Loc] = ("onDataUpdate",)

    reload: Reload
    schedule: Schedule | None = None
    after: list[Upstream | NonEmpty] | None = Field(
        default=None,
        description="Run when upstream tasks finish: task names, or {task|taskId, status} mappings.",
    )
    when: Literal["any", "all"] = Field(
        default="any", description="any: one upstream finishing triggers; all: wait for all."
    )
    onDataUpdate: bool = Field(default=False, description="Run when the app's data is updated.")

    @field_validator("after", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str | dict) else value

    @field_validator("after", mode="after")
    @classmethod
    def _names_are_upstreams(
        cls, value: list[Upstream | str] | None
    ) -> list[Upstream | str] | None:
        if value is None:
            return None
        return [Upstream(task=item) if isinstance(item, str) else item for item in value]

    @property
    def upstreams(self) -> list[Upstream]:
        """The upstreams of `after`, names already turned into `Upstream` values."""
        return [u if isinstance(u, Upstream) else Upstream(task=u) for u in self.after or []]

    @property
    def app_id(self) -> str | None:
        return self.reload.appId

    @property
    def has_schedule(self) -> bool:
        """Whether the file states a schedule (an empty `schedule:` mapping states none)."""
        return self.schedule is not None and bool(self.schedule.model_fields_set)

    @property
    def on_data_update(self) -> bool:
        return self.onDataUpdate

    @property
    def upstream_refs(self) -> list[tuple[Loc, str]]:
        """The tasks of this tree it runs after, by name, each with where the file names it."""
        return [(("after", i, "task"), u.task) for i, u in enumerate(self.upstreams) if u.task]

    @property
    def upstream_edges(self) -> list[tuple[str, str]]:
        """(upstream name, which outcome of it starts this task) for the upstreams of this tree."""
        return [(u.task, u.status) for u in self.upstreams if u.task]

    def shape_problems(self) -> list[tuple[Loc, str]]:
        """What the form allows but the service cannot run: an upstream `taskId` that is no id."""
        return [
            (("after", i, "taskId"), f"taskId {u.taskId!r} is not a UUID")
            for i, u in enumerate(self.upstreams)
            if u.taskId is not None and not UUID.fullmatch(u.taskId)
        ]

    @model_validator(mode="after")
    def _one_trigger(self) -> ShortTask:
        kinds = [
            k
            for k, v in (
                ("schedule", self.schedule),
                ("after", self.after),
                ("onDataUpdate", self.onDataUpdate),
            )
            if v
        ]
        if len(kinds) > 1:
            raise ValueError(
                f"a task has at most one trigger, this one has {' and '.join(kinds)}; "
                "split it into two tasks"
            )
        return self


# -- full form: the API document (Serverless Workflow 0.8 with Qlik's additions) ---------------
# The shapes of Qlik's own types: the only state type is EVENT, `invoke` is SYNC or ASYNC,
# `actionMode` SEQUENTIAL or PARALLEL, `refName` the constant app.reload, and booleans are
# booleans. Enum values are accepted in upper case (the types) or lower case (every example).

StateType = Literal["event", "EVENT"]
Invoke = Literal["sync", "async", "SYNC", "ASYNC"]
ActionMode = Literal["sequential", "parallel", "SEQUENTIAL", "PARALLEL"]


class Correlation(Strict):
    contextAttributeName: Literal["id", "status", "appId", "spaceId", "datasetId"]
    contextAttributeValue: str | None = None
    taskRef: NonEmpty | None = Field(
        default=None, description="A task name of this tree, in place of the `id` value."
    )


class EventDef(Strict):
    name: NonEmpty
    type: NonEmpty
    source: NonEmpty
    kind: str | None = None
    dataOnly: StrictBool | None = None
    correlation: list[Correlation] = Field(default_factory=list)
    metadata: dict[str, Any] | None = None


class FunctionRef(Strict):
    refName: Literal["app.reload"] = Field(description="The only function: app.reload.")
    arguments: dict[str, Any] = Field(default_factory=dict)
    invoke: Invoke | None = None

    @field_validator("arguments")
    @classmethod
    def _partial_is_a_boolean(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "partial" in value and not isinstance(value["partial"], bool):
            raise ValueError("`partial` must be true or false")
        return value


class ReloadAction(Strict):
    """An action of an event state: the call of app.reload (Serverless Workflow's `actions`)."""

    name: str | None = None
    functionRef: FunctionRef


class OnEvent(Strict):
    eventRefs: list[str] = Field(default_factory=list)
    actionMode: ActionMode | None = None
    actions: list[ReloadAction] = Field(default_factory=list)


class State(Strict):
    name: NonEmpty
    type: StateType
    end: StrictBool | None = None
    exclusive: StrictBool | None = None
    onEvents: list[OnEvent] = Field(default_factory=list)


class Start(Strict):
    stateName: NonEmpty | None = Field(
        default=None, description="The state to start at; default the first (the only) state."
    )
    schedule: str | Schedule


class FullTask(Common):
    """The full form: the API document as written, for what the short form cannot say."""

    enabled: StrictBool = Field(default=True, description="A task declared in git is meant to run.")
    start: Start | None = None
    events: list[EventDef] | None = None
    states: list[State]
    specVersion: str | None = None
    version: str | None = None
    keepActive: StrictBool | None = None
    key: str | None = None

    APP_AT: ClassVar[Loc] = ("states",)
    SCHEDULE_AT: ClassVar[Loc] = ("start", "schedule")
    CHAIN_AT: ClassVar[Loc] = ("events",)
    TRIGGER_AT: ClassVar[Loc] = ("events",)

    @property
    def app_id(self) -> str | None:
        """The app of the first app.reload action that names one."""
        for state in self.states:
            for on in state.onEvents:
                for action in on.actions:
                    if isinstance(action.functionRef.arguments.get("appId"), str):
                        return str(action.functionRef.arguments["appId"])
        return None

    @property
    def has_schedule(self) -> bool:
        return self.start is not None

    @property
    def on_data_update(self) -> bool:
        return any(event.type == DATA_UPDATED for event in self.events or [])

    @property
    def upstream_refs(self) -> list[tuple[Loc, str]]:
        """The tasks of this tree it runs after (`taskRef`), each with where the file names it."""
        return [
            (("events", i, "correlation", j, "taskRef"), corr.taskRef)
            for i, event in enumerate(self.events or [])
            for j, corr in enumerate(event.correlation)
            if corr.taskRef is not None
        ]

    @property
    def upstream_edges(self) -> list[tuple[str, str]]:
        """(upstream name, "") for the upstreams of this tree: the outcome stays in the events."""
        return [(name, "") for name in dict.fromkeys(name for _, name in self.upstream_refs)]

    def shape_problems(self) -> list[tuple[Loc, str]]:
        """What the document's schema allows but the service cannot run: not exactly one event
        state with one action, eventRefs to undeclared events, a start at no state."""
        found: list[tuple[Loc, str]] = []
        if len(self.states) != 1:
            why = "the service runs exactly one event state with one action"
            found.append((("states",), f"task has {len(self.states)} states instead of 1: {why}"))
        declared = {e.name for e in self.events or []}
        names = ", ".join(sorted(declared)) or "none"
        for i, state in enumerate(self.states):
            count = sum(len(on.actions) for on in state.onEvents)
            if count != 1:
                why = "give the state one app.reload action"
                found.append((("states", i), f"task has {count} Actions instead of 1: {why}"))
            found.extend(
                (
                    ("states", i, "onEvents", j, "eventRefs", k),
                    f"eventRefs names {ref!r}, which is not a declared event; declared: {names}",
                )
                for j, on in enumerate(state.onEvents)
                for k, ref in enumerate(on.eventRefs)
                if ref not in declared
            )
        named = self.start.stateName if self.start is not None else None
        if named is not None and named not in {s.name for s in self.states}:
            why = f"start.stateName {named!r} names no state of this task"
            found.append((("start", "stateName"), why))
        return found


TaskFile = ShortTask | FullTask
TOOL_KEYS = ("renamedFrom", "migrateFrom", "allowCycle", "owner")


def is_full_form(data: dict[str, Any]) -> bool:
    """The full form is recognised by its `states`."""
    return "states" in data


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a task file document, for editors (schemas/task.schema.json)."""
    short = ShortTask.model_json_schema(ref_template="#/$defs/{model}")
    full = FullTask.model_json_schema(ref_template="#/$defs/{model}")
    defs: dict[str, Any] = {**short.pop("$defs", {}), **full.pop("$defs", {})}
    defs["ShortTask"] = short
    defs["FullTask"] = full
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://qlik-task-reconciler/schemas/task.schema.json",
        "title": "qlik-task-reconciler task file",
        "description": "A Qlik Cloud scheduling task: the short form, or the full API document.",
        "oneOf": [{"$ref": "#/$defs/ShortTask"}, {"$ref": "#/$defs/FullTask"}],
        "$defs": defs,
    }
