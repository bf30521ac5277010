"""What apply says: each action's outcome, the result of a run with its summary line, and the
reporter protocol progress goes out through while apply works (events `action_started`,
`action_finished`, `retrying`). The command line's progress bar and its CI log lines are two
reporters; `SilentReporter` says nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from reconciler.plan_values import Action


class Status(StrEnum):
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(slots=True)
class Outcome:
    """What became of one action: its status, what was done or went wrong, and the task's id."""

    action: Action
    status: Status
    detail: str = ""
    task_id: str | None = None


class Reporter(Protocol):
    """What apply says while it works: a progress bar and CI log lines are two reporters.
    `action_started` and `action_finished` come from apply (a migration's action is finished
    again once its legacy task is settled); `retrying` from the client's `on_retry` hook, which
    the command line points at the same reporter."""

    def action_started(self, action: Action) -> None: ...

    def action_finished(self, outcome: Outcome) -> None: ...

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None: ...


class SilentReporter:
    def action_started(self, action: Action) -> None:
        pass

    def action_finished(self, outcome: Outcome) -> None:
        pass

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None:
        pass


@dataclass(slots=True)
class ApplyResult:
    """The outcomes of a run, in the order the actions finished."""

    outcomes: list[Outcome] = field(default_factory=list)
    stopped: str | None = None  # why apply stopped before the end, if it did

    def with_status(self, status: Status) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is status]

    @property
    def ok(self) -> bool:
        return not self.with_status(Status.FAILED) and not self.with_status(Status.SKIPPED)

    def summary_line(self) -> str:
        done, failed, skipped = (len(self.with_status(s)) for s in Status)
        if self.stopped:
            return (
                f"Apply stopped ({done} done, {failed} failed, {skipped} skipped): {self.stopped}"
            )
        if failed or skipped:
            return (
                f"Apply incomplete: {done} done, {failed} failed, {skipped} skipped. "
                "Fix the failures and run apply again: it continues where this one stopped."
            )
        return f"Apply complete: {done} done, 0 failed, 0 skipped."
