"""The `Emulator`: one local tenant behind one lock, its `handle()` core, the test hooks, and
the two ways to reach it (an in-process httpx transport, or real HTTP on a socket).
"""

from __future__ import annotations

import contextlib
import copy
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import parse_qsl

from reconciler.emulator import graph, quirks, rules, users_api
from reconciler.emulator.config import Clock, EmulatorConfig
from reconciler.emulator.fault_hooks import FaultHooks
from reconciler.emulator.faults import Fault, FaultGate
from reconciler.emulator.hostile import injected_failure, request_query, rewrite
from reconciler.emulator.legacy_api import fill_legacy, token_digest
from reconciler.emulator.replies import Reply, ServiceError
from reconciler.emulator.request import Core
from reconciler.emulator.routes import Router
from reconciler.emulator.runs import RunEngine, public
from reconciler.emulator.server import RunningServer, serve_until_interrupted, serving
from reconciler.emulator.shared import SharedState
from reconciler.emulator.store import Doc, State, read_seed
from reconciler.emulator.transport import AsyncEmulatorTransport, EmulatorTransport
from reconciler.emulator.user_hooks import UserHooks

if TYPE_CHECKING:
    import httpx

UI_USER = users_api.UI_USER
"""The owner of tasks that appear out of band (seeds, `put_task_raw`): someone in the hub."""


class LoggedRequest(NamedTuple):
    method: str
    path: str
    status: int  # 0 when the connection was dropped


class Emulator(UserHooks, FaultHooks):
    """A faithful local Qlik Cloud tenant for the scheduling, legacy reload-task, reloads, apps
    and OAuth endpoints. Every request and hook runs under one lock (and the state file's).

    `seed` (a dict or a JSON file) is applied only when `state_file` does not exist yet.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        state_file: Path | str | None = None,
        seed: Mapping[str, Any] | Path | str | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        selected = quirks.resolve(self.config.quirks)  # UnknownQuirk (ValueError) lists the names
        quirks.configure(selected, self.config)
        self.clock: Clock = clock or time.time
        self._lock = threading.RLock()
        seeded = self.config.random_seed is not None
        self._id_rng = random.Random(self.config.random_seed) if seeded else None
        self._file = SharedState(Path(state_file), fsync=self.config.fsync) if state_file else None
        self._faults = FaultGate(self.config.random_seed)
        self._router = Router()
        self.request_log: list[LoggedRequest] = []
        self.counters: dict[str, int] = {
            "requests": 0,
            "injected_failures": 0,
            "dropped_before": 0,
            "dropped_after": 0,
            "latency_spikes": 0,
        }
        with self._file.held() if self._file else contextlib.nullcontext():
            state = self._file.load() if self._file else None
            fresh = state is None
            state = state or State()
            self._core = Core(
                config=self.config,
                state=state,
                clock=self.clock,
                new_id=self._new_id,
                engine=RunEngine(state, self.config, self._new_id),
                quirks=selected,
            )
            if fresh:
                self._apply_seed(read_seed(seed))
                if self._file is not None:
                    self._file.save(state)
                state.dirty = False
            elif not state.users:
                # A state file written before the tenant knew users: it gets the default people.
                self._add_users(users_api.DEFAULT_USERS)

    # -- the transport-independent core --------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query: str | Mapping[str, str] | Sequence[tuple[str, str]] = "",
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        """Answer one request. The adapters wait `reply.delay_s` and honour `reply.dropped`.

        `query` is the raw query string (percent-encoded) or already-decoded pairs."""
        if isinstance(query, str):
            pairs = parse_qsl(query, keep_blank_values=True)
        elif isinstance(query, Mapping):
            pairs = list(query.items())
        else:
            pairs = list(query)
        lowered = {key.lower(): value for key, value in (headers or {}).items()}
        method = method.upper()
        with self._current():
            delay = max(0.0, self.config.latency_ms) / 1000.0
            self.counters["requests"] += 1
            fault = self._faults.decide(self.config)
            status = 503
            rule = self._faults.rule_for(method, path, pairs)
            if rule is not None:
                fault, status = rule.fault, rule.status
                delay += max(0.0, rule.delay_ms) / 1000.0
            spike = self._faults.spike_s(self.config)
            if spike > 0:
                self.counters["latency_spikes"] += 1
                delay += spike
            if fault is Fault.FAIL:
                self.counters["injected_failures"] += 1
                reply = injected_failure(status, rule.retry_after if rule else 1)
            elif fault is Fault.DROP_BEFORE:
                self.counters["dropped_before"] += 1
                reply = Reply(0, dropped=True)
            else:
                now = self.clock()
                hostile = rule.answer if rule is not None else None
                asked = request_query(hostile, pairs)
                reply = self._router.dispatch(self._core, method, path, asked, lowered, body, now)
                if hostile is not None:
                    reply = rewrite(hostile, reply, path, pairs)
                try:
                    self._persist()
                except OSError as error:
                    self._router.server_errors.append(f"state file not written: {error}")
                    reply = ServiceError(500, "the tenant could not save its state").reply()
                if fault is Fault.DROP_AFTER:
                    self.counters["dropped_after"] += 1
                    reply = Reply(0, dropped=True)
            reply.delay_s = delay
            self.request_log.append(LoggedRequest(method, path, reply.status))
            return reply

    @contextmanager
    def _current(self) -> Iterator[None]:
        """This process's lock and the file's, with what other processes saved read in."""
        with self._lock, self._file.held(self._core) if self._file else contextlib.nullcontext():
            yield

    def _persist(self) -> None:
        state = self._core.state
        if state.dirty:
            if self._file is not None:
                self._file.save(state)
            state.dirty = False

    def _new_id(self) -> str:
        if self._id_rng is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    def _apply_seed(self, seed: Mapping[str, Any]) -> None:
        self._add_users(seed.get("users", users_api.DEFAULT_USERS))
        for app in seed.get("apps", []):
            self._core.state.apps[app["id"]] = dict(app)
        for legacy in seed.get("legacyReloadTasks", []):
            self._store_legacy(legacy)
        for task in seed.get("tasks", []):
            self._store_raw(task)
        graph.refresh_topology(self._core.state.tasks)

    def _store_raw(self, doc: Mapping[str, Any]) -> Doc:
        core = self._core
        stored = rules.fill_task(
            copy.deepcopy(dict(doc)),
            user=UI_USER,
            now=rules.iso(self.clock()),
            tenant_id=self.config.tenant_id,
            apps=core.state.apps,
            new_id=self._new_id,
        )
        core.state.tasks[stored["id"]] = stored
        core.touch(stored["id"])
        core.state.dirty = True
        return stored

    def _store_legacy(self, doc: Mapping[str, Any]) -> Doc:
        core = self._core
        stored = fill_legacy(
            copy.deepcopy(dict(doc)),
            user=UI_USER,
            tenant_id=self.config.tenant_id,
            apps=core.state.apps,
            new_id=self._new_id,
        )
        core.state.legacy[stored["id"]] = stored
        core.touch(stored["id"])
        core.state.dirty = True
        return stored

    @contextmanager
    def _locked(self) -> Iterator[State]:
        """The state, with due runs finished first and any change persisted after."""
        with self._current():
            self._core.engine.advance(self.clock())
            try:
                yield self._core.state
            finally:
                self._persist()

    # -- test hooks ----------------------------------------------------------------------------

    def tasks(self) -> list[Doc]:
        """Copies of every stored task document, in insertion order."""
        with self._locked() as state:
            return copy.deepcopy(list(state.tasks.values()))

    def get(self, task_id: str) -> Doc | None:
        with self._locked() as state:
            doc = state.tasks.get(task_id)
            return copy.deepcopy(doc) if doc is not None else None

    def put_task_raw(self, doc: Mapping[str, Any]) -> Doc:
        """Insert or replace a task as-is (no validation; id, resourceId, metadata filled in)."""
        with self._locked() as state:
            stored = self._store_raw(doc)
            graph.refresh_topology(state.tasks)
            return copy.deepcopy(stored)

    def edit_task(
        self, task_id: str, fn: Callable[[Doc], Doc | None], *, touch: bool = True
    ) -> Doc:
        """Apply `fn` to a copy of the stored task (mutate it or return a new one) and store the
        result as-is; `touch` bumps `metadata.updatedAt`. KeyError for an unknown id."""
        with self._locked() as state:
            doc = copy.deepcopy(state.tasks[task_id])
            result = fn(doc)
            doc = doc if result is None else result
            doc["id"] = task_id
            if touch:
                doc.setdefault("metadata", {})["updatedAt"] = rules.iso(self.clock())
            state.tasks[task_id] = doc
            self._core.touch(task_id)
            graph.refresh_topology(state.tasks)
            state.dirty = True
            return copy.deepcopy(doc)

    def set_disabled(self, task_id: str, code: str) -> None:
        """Disable a task the way the service does, with `metadata.disabledCode`."""
        with self._locked() as state:
            task = state.tasks[task_id]
            task["enabled"] = False
            task.setdefault("metadata", {})["disabledCode"] = code
            state.dirty = True

    def fail_app(self, app_id: str, fail: bool = True) -> None:
        """Make every later run (and reload) of this app fail, or succeed again."""
        with self._locked() as state:
            (state.failing_apps.add if fail else state.failing_apps.discard)(app_id)
            state.dirty = True

    def add_legacy(self, doc: Mapping[str, Any]) -> Doc:
        with self._locked():
            return copy.deepcopy(self._store_legacy(doc))

    def legacy_tasks(self) -> list[Doc]:
        with self._locked() as state:
            return copy.deepcopy(list(state.legacy.values()))

    def add_app(
        self, app_id: str, name: str, space_id: str | None = None, privileges: Sequence[str] = ()
    ) -> None:
        """An app of the tenant; `privileges` are what the caller may do with it (default: all)."""
        with self._locked() as state:
            app: Doc = {"id": app_id, "name": name, "spaceId": space_id}
            app["privileges"] = list(privileges)
            state.apps[app_id] = {k: v for k, v in app.items() if v}  # unset fields left out
            state.dirty = True

    def runs(self, task_id: str | None = None) -> list[Doc]:
        """Runs (all, or of one task) in the order they started."""
        with self._locked() as state:
            runs = [r for r in state.runs if task_id is None or r["taskId"] == task_id]
            return [copy.deepcopy(public(r)) for r in runs]

    def reloads(self) -> list[Doc]:
        with self._locked() as state:
            return [copy.deepcopy(public(r)) for r in state.reloads.values()]

    def user_id_for(self, token: str) -> str:
        """The user id the tenant derives for a bearer token (the owner of what it creates)."""
        with self._lock:
            issued = self._core.tokens.get(token_digest(token))
            return issued[0] if issued else rules.user_id(f"key:{token}")

    def throttled(self) -> dict[str, int]:
        """How many 429s were served, per tier (`reads`, `writes`, `reloads`)."""
        with self._lock:
            return dict(self._router.throttled)

    def throttled_count(self) -> int:
        """How many 429s were served in all."""
        return sum(self.throttled().values())

    def server_errors(self) -> list[str]:
        """Tracebacks of requests answered 500 because of a bug in the emulator."""
        with self._lock:
            return list(self._router.server_errors)

    # -- adapters ------------------------------------------------------------------------------

    def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Reply:
        """`handle`, looked up per request: a test may replace it on the instance."""
        return self.handle(method, path, query, headers, body)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process transport for `httpx.AsyncClient(transport=...)`."""
        return AsyncEmulatorTransport(self._answer)

    def sync_transport(self) -> httpx.BaseTransport:
        """An in-process transport for `httpx.Client(transport=...)`."""
        return EmulatorTransport(self._answer)

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
        """Serve this tenant over real HTTP in a background thread: `with emu.serve() as s:`."""
        with serving(self, host, port) as server:
            yield server


def serve_forever(
    config: EmulatorConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 8080,
    state_file: Path | str | None = None,
    seed: Mapping[str, Any] | Path | str | None = None,
    *,
    on_ready: Callable[[RunningServer], None] | None = None,
    clock: Clock | None = None,
) -> None:
    """Serve a tenant until interrupted (Ctrl-C returns normally). `on_ready` is called once the
    socket listens, with the actual port (useful with port 0)."""
    emulator = Emulator(config, state_file=state_file, seed=seed, clock=clock)
    serve_until_interrupted(emulator, host, port, on_ready)
