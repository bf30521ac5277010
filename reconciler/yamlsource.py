"""Safe YAML reading that keeps the line and column of every key and value.

Values are kept as written: YAML's implicit timestamp type is switched off, so an unquoted
`2026-01-01T06:00:00` stays that string. Only the safe constructors run (a `!!python/object` tag is an
error), duplicate keys are errors, and alias expansion and nesting are bounded so that a hostile file is
refused quickly instead of exhausting memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
        """The tag of a node without one of its own, as the safe resolver gives it; a plain
        scalar's depends on its text alone, and the same texts (keys above all) come back in
        every file, so those answers are remembered. Quoted text is a string, and a collection
        its kind's tag, as the resolver says when no path resolver is added (none is)."""
        if self.yaml_path_resolvers:  # pragma: no cover - none is ever added
            return str(super().resolve(kind, value, implicit))
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return _STR
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < _PLAIN_TAGS_MAX:
                    _PLAIN_TAGS[value] = tag
            return tag
        return _COLLECTION_TAGS[kind]


_PLAIN_TAGS: dict[str, str] = {}
_PLAIN_TAGS_MAX = 20_000


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


Located = tuple[dict[Path, tuple[int, int]], dict[Path, tuple[int, int]]]
"""The line and column of each value, and of each key, of a document, by path."""


class _FilePositions:
    """The positions of every document of one file, found all at once the first time one is
    asked for: a file of many documents with a problem each is read again once, not once each."""

    __slots__ = ("_found", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._found: list[Located] | None = None

    def of(self, index: int) -> Located:
        if self._found is None:
            self._found = []
            for loader, node in _nodes(self._text):
                locator = _Locator(loader)
                locator.walk(node, ())
                self._found.append((locator.values, locator.keys))
            self._text = ""
        return self._found[index] if index < len(self._found) else ({}, {})


@dataclass(slots=True)
class SourceDocument:
    """One YAML document of a file: its data, and where every part of it was written.

    The positions of its keys and values are found when they are first asked for (a problem to
    locate), by reading the document's text again: most documents have no problem, and recording
    the position of every value of every file cost more than reading the files twice where one has
    a problem."""

    path: str
    index: int
    data: Any
    line: int = 1
    column: int = 1
    file: _FilePositions | None = None
    """Where the positions of the file's documents are found (None: nowhere, as for data that
    was not read from a file)."""

    @property
    def values(self) -> dict[Path, tuple[int, int]]:
        """Line and column of each value, by its path in `data`."""
        return self._positions()[0]

    @property
    def keys(self) -> dict[Path, tuple[int, int]]:
        """Line and column of each key of a mapping, by the path of its value in `data`."""
        return self._positions()[1]

    def _positions(self) -> Located:
        return self.file.of(self.index) if self.file is not None else ({}, {})

    def where(self, loc: Path, *, prefer_value: bool = False) -> tuple[int, int]:
        """Line and column of `loc`, or of its nearest ancestor that was written down."""
        values, keys = self._positions()
        first, then = (values, keys) if prefer_value else (keys, values)
        probe = tuple(loc)
        while True:
            found = first.get(probe) or then.get(probe)
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
    """Turns composed nodes into plain data, enforcing the bounds; positions are not recorded
    (`_locate` finds them when a problem needs one)."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.nodes = 0

    def build(self, node: yaml.Node, depth: int) -> Any:
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
        kind = type(node)
        if kind is yaml.ScalarNode:
            return node.value if node.tag == _STR else self._scalar(node)
        expected = _COLLECTION_TAGS.get(kind)
        if expected is not None and node.tag != expected:
            raise YamlError(
                f"the tag {node.tag} is not allowed; only plain YAML values "
                "(text, numbers, true/false, lists, mappings) are allowed",
                *_mark(node),
            )
        if kind is yaml.MappingNode:
            return self._mapping(node, depth)
        if kind is yaml.SequenceNode:
            return [self.build(item, depth + 1) for item in node.value]
        return self._scalar(node)

    def _mapping(self, node: yaml.Node, depth: int) -> dict[str, Any]:
        counted = self.nodes
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag in _MERGING:  # `<<` merge keys, resolved the safe way, then again
                self.loader.flatten_mapping(node)
                self.nodes = counted
                return self._mapping(node, depth)
            key = _key(key_node, self._scalar)
            if key in out:
                first = next(_mark(k) for k, _ in node.value if _key(k, self._scalar) == key)
                raise YamlError(
                    f"duplicate key `{key}` (first written at line {first[0]}); keep one of them",
                    *_mark(key_node),
                )
            out[key] = self.build(value_node, depth + 1)
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


_MERGING = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
"""Key tags that `flatten_mapping` rewrites (`<<` merges, `=` values); other mappings skip it."""


def _key(key_node: yaml.Node, scalar: Callable[[yaml.Node], Any]) -> str:
    """A mapping key as a word: a number is its text, anything else an error."""
    if type(key_node) is yaml.ScalarNode and key_node.tag == _STR:
        return str(key_node.value)
    key = scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
    if type(key) is not str:
        if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
            raise YamlError("keys must be plain words such as `name`", *_mark(key_node))
        key = str(key)
    return str(key)


class _Locator:
    """Where each value and key of a document was written, by its path in the built data: the
    same walk as `_Builder`, of a document `_Builder` already accepted."""

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.scalar = _Builder(loader)._scalar
        self.values: dict[Path, tuple[int, int]] = {}
        self.keys: dict[Path, tuple[int, int]] = {}

    def walk(self, node: yaml.Node, path: Path) -> None:
        if path not in self.values:
            self.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            for key_node, value_node in node.value:
                child = (*path, _key(key_node, self.scalar))
                self.keys[child] = _mark(key_node)
                self.walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))


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


def _text_of(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise YamlError(f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB; split it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError("the file is not UTF-8 text; save it as UTF-8", line, column) from None
    return text[1:] if text.startswith("\ufeff") else text


@contextmanager
def _refused() -> Iterator[None]:
    """What the YAML library raises, as a YamlError of one line with the place it names."""
    try:
        yield
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


def _nodes(text: str) -> Iterator[tuple[_Loader, yaml.Node]]:
    """The root node of every non-empty document of `text`, with the loader that composed it.
    Raises YamlError."""
    loader = _Loader(text)
    try:
        with _refused():
            _check_depth(text)
            while loader.check_node():
                node = loader.get_node()
                if node is None or (
                    isinstance(node, yaml.ScalarNode)
                    and node.tag == "tag:yaml.org,2002:null"
                    and node.value in ("", "~", "null")
                ):
                    continue  # an empty document, such as a trailing `---`
                yield loader, node
    finally:
        loader.dispose()


def read_documents(path: str, raw: bytes) -> Iterator[SourceDocument]:
    """Every non-empty document of a YAML stream, with positions. Raises YamlError."""
    text = _text_of(raw)
    file = _FilePositions(text)
    for index, (loader, node) in enumerate(_nodes(text)):
        line, column = _mark(node)
        with _refused():
            data = _Builder(loader).build(node, 0)
        yield SourceDocument(path, index, data, line, column, file)


def read_single(path: str, raw: bytes) -> SourceDocument | None:
    """The one document of a configuration file, or None when the file is empty."""
    docs = list(read_documents(path, raw))
    if len(docs) > 1:
        raise YamlError("expected one YAML document, found several", docs[1].line, docs[1].column)
    return docs[0] if docs else None
