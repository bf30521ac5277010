"""Safe YAML reading that keeps the line and column of every key and value.

Values are kept as written: YAML's implicit timestamp type is switched off, so an unquoted
`2026-01-01T06:00:00` stays that string. Only the safe constructors run (a `!!python/object` tag is an
error), duplicate keys are errors, and alias expansion and nesting are bounded so that a hostile file is
refused quickly instead of exhausting memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

_BaseLoader: type[yaml.SafeLoader]
try:  # the C loader is several times faster; fall back to the pure-Python one
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader

MAX_NODES = 100_000
"""Nodes one document may expand to, aliases included (an alias bomb exceeds it at once)."""
MAX_DEPTH = 64
"""Nesting depth of collections; task files need fewer than ten."""
MAX_BYTES = 2 * 1024 * 1024
"""Size of one task file; the largest real task file is a few kilobytes."""

Path = tuple[str | int, ...]


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """SafeLoader without the timestamp resolver: dates stay the strings the user wrote."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """The tag of a node; a plain scalar's depends on its text alone, and the same texts
        (keys above all) come back in every file, so those answers are remembered."""
        if kind is yaml.ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return str(super().resolve(kind, value, implicit))


_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 20_000


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


@dataclass(slots=True)
class SourceDocument:
    """One YAML document of a file: its data and where every part of it was written."""

    path: str
    index: int
    data: Any
    line: int = 1
    column: int = 1
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def where(self, loc: Path, *, prefer_value: bool = False) -> tuple[int, int]:
        """Line and column of `loc`, or of its nearest ancestor that was written down."""
        probe = tuple(loc)
        while True:
            found = (self.values if prefer_value else self.keys).get(probe) or (
                self.keys if prefer_value else self.values
            ).get(probe)
            if found is not None:
                return found
            if not probe:
                return (self.line, self.column)
            probe = probe[:-1]


class YamlError(Exception):
    """A file could not be read as YAML; carries the position of the problem."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


_COLLECTION_TAGS: dict[type[yaml.Node], str] = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}


_STR = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
MAX_NUMBER_CHARS = 100
"""Length of a plain number, bool or null: Python refuses to parse an integer of more than 4,300
digits, and no field of a task file needs more than a few dozen."""
_PLAIN_SCALARS: dict[str, Any] = {
    f"tag:yaml.org,2002:{name}": _BaseLoader.yaml_constructors[f"tag:yaml.org,2002:{name}"]
    for name in ("null", "bool", "int", "float")
}
"""The safe constructors of the plain scalar types, called directly: `construct_object` adds
bookkeeping for recursive collections that a scalar never needs."""


class _Builder:
    """Turns composed nodes into plain data, recording positions and enforcing the bounds."""

    def __init__(self, doc: SourceDocument, loader: _Loader) -> None:
        self.doc = doc
        self.loader = loader
        self.nodes = 0

    def build(self, node: yaml.Node, path: Path, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YamlError(
                f"the document expands to more than {MAX_NODES} values (an alias bomb?); "
                "write the values out or split the file",
                *_mark(node),
            )
        if depth > MAX_DEPTH:
            raise YamlError(
                f"nesting deeper than {MAX_DEPTH} levels; task files need only a few", *_mark(node)
            )
        values = self.doc.values
        if path not in values:
            mark = node.start_mark
            values[path] = (mark.line + 1, mark.column + 1)
        kind = type(node)
        if kind is yaml.ScalarNode:
            return self._scalar(node)
        expected = _COLLECTION_TAGS.get(kind)
        if expected is not None and node.tag != expected:
            raise YamlError(
                f"the tag {node.tag} is not allowed; only plain YAML values "
                "(text, numbers, true/false, lists, mappings) are allowed",
                *_mark(node),
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: Path, depth: int) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<` merge keys the safe way
        out: dict[str, Any] = {}
        keys = self.doc.keys
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if type(key) is not str:
                if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
                    raise YamlError("keys must be plain words such as `name`", *_mark(key_node))
                key = str(key)
            child = (*path, key)
            if key in out:
                first = keys[child]
                raise YamlError(
                    f"duplicate key `{key}` (first written at line {first[0]}); keep one of them",
                    *_mark(key_node),
                )
            keys[child] = _mark(key_node)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag == _STR:
            return node.value  # what the str constructor returns, without its machinery
        plain = _PLAIN_SCALARS.get(tag)
        if plain is not None and isinstance(node, yaml.ScalarNode):
            if len(node.value) > MAX_NUMBER_CHARS and tag != _NULL_TAG:
                raise YamlError(
                    f"a number of {len(node.value)} characters; numbers here have at most "
                    f"{MAX_NUMBER_CHARS} (quote it if it is text)",
                    *_mark(node),
                )
            return plain(self.loader, node)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlError(
                f"{exc.problem or 'this value cannot be read'}; only plain YAML values "
                "(text, numbers, true/false, lists, mappings) are allowed",
                *_mark(node),
            ) from None


_OPENS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSES = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _could_nest_too_deep(text: str) -> bool:
    """Whether `text` could nest deeper than MAX_DEPTH at all: a cheap bound that spares most
    files the event pass. A collection opens at the start of a line, after an indicator that
    allows a compact nested one (`- `, `? `, `: `) or at a flow bracket, so one more than the
    count of line breaks and of those characters bounds the depth."""
    count = text.count
    bound = 1 + count("\n") + count("\r") + count("\x85") + count("\u2028") + count("\u2029")
    bound += count("-") + count("?") + count(":") + count("[") + count("{")
    return bound > MAX_DEPTH


def _check_depth(text: str) -> None:
    """Refuse collections nested deeper than MAX_DEPTH before any node is composed.

    The composer recurses once per level (in C with the C loader, where a deep enough block such
    as `- - - - x` overflows the stack and kills the process), so depth is measured first on the
    parser's event stream, which is not recursive and stops at the first level too many."""
    if not _could_nest_too_deep(text):
        return
    loader = _Loader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _OPENS):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise YamlError(
                        f"nesting deeper than {MAX_DEPTH} levels; task files need only a few",
                        *((mark.line + 1, mark.column + 1) if mark else (1, 1)),
                    )
            elif isinstance(event, _CLOSES):
                depth -= 1
    finally:
        loader.dispose()


def read_documents(path: str, raw: bytes) -> Iterator[SourceDocument]:
    """Every non-empty document of a YAML stream, with positions. Raises YamlError."""
    if len(raw) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError("the file is not UTF-8 text; save it as UTF-8", line, column) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        _check_depth(text)
        index = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None or (
                isinstance(node, yaml.ScalarNode)
                and node.tag == "tag:yaml.org,2002:null"
                and node.value in ("", "~", "null")
            ):
                continue  # an empty document, such as a trailing `---`
            doc = SourceDocument(path=path, index=index, data=None)
            doc.line, doc.column = _mark(node)
            builder = _Builder(doc, loader)
            doc.data = builder.build(node, (), 0)
            index += 1
            yield doc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or "invalid YAML"
        raise YamlError(f"YAML syntax error: {what}", line, column) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"YAML error: {exc}") from None
    except RecursionError:
        raise YamlError(
            f"nesting deeper than {MAX_DEPTH} levels; task files need only a few"
        ) from None
    finally:
        loader.dispose()


def read_single(path: str, raw: bytes) -> SourceDocument | None:
    """The one document of a configuration file, or None when the file is empty."""
    docs = list(read_documents(path, raw))
    if len(docs) > 1:
        raise YamlError("expected one YAML document, found several", docs[1].line, docs[1].column)
    return docs[0] if docs else None
