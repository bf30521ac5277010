"""The only filesystem reader of task files: a tasks directory becomes located, typed tasks.

Every problem is collected (none stops the reading of the other files) and located as
`path:line:column`. Variables `${var.NAME}` are substituted before the models see the values.
"""

from __future__ import annotations

import difflib
import gc
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler import model
from reconciler.bounded import TooLarge, read_bounded
from reconciler.errors import Problem
from reconciler.yamlsource import MAX_BYTES, SourceDocument, YamlError, read_documents

TASK_SUFFIXES = (".yaml", ".yml")
_EXPRESSION = re.compile(r"\$\{([^}]*)\}")
_VARIABLE = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_-]*)")


@dataclass(slots=True)
class LoadedTask:
    """A task as read from a file: the typed spec, the data after substitution, and its source."""

    spec: model.ShortTask | model.FullTask
    data: dict[str, Any]
    source: SourceDocument

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def path(self) -> str:
        return self.source.path

    def problem(self, loc: tuple[str | int, ...], message: str, severity: str = "error") -> Problem:
        line, column = self.source.where(loc)
        return Problem(self.source.path, line, column, message, severity)


@dataclass(slots=True)
class LoadResult:
    tasks: list[LoadedTask] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    unreadable_names: set[str] = field(default_factory=set)
    """Names of tasks whose documents had problems: references to them are not reported again."""


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while thousands of documents are built.

    Task data is acyclic (reference counting frees it); without the pause the collector scans the
    growing heap again and again, a third of the time it takes to read 10,000 files. Afterwards
    what was built joins the oldest generation unscanned (`freeze` then `unfreeze` moves every
    object there), and collection resumes as before: nothing is kept longer than it would be."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        gc.enable()


def discover(tasks_dir: Path) -> list[str]:
    """Task files under `tasks_dir`, recursively, in a stable order; hidden files and folders are
    skipped.

    Symbolic links to files count, links to folders are not followed (as `Path.rglob`); the order
    is that of the paths' parts (as sorting `Path`s). A folder that cannot be listed is passed
    over (as `os.walk`). What a folder's listing says of each entry decides, without asking the
    file system about each file again."""
    return [path for path, _ in _task_files(tasks_dir)]


def _task_files(tasks_dir: Path) -> list[tuple[str, bool]]:
    """`discover`, with whether each file is a symbolic link."""
    found: list[tuple[str, bool]] = []
    pending = [os.fspath(tasks_dir)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if _is_dir(entry):
                        if not entry.is_symlink():
                            pending.append(entry.path)
                    elif entry.name.endswith(TASK_SUFFIXES) and entry.is_file():
                        found.append((entry.path, entry.is_symlink()))
        except OSError:
            continue
    found.sort(key=lambda item: item[0].split(os.sep))
    return found


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def display_path(path: Path, root: Path) -> str:
    """A path as users see it in messages: relative to the working directory where possible."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class _Shown:
    """`display_path` for many files of one tree: the root and each folder are resolved once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.prefix = os.path.join(self.root, "")
        self.folders: dict[str, str | None] = {}
        """How each folder is shown, with a separator: None for a folder outside the root."""

    def __call__(self, path: str, link: bool) -> str:
        if link:
            return display_path(Path(path), self.root)
        folder, name = os.path.split(path)
        if folder in self.folders:
            shown = self.folders[folder]
        else:
            real = os.path.join(os.path.realpath(folder or os.curdir), "")
            shown = real[len(self.prefix) :] if real.startswith(self.prefix) else None
            self.folders[folder] = shown
        return path if shown is None else shown + name


def load_tree(tasks_dir: Path, variables: Mapping[str, str], *, root: Path) -> LoadResult:
    """Read every task file under `tasks_dir`; all problems are returned at once."""
    result = LoadResult()
    shown_path = _Shown(root)
    for path, link in _task_files(tasks_dir):
        result.files += 1
        shown = shown_path(path, link)
        try:
            raw = read_bounded(path, MAX_BYTES)
        except TooLarge as exc:
            result.problems.append(Problem(shown, 1, 1, f"{exc}; split it"))
            continue
        except OSError as exc:
            result.problems.append(Problem(shown, 1, 1, f"cannot read the file: {exc.strerror}"))
            continue
        load_text(shown, raw, variables, result)
    return result


def load_text(shown: str, raw: bytes, variables: Mapping[str, str], result: LoadResult) -> None:
    """Read one file's documents into `result` (tasks and problems)."""
    try:
        docs = list(read_documents(shown, raw))
    except YamlError as exc:
        result.problems.append(Problem(shown, exc.line, exc.column, exc.message))
        return
    for doc in docs:
        task = _typed(doc, variables, result.problems)
        if task is not None:
            result.tasks.append(task)
        elif isinstance(doc.data, dict) and isinstance(doc.data.get("name"), str):
            result.unreadable_names.add(doc.data["name"])


def _typed(
    doc: SourceDocument, variables: Mapping[str, str], problems: list[Problem]
) -> LoadedTask | None:
    if not isinstance(doc.data, dict):
        problems.append(
            Problem(
                doc.path,
                doc.line,
                doc.column,
                "a task must be a mapping with at least `name` and `reload` (see tasks/ for examples)",
            )
        )
        return None
    before = len(problems)
    data = doc.data
    _substitute(data, (), doc, variables, problems)
    if len(problems) > before:
        return None
    form: type[model.ShortTask | model.FullTask] = (
        model.FullTask if model.is_full_form(data) else model.ShortTask
    )
    try:
        spec = form.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_of(exc, doc, data, form))
        return None
    return LoadedTask(spec=spec, data=data, source=doc)


def _substitute(
    value: dict[str, Any] | list[Any],
    loc: tuple[str | int, ...],
    doc: SourceDocument,
    variables: Mapping[str, str],
    problems: list[Problem],
) -> None:
    """Replace every `${var.NAME}` in the texts of `value`, in place (the data was just built from
    the file, and nothing else holds it). A path is made only for a text that needs one."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(item) is str:
                if "${" in item:
                    value[key] = _expand(item, (*loc, key), doc, variables, problems)
            elif type(item) is dict or type(item) is list:
                _substitute(item, (*loc, key), doc, variables, problems)
        return
    for index, item in enumerate(value):
        if type(item) is str:
            if "${" in item:
                value[index] = _expand(item, (*loc, index), doc, variables, problems)
        elif type(item) is dict or type(item) is list:
            _substitute(item, (*loc, index), doc, variables, problems)


def _expand(
    text: str,
    loc: tuple[str | int, ...],
    doc: SourceDocument,
    variables: Mapping[str, str],
    problems: list[Problem],
) -> str:
    def replace(match: re.Match[str]) -> str:
        var = _VARIABLE.fullmatch(match.group(1).strip())
        line, column = doc.where(loc, prefer_value=True)
        if var is None:
            problems.append(
                Problem(
                    doc.path,
                    line,
                    column,
                    f"`{match.group(0)}` is not a variable: write ${{var.NAME}} "
                    "(nothing else is evaluated)",
                )
            )
            return match.group(0)
        name = var.group(1)
        if name not in variables:
            problems.append(Problem(doc.path, line, column, _undefined(name, variables)))
            return match.group(0)
        return variables[name]

    return _EXPRESSION.sub(replace, text)


def _undefined(name: str, variables: Mapping[str, str]) -> str:
    message = f"undefined variable `{name}`"
    close = difflib.get_close_matches(name, list(variables), n=1)
    if close:
        return f"{message}; did you mean `{close[0]}`?"
    if not variables:
        return (
            f"{message}: choose an environment with --env whose `vars` define it "
            "(environments in reconciler.yaml)"
        )
    return f"{message}: add it to the environment's `vars` in reconciler.yaml"


# -- turning pydantic's errors into messages for people ---------------------------------------

_MODEL_AT: dict[str, type[BaseModel]] = {
    "reload": model.Reload,
    "schedule": model.Schedule,
    "after": model.Upstream,
    "cron": model.CronSpec,
    "start": model.Start,
    "events": model.EventDef,
    "correlation": model.Correlation,
    "states": model.State,
    "onEvents": model.OnEvent,
    "actions": model.ReloadAction,
    "functionRef": model.FunctionRef,
}
_TYPE_WORDS = {
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "a whole number",
}


def _data_path(loc: tuple[Any, ...], data: Any) -> tuple[str | int, ...]:
    """The part of pydantic's `loc` that indexes into the data (union branch names dropped)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        path.append(part)
    return tuple(path)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "nothing" if value is None else type(value).__name__


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _problems_of(
    exc: ValidationError,
    doc: SourceDocument,
    data: dict[str, Any],
    form: type[BaseModel],
) -> Iterator[Problem]:
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for err in exc.errors():
        loc = tuple(err["loc"])
        path = _data_path(loc, data)
        kind = err["type"]
        key = ".".join(str(p) for p in path) or "task"
        if kind == "extra_forbidden":
            parent = next((p for p in reversed(path[:-1]) if isinstance(p, str)), None)
            owner = _MODEL_AT.get(parent, form) if parent else form
            message = f"unknown key `{path[-1]}`"
            close = difflib.get_close_matches(str(path[-1]), list(owner.model_fields), n=1)
            message += (
                f"; did you mean `{close[0]}`?"
                if close
                else (f"; allowed here: {', '.join(owner.model_fields)}")
            )
        elif kind == "missing":
            missing = str(loc[-1])
            where = f" in `{key}`" if path else ""
            message = f"missing required key `{missing}`{where}"
            if missing == "reload":
                message += ": add `reload: {appId: <the app's id>}`"
        elif kind in _TYPE_WORDS:
            got = _describe(_lookup(data, path))
            message = f"`{key}` must be {_TYPE_WORDS[kind]}, not {got}"
        elif kind == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            message = f"`{key}` must be one of {expected}"
        elif kind == "string_too_short":
            message = f"`{key}` must not be empty"
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
            if path:
                message = f"`{key}`: {message}"
        else:
            message = f"`{key}`: {err['msg']}"
        if (path, message) in seen:
            continue
        seen.add((path, message))
        line, column = doc.where(path)
        yield Problem(doc.path, line, column, message)
