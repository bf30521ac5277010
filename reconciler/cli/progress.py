"""The two apply reporters: a progress bar on a terminal, one line per finished action in CI logs."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from reconciler.apply import Outcome, Status
from reconciler.plan import Action

_VERB = {"create": "created", "update": "updated", "delete": "deleted", "migrate": "migrated"}


def outcome_line(outcome: Outcome) -> str:
    action = outcome.action
    if outcome.status is Status.DONE:
        head = f"{action.symbol} {_VERB.get(action.kind.value, action.kind.value)} {action.name!r}"
    else:
        head = f"{action.symbol} {outcome.status.value.upper()} {action.kind.value} {action.name!r}"
    return f"{head}: {outcome.detail}" if outcome.detail else head


class LineReporter:
    """One line per finished action and per retry: readable in any CI log."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write

    def action_started(self, action: Action) -> None:
        pass

    def action_finished(self, outcome: Outcome) -> None:
        self.write(outcome_line(outcome))

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None:
        self.write(f"  retrying {operation} (attempt {attempt}) in {wait:.1f} s: {reason}")


class BarReporter:
    """A progress bar on a terminal, with failures printed above it as they happen."""

    def __init__(self, total: int, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = self.progress.add_task("applying", total=total)

    def __enter__(self) -> BarReporter:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def action_started(self, action: Action) -> None:
        self.progress.update(self.task, description=f"{action.symbol} {action.name}"[:40])

    def action_finished(self, outcome: Outcome) -> None:
        if outcome.status is not Status.DONE:
            self.console.print(outcome_line(outcome), markup=False, highlight=False)
        self.progress.advance(self.task)

    def retrying(self, operation: str, attempt: int, wait: float, reason: str) -> None:
        self.progress.update(self.task, description=f"retrying {operation} ({attempt})"[:40])
