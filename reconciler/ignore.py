"""`ignoreDifferences`: the escape hatch for whatever a tenant does that nobody foresaw.

A rule names JSON pointers into the API document and the tasks (name globs) it covers. Where the
desired and the live document differ only at such a pointer, the difference is not a change: the
plan counts it as ignored. When a field must be patched for another reason, the live values at
the ignored pointers inside it are kept, so that apply does not undo what was chosen to be ignored.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from reconciler import json_pointer

Pointer = tuple[str, ...]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def parse_pointer(text: str) -> Pointer:
    """The reference tokens of an RFC 6901 JSON pointer; ValueError says what is wrong."""
    if not text.startswith("/"):
        raise ValueError(f"{text!r} is not a JSON pointer: it starts with '/' (e.g. /description)")
    tokens = []
    for raw in text[1:].split("/"):
        rest = raw.replace("~0", "").replace("~1", "")
        if "~" in rest:
            raise ValueError(f"{text!r}: '~' is written '~0' and '/' is written '~1' in a pointer")
        tokens.append(json_pointer.unescape(raw))
    if tokens[0] == "name":
        raise ValueError("/name cannot be ignored: the name is the task's identity")
    if tokens[0] == "":
        raise ValueError(f"{text!r} names no field of the task document")
    return tuple(tokens)


@dataclass(frozen=True, slots=True)
class IgnoreRule:
    pointers: tuple[Pointer, ...]
    tasks: tuple[str, ...] = ("*",)

    def covers(self, name: str) -> bool:
        return any(fnmatchcase(name, pattern) for pattern in self.tasks)


def rule(fields: Iterable[str], tasks: Iterable[str] = ("*",)) -> IgnoreRule:
    return IgnoreRule(tuple(parse_pointer(f) for f in fields), tuple(tasks))


def pointers_for(rules: Sequence[IgnoreRule], name: str) -> list[Pointer]:
    """The pointers ignored for the task `name`, each once, in the order given."""
    seen: dict[Pointer, None] = {}
    for item in rules:
        if item.covers(name):
            seen.update(dict.fromkeys(item.pointers))
    return list(seen)


def _step(node: Any, token: str) -> Any:
    if isinstance(node, dict):
        return node.get(token, MISSING)
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    return MISSING


def _get(doc: Any, pointer: Pointer) -> Any:
    for token in pointer:
        doc = _step(doc, token)
        if doc is MISSING:
            break
    return doc


def _clear(parent: Any, token: str) -> None:
    if isinstance(parent, dict):
        parent.pop(token, None)
    else:
        parent[int(token)] = None  # a list keeps its length: later indexes keep their meaning


def set_aside(
    pointers: Sequence[Pointer], want: dict[str, Any], have: dict[str, Any]
) -> list[Pointer]:
    """Remove from both (normalised) documents the values at `pointers` where they differ, and
    return those pointers: the ignored differences. A pointer whose parent is missing on either
    side is not set aside (the difference is larger than the ignored field)."""
    ignored: list[Pointer] = []
    for pointer in pointers:
        parent_want, parent_have = _get(want, pointer[:-1]), _get(have, pointer[:-1])
        if not isinstance(parent_want, dict | list) or not isinstance(parent_have, dict | list):
            continue
        if _step(parent_want, pointer[-1]) == _step(parent_have, pointer[-1]):
            continue
        ignored.append(pointer)
        for parent in (parent_want, parent_have):
            if _step(parent, pointer[-1]) is not MISSING:
                _clear(parent, pointer[-1])
    return ignored


def keep_live(
    pointers: Sequence[Pointer], ops: list[dict[str, Any]], live: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The patch with the live values kept at every ignored pointer inside a patched field."""
    for op in ops:
        if op.get("op") not in ("add", "replace"):
            continue
        top = json_pointer.unescape(op["path"][1:])
        for pointer in pointers:
            if len(pointer) < 2 or pointer[0] != top:
                continue
            parent = _get(op["value"], pointer[1:-1])
            if not isinstance(parent, dict | list):
                continue
            value = _get(live, pointer)
            if value is MISSING:
                if _step(parent, pointer[-1]) is not MISSING and isinstance(parent, dict):
                    parent.pop(pointer[-1])
            elif isinstance(parent, dict):
                parent[pointer[-1]] = copy.deepcopy(value)
            elif _step(parent, pointer[-1]) is not MISSING:
                parent[int(pointer[-1])] = copy.deepcopy(value)
    return ops


def text(pointer: Pointer) -> str:
    return json_pointer.join(pointer)
