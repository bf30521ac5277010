"""Pydantic's validation errors of a task document, as located messages for people: an unknown key
with the closest allowed one, a missing key, a wrong type named in plain words."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from reconciler import model
from reconciler.errors import Problem
from reconciler.yamlsource import SourceDocument

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


def problems_of(
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
