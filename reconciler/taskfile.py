"""Task files as text: the one writer of YAML task files (used by migrate and import).

Pure: documents in, text out. Keys come in a stable, readable order; the file starts with the
`yaml-language-server` schema line when a schema path is given; comments go above each document.
What is written reads back, through `reconciler.load`, as exactly the data that was given.
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import yaml

SCHEMA_FILE = "schemas/task.schema.json"
"""Where a tasks repository keeps the JSON Schema of task files, relative to its root."""

SHORT_ORDER = (
    "name",
    "description",
    "renamedFrom",
    "migrateFrom",
    "reload",
    "schedule",
    "after",
    "when",
    "onDataUpdate",
    "enabled",
    "annotations",
    "allowCycle",
)
FULL_ORDER = (
    "name",
    "description",
    "renamedFrom",
    "migrateFrom",
    "enabled",
    "specVersion",
    "version",
    "keepActive",
    "key",
    "annotations",
    "allowCycle",
    "start",
    "events",
    "states",
)
_NESTED_ORDER: Mapping[str, tuple[str, ...]] = {
    "reload": ("appId", "partial"),
    "schedule": ("recurrence", "cron", "interval", "timezone", "startDateTime", "endDateTime"),
    "start": ("stateName", "schedule"),
}
_FLOW_KEYS = frozenset({"reload"})
"""Short mappings written on one line, as in the examples: `reload: {appId: ..., partial: false}`."""

MAX_STEM = 60
COMMENT_WIDTH = 98


@dataclass(frozen=True, slots=True)
class Document:
    """One task of a file: its data (short or full form) and the comment lines written above it."""

    data: Mapping[str, Any]
    comments: tuple[str, ...] = field(default_factory=tuple)


class _Flow(dict[str, Any]):
    """A mapping the dumper writes in flow style."""


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors and aliases, and without line folding of long values."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Dumper.add_representer(
    _Flow,
    lambda dumper, data: dumper.represent_mapping(
        "tag:yaml.org,2002:map", data.items(), flow_style=True
    ),
)


def schema_reference(file_dir: PurePath, root: PurePath) -> str:
    """The schema's path as written in the header of a file in `file_dir` (both absolute)."""
    return PurePath(os.path.relpath(root / SCHEMA_FILE, file_dir)).as_posix()


def ordered(data: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    """`data` with the keys of `order` first, in that order, then the others as they came."""
    out = {key: data[key] for key in order if key in data}
    out.update({key: value for key, value in data.items() if key not in out})
    return out


def _arranged(data: Mapping[str, Any]) -> dict[str, Any]:
    full = "states" in data
    out = ordered(data, FULL_ORDER if full else SHORT_ORDER)
    for key, order in _NESTED_ORDER.items():
        value = out.get(key)
        if isinstance(value, Mapping):
            out[key] = ordered(value, order)
    start = out.get("start")
    if isinstance(start, Mapping) and isinstance(start.get("schedule"), Mapping):
        out["start"] = {**start, "schedule": ordered(start["schedule"], _NESTED_ORDER["schedule"])}
    if not full:
        for key in _FLOW_KEYS:
            if isinstance(out.get(key), Mapping):
                out[key] = _Flow(out[key])
    return out


def dump(documents: Sequence[Document], *, schema: str | None = None) -> str:
    """The text of a task file holding `documents` (`---` between them).

    Each document gets the schema line (when `schema` is given) and its comments above it.
    """
    parts: list[str] = []
    for i, document in enumerate(documents):
        lines: list[str] = []
        if i:
            lines.append("---")
        if schema is not None:
            lines.append(f"# yaml-language-server: $schema={schema}")
        for comment in document.comments:
            for paragraph in comment.splitlines() or [""]:
                wrapped = textwrap.wrap(
                    paragraph, COMMENT_WIDTH, break_long_words=False, break_on_hyphens=False
                )
                lines.extend(f"# {line}".rstrip() for line in wrapped or [""])
        body = yaml.dump(
            _arranged(document.data),
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=4096,
        )
        parts.append("\n".join(lines) + ("\n" if lines else "") + body)
    return "".join(parts)


def slug(text: str) -> str:
    """A file-name stem for `text`: lower-case ASCII letters, digits and dashes, never empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    stem = stem[:MAX_STEM].rstrip("-")
    return stem or "task"


def unique_stems(texts: Iterable[str]) -> list[str]:
    """One stem per text, in order: its slug, then `-2`, `-3`, ... where a slug repeats."""
    used: set[str] = set()
    out: list[str] = []
    for text in texts:
        base = slug(text)
        stem, n = base, 1
        while stem in used:
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        out.append(stem)
    return out


_STAMP = re.compile(r"# written by reconciler [a-z]+ \(sha256:([0-9a-f]{16})\)[^\n]*\n\Z")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def stamp(text: str, command: str) -> str:
    """`text` with a last line recording that `command` wrote it, and a digest of what it wrote:
    a re-run may replace the file while it is unedited (`unedited`), and leaves edits alone."""
    body = text if text.endswith("\n") else text + "\n"
    return (
        body + f"# written by reconciler {command} (sha256:{_digest(body)}); "
        "a re-run replaces this file only while it is unedited\n"
    )


def unedited(text: str) -> bool:
    """True when `text` is a file `stamp` made and nobody changed since."""
    found = _STAMP.search(text)
    return found is not None and _digest(text[: found.start()]) == found.group(1)
