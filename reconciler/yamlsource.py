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
        self.doc.values.setdefault(path, _mark(node))
        expected = _COLLECTION_TAGS.get(type(node))
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
        for key_node, value_node in node.value:
            key = self._scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str | int | float | bool) or isinstance(key, bool):
                raise YamlError("keys must be plain words such as `name`", *_mark(key_node))
            key = str(key)
            if key in out:
                first = self.doc.keys[(*path, key)]
                raise YamlError(
                    f"duplicate key `{key}` (first written at line {first[0]}); keep one of them",
                    *_mark(key_node),
                )
            self.doc.keys[(*path, key)] = _mark(key_node)
            out[key] = self.build(value_node, (*path, key), depth + 1)
        return out

    def _scalar(self, node: yaml.Node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise YamlError(
                f"{exc.problem or 'this value cannot be read'}; only plain YAML values "
                "(text, numbers, true/false, lists, mappings) are allowed",
                *_mark(node),
            ) from None


def _precheck(text: str) -> None:
    """Refuse flow collections nested so deep that the parser itself would recurse, before it runs."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return  # the common case: too few brackets to nest that deep
    running = 0
    for offset, ch in enumerate(text):
        if ch in "[{":
            running += 1
            if running > MAX_DEPTH:
                line = text.count("\n", 0, offset) + 1
                raise YamlError(
                    f"nesting deeper than {MAX_DEPTH} levels; task files need only a few", line
                )
        elif ch in "]}":
            running = max(0, running - 1)


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
    _precheck(text)
    loader = _Loader(text)
    try:
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
