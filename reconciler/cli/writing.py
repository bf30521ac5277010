"""Writing the task files that migrate and import make: what git already declares, every file or
none, and a note when they land outside the tasks directory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from reconciler import taskfile
from reconciler.bounded import TooLarge, read_bounded
from reconciler.cli.output import err
from reconciler.config import Settings
from reconciler.errors import ReconcilerError
from reconciler.load import LoadedTask, display_path, load_tree
from reconciler.writer import write_into
from reconciler.yamlsource import MAX_BYTES

OutOpt = Annotated[
    Path, typer.Option("--out", help="Directory to write the task files to (created if needed).")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Overwrite task files that already exist in --out.")
]


@dataclass(slots=True)
class Tree:
    """Tasks the task files already declare, outside the files this run writes."""

    tasks: list[LoadedTask] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # task name -> file
    migrate_from: dict[str, str] = field(default_factory=dict)  # legacy id -> file


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def read_declared(settings: Settings, out: Path) -> Tree:
    """The task files of the tasks directory, except those under `out` (this run rewrites those).

    Files with problems still contribute what could be read: validate reports the problems.
    """
    tree = Tree()
    if not settings.tasks_dir.is_dir():
        return tree
    cwd = Path.cwd()
    loaded = load_tree(settings.tasks_dir, settings.vars, root=cwd)
    for task in loaded.tasks:
        if _inside(cwd / task.path, out):
            continue
        tree.tasks.append(task)
        tree.names.setdefault(task.name, task.path)
        if task.spec.migrateFrom:
            tree.migrate_from.setdefault(task.spec.migrateFrom, task.path)
    return tree


def schema_path(out: Path, settings: Settings) -> str | None:
    """The header's schema path, when the repository has the schema file."""
    root = settings.root.resolve()
    if not (root / taskfile.SCHEMA_FILE).is_file():
        return None
    return taskfile.schema_reference(out.resolve(), root)


def write_all(
    out: Path, files: Sequence[tuple[Path, str]], *, force: bool, command: str
) -> set[Path]:
    """Write every file, or none; return the files left as they were (unchanged).

    A file that already holds exactly this text is not rewritten; one this command wrote and
    nobody edited since is replaced; any other existing file stops the run before any write,
    unless `force`."""
    cwd = Path.cwd()
    stamped = [(path, taskfile.stamp(text, command)) for path, text in files]
    unchanged: set[Path] = set()
    refused: list[str] = []
    for path, text in stamped:
        if not path.exists() and not path.is_symlink():
            continue
        current = _existing(path)
        if current == text:
            unchanged.add(path)
        elif not force and (current is None or not taskfile.unedited(current)):
            refused.append(display_path(path, cwd))
    if refused:
        raise ReconcilerError(
            f"refusing to overwrite {len(refused)} existing file(s): {', '.join(refused)}; "
            "nothing was written. Pass --force to overwrite them, or choose another --out"
        )
    write_into(out, [(path.name, text) for path, text in stamped if path not in unchanged])
    return unchanged


def _existing(path: Path) -> str | None:
    """The text of an existing regular file (bounded), or None for anything else."""
    if path.is_symlink() or not path.is_file():
        return None
    try:
        return read_bounded(path, MAX_BYTES).decode("utf-8")
    except (OSError, TooLarge, UnicodeDecodeError):
        return None


def outside_note(out: Path, settings: Settings) -> None:
    if not _inside(out, settings.tasks_dir):
        cwd = Path.cwd()
        err(
            f"note: {display_path(out, cwd)} is outside the tasks directory "
            f"({display_path(settings.tasks_dir, cwd)}): plan and apply read only that directory"
        )
