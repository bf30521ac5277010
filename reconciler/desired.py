"""The desired state: the task files of one environment, read, checked and ready to plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from reconciler.config import Settings
from reconciler.errors import ConfigError, Problem, ProblemsFound
from reconciler.load import LoadedTask, display_path, load_tree, paused_gc
from reconciler.validate import validate


@dataclass(slots=True)
class Desired:
    tasks: list[LoadedTask]
    warnings: list[Problem] = field(default_factory=list)
    files: int = 0

    def named(self, name: str) -> LoadedTask | None:
        return next((t for t in self.tasks if t.name == name), None)


def read_desired(
    settings: Settings, *, now: datetime | None, allow_empty: bool = False, cwd: Path | None = None
) -> Desired:
    """Read and check every task file; raise ProblemsFound with all problems, or return the tree.

    An empty or missing tasks directory is an error unless `allow_empty`: an empty desired state
    would delete every managed task, and must never be the result of a mistake.
    """
    root = cwd or Path.cwd()
    tasks_dir = settings.tasks_dir
    shown = display_path(tasks_dir, root)
    if not tasks_dir.exists():
        if allow_empty:
            return Desired(tasks=[])
        raise ConfigError(
            f"tasks directory {shown} does not exist; check --tasks or `tasks:` in reconciler.yaml "
            "(use --allow-empty to mean an empty desired state on purpose)"
        )
    if not tasks_dir.is_dir():
        raise ConfigError(f"{shown} is not a directory of task files")
    with paused_gc():
        result = load_tree(tasks_dir, settings.vars, root=root)
        problems = list(result.problems)
        problems.extend(validate(result.tasks, now=now, unreadable=result.unreadable_names))
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ProblemsFound(problems)
    if not result.tasks and not allow_empty:
        raise ConfigError(
            f"no tasks found under {shown} ({result.files} task file(s)); an empty desired state "
            "would delete every managed task: pass --allow-empty if that is what you mean"
        )
    tasks = result.tasks
    if settings.profile.markerIn == "description":
        tasks = [_without_annotations(t, settings.marker, problems) for t in tasks]
    return Desired(tasks=tasks, warnings=problems, files=result.files)


def _without_annotations(task: LoadedTask, marker: str, warnings: list[Problem]) -> LoadedTask:
    """A tenant whose profile keeps the marker in the description does not keep annotations:
    a task's own annotations are left out of what is sent and compared, with a warning, so that
    plan does not show them as a change after every apply."""
    extra = [a for a in task.spec.annotations if a != marker]
    if not extra:
        return task
    warnings.append(
        task.problem(
            ("annotations",),
            f"annotations {', '.join(extra)} are left out: this tenant does not keep annotations "
            "(profile markerIn: description)",
            "warning",
        )
    )
    spec = task.spec.model_copy(update={"annotations": []})
    data = {k: v for k, v in task.data.items() if k != "annotations"}
    return LoadedTask(spec=spec, data=data, source=task.source)
