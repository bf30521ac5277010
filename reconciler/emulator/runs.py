"""Task runs and reloads: starting, finishing (lazily, on the injected clock), and chain triggering.

Runs finish `run_duration_s` after they start (0: at once) and succeed unless their app was
marked failing (`Emulator.fail_app`). Nothing runs in the background: every request first calls
`RunEngine.advance(now)`, which finishes the due runs in time order and starts what they trigger.

Triggering. When a run of task U finishes with status S, every ENABLED task D with a
`com.qlik.v1.task.run.finished` event whose correlations match is notified: `id` equals U's id;
`status` (if present, and not `any`) equals S case-insensitively; `appId` / `spaceId` (if present)
equal U's. The event must be named in D's `eventRefs` (an `eventRefs` naming no declared event
counts as naming all of them, as the reference's own example does). Then:

- `exclusive: true` (the default, "when: any"): D starts a run at once.
- `exclusive: false` with several referenced run-finished events ("when: all"): D remembers which
  referenced events fired since its last run started, and starts only when all of them have. Any
  start of D (manual or triggered) forgets what it remembered.

After `consecutive_failures_limit` failed runs in a row the task is disabled with
`metadata.disabledCode: CONSECUTIVE-FAILURES` (unless a disabledCode is already set). Cascades are
capped at `max_cascade_runs` finishes per request so a cycle of zero-duration runs cannot spin.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.graph import correlation, run_finished_events
from reconciler.emulator.rules import iso
from reconciler.emulator.store import Doc, State

SUCCEEDED, FAILED, RUNNING = "SUCCEEDED", "FAILED", "RUNNING"
LAST_RUN_KEYS = (
    "id", "status", "endedAt", "workerId", "startedAt", "executedAs", "workerType", "triggeredBy",
)  # fmt: skip


def public(run: Doc) -> Doc:
    """A run (or reload) without the engine's internal `_` fields."""
    return {key: value for key, value in run.items() if not key.startswith("_")}


def legacy_style_id(new_id: Callable[[], str]) -> str:
    """A 24-hex-digit id like the reloads and legacy reload-tasks services use."""
    return new_id().replace("-", "")[:24]


class RunEngine:
    """Starts and finishes runs on `state`; the caller holds the emulator's lock."""

    def __init__(self, state: State, config: EmulatorConfig, new_id: Callable[[], str]) -> None:
        self.state = state
        self.config = config
        self.new_id = new_id

    # -- starting ----------------------------------------------------------------------------

    def start(self, task: Doc, *, at: float, triggered_by: str) -> Doc:
        """Start a run of `task` at time `at` and return it (RUNNING, or finished when due)."""
        self.state.chain_progress.pop(task["id"], None)
        metadata = task.get("metadata", {})
        reload_id = legacy_style_id(self.new_id)
        finish_at = at + max(0.0, self.config.run_duration_s)
        run: Doc = {
            "id": self.new_id(),
            "status": RUNNING,
            "startedAt": iso(at),
            "workerId": reload_id,
            "executedAs": metadata.get("ownerId", ""),
            "workerType": "reloads",
            "triggeredBy": triggered_by,
            "log": "",
            "taskId": task["id"],
            "actionId": _action_id(task),
            "taskMeta": {k: v for k, v in metadata.items() if k != "orchestration"},
            "taskName": task.get("name", ""),
            "resourceId": task.get("resourceId", ""),
            "_finishAt": finish_at,
        }
        self.state.seq += 1
        run["_seq"] = self.state.seq
        self.state.runs.append(run)
        self._add_reload(
            reload_id, task.get("resourceId", ""), run["executedAs"], at, finish_at,
            kind="choreographer",
        )  # fmt: skip
        self._set_last_run(task, run)
        self._trim(task["id"])
        self.state.dirty = True
        return run

    def start_reload(self, app_id: str, partial: bool, user: str, at: float) -> Doc:
        """A reload record for `POST /api/v1/reloads` (type external)."""
        reload_id = legacy_style_id(self.new_id)
        finish_at = at + max(0.0, self.config.run_duration_s)
        self._add_reload(reload_id, app_id, user, at, finish_at, partial=partial)
        self.state.dirty = True
        return self.state.reloads[reload_id]

    def _add_reload(
        self,
        reload_id: str,
        app_id: str,
        user: str,
        at: float,
        finish_at: float,
        *,
        partial: bool = False,
        kind: str = "external",
    ) -> None:
        self.state.reloads[reload_id] = {
            "id": reload_id,
            "log": "",
            "type": kind,
            "appId": app_id,
            "links": {"self": {"href": f"/api/v1/reloads/{reload_id}"}},
            "status": "RELOADING",
            "userId": user,
            "partial": partial,
            "tenantId": self.config.tenant_id,
            "startTime": iso(at),
            "creationTime": iso(at),
            "_finishAt": finish_at,
        }

    # -- finishing ---------------------------------------------------------------------------

    def advance(self, now: float) -> None:
        """Finish every run and reload due by `now`, in time order, cascading chains."""
        for reload in self.state.reloads.values():
            if reload.get("_finishAt") is not None and reload["_finishAt"] <= now:
                self._finish_reload(reload)
        due = [
            (run["_finishAt"], index, run)
            for index, run in enumerate(self.state.runs)
            if run.get("status") == RUNNING and run.get("_finishAt", now + 1) <= now
        ]
        heapq.heapify(due)
        counter = len(self.state.runs)
        finished = 0
        while due and finished < self.config.max_cascade_runs:
            at, _, run = heapq.heappop(due)
            finished += 1
            for started in self._finish(run, at):
                if started["_finishAt"] <= now:
                    counter += 1
                    heapq.heappush(due, (started["_finishAt"], counter, started))

    def _finish(self, run: Doc, at: float) -> list[Doc]:
        task = self.state.tasks.get(run["taskId"])
        failing = run.get("resourceId") in self.state.failing_apps
        status = FAILED if failing else SUCCEEDED
        run.update(status=status, endedAt=iso(at), log=_log(run["workerId"], status))
        run.pop("_finishAt", None)
        reload = self.state.reloads.get(run["workerId"])
        if reload is not None:
            self._finish_reload(reload, status)
        self.state.dirty = True
        if task is None:
            return []
        self._set_last_run(task, run)
        self._count_failures(task, status)
        return self._trigger(task, status, at)

    def _finish_reload(self, reload: Doc, status: str | None = None) -> None:
        finish_at = reload.pop("_finishAt", None)
        if status is None:
            status = FAILED if reload.get("appId") in self.state.failing_apps else SUCCEEDED
        reload.update(status=status, log=_log(reload["id"], status))
        if finish_at is not None:
            reload["endTime"] = iso(finish_at)
            reload["engineTime"] = iso(finish_at)
        if status == FAILED:
            reload.update(errorCode="ReloadFailed", errorMessage="the reload failed")
        self.state.dirty = True

    def cancel(self, task_id: str, at: float) -> None:
        """A deleted task's pending runs end as FAILED without triggering anything."""
        for run in self.state.runs:
            if run["taskId"] == task_id and run.get("status") == RUNNING:
                run.update(status=FAILED, endedAt=iso(at), log="Run canceled: task deleted\n")
                run.pop("_finishAt", None)
        self.state.chain_progress.pop(task_id, None)
        self.state.failure_streaks.pop(task_id, None)
        self.state.dirty = True

    def _count_failures(self, task: Doc, status: str) -> None:
        streaks = self.state.failure_streaks
        if status == SUCCEEDED:
            streaks.pop(task["id"], None)
            return
        streaks[task["id"]] = streaks.get(task["id"], 0) + 1
        limit = self.config.consecutive_failures_limit
        metadata = task.setdefault("metadata", {})
        if limit > 0 and streaks[task["id"]] >= limit and not metadata.get("disabledCode"):
            task["enabled"] = False
            metadata["disabledCode"] = "CONSECUTIVE-FAILURES"

    # -- triggering --------------------------------------------------------------------------

    def _trigger(self, upstream: Doc, status: str, at: float) -> list[Doc]:
        started: list[Doc] = []
        for downstream in list(self.state.tasks.values()):
            if downstream.get("enabled") is not True:
                continue
            fired, required, exclusive = _fired_events(downstream, upstream, status)
            if not fired:
                continue
            task_id = downstream["id"]
            if not exclusive and len(required) > 1:
                seen = set(self.state.chain_progress.get(task_id, [])) | fired
                if not required <= seen:
                    self.state.chain_progress[task_id] = sorted(seen)
                    continue
            started.append(self.start(downstream, at=at, triggered_by=upstream.get("name", "")))
        return started

    def _set_last_run(self, task: Doc, run: Doc) -> None:
        orchestration = task.setdefault("metadata", {}).setdefault(
            "orchestration", {"id": self.new_id(), "type": 3, "attrs": {}}
        )
        orchestration["lastRun"] = {key: run[key] for key in LAST_RUN_KEYS if key in run}
        attrs = orchestration.setdefault("attrs", {})
        attrs["last_run_status"] = run["status"]
        attrs["last_run_startedAt"] = run["startedAt"][:19] + "Z"
        if "endedAt" in run:
            attrs["last_run_endedAt"] = run["endedAt"][:19] + "Z"
        else:
            attrs.pop("last_run_endedAt", None)
        attrs["last_run_worker_type"] = run["workerType"]

    def _trim(self, task_id: str) -> None:
        limit = self.config.max_runs_per_task
        mine = [run for run in self.state.runs if run["taskId"] == task_id]
        surplus = len(mine) - limit
        if surplus <= 0:
            return
        drop: set[int] = set()
        for run in mine:
            if len(drop) >= surplus:
                break
            if run.get("status") != RUNNING:
                drop.add(id(run))
        self.state.runs = [run for run in self.state.runs if id(run) not in drop]


def _fired_events(downstream: Doc, upstream: Doc, status: str) -> tuple[set[str], set[str], bool]:
    """(names of events that fire, names that must all fire for `when: all`, exclusive)."""
    events = run_finished_events(downstream)
    if not events:
        return set(), set(), True
    names = [str(event.get("name") or f"#{index}") for index, event in enumerate(events)]
    state = (downstream.get("states") or [{}])[0]
    state = state if isinstance(state, dict) else {}
    on_events = (state.get("onEvents") or [{}])[0]
    on_events = on_events if isinstance(on_events, dict) else {}
    refs = {ref for ref in on_events.get("eventRefs") or [] if ref in names}
    required = refs or set(names)
    fired = {
        name
        for name, event in zip(names, events, strict=True)
        if name in required and _matches(event, upstream, status)
    }
    exclusive = state.get("exclusive", on_events.get("exclusive", True))
    return fired, required, exclusive is not False


def _matches(event: Doc, upstream: Doc, status: str) -> bool:
    task_id = correlation(event, "id")
    if task_id is None or task_id.casefold() != str(upstream.get("id", "")).casefold():
        return False
    wanted = correlation(event, "status")
    if wanted is not None and wanted.casefold() not in ("", "any", status.casefold()):
        return False
    checks: dict[str, Any] = {
        "appId": upstream.get("resourceId"),
        "spaceId": upstream.get("metadata", {}).get("spaceId"),
    }
    for name, actual in checks.items():
        value = correlation(event, name)
        if value not in (None, "") and value.casefold() != str(actual or "").casefold():
            return False
    return True


def _action_id(task: Doc) -> str:
    states = task.get("states") or [{}]
    on_events = (states[0].get("onEvents") or [{}])[0] if isinstance(states[0], dict) else {}
    actions = on_events.get("actions") or [{}]
    return str(actions[0].get("name") or "reload-action") if isinstance(actions[0], dict) else ""


def _log(worker_id: str, status: str) -> str:
    if status == SUCCEEDED:
        return f"ReloadID: {worker_id}\nStarted loading\nApp saved\nFinished successfully\n"
    return f"ReloadID: {worker_id}\nStarted loading\nError: the reload failed\n"
