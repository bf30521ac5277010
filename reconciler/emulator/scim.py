"""The SCIM filter subset the list endpoints accept (RFC 7644 section 3.4.2.2).

Supported: `attr eq value`, `ne`, `co`, `sw`, `ew`, `attr pr`, `and`, `or`, `not (...)` and
parentheses. Attribute names and every comparison are case-insensitive (reference page: "All
comparisons are case-insensitive"). Values are JSON literals: "strings", true, false, null, numbers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection

Getter = Callable[[str], object]
Predicate = Callable[[Getter], bool]

_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<paren>[()])|(?P<word>[^\s()"]+))',
)
_COMPARE = {"eq", "ne", "co", "sw", "ew"}


class FilterError(ValueError):
    """The filter expression cannot be parsed or names an unsupported field or operator."""


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).casefold()


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FilterError(f"unexpected character at position {pos}")
        kind = match.lastgroup or "word"
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, fields: Collection[str]) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.fields = {name.casefold(): name for name in fields}

    def peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return self.tokens[self.pos][1].casefold()
        return None

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise FilterError("unexpected end of filter")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect_paren(self, paren: str) -> None:
        kind, value = self.take()
        if kind != "paren" or value != paren:
            raise FilterError(f"expected '{paren}'")

    def parse(self) -> Predicate:
        predicate = self.parse_or()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected '{self.tokens[self.pos][1]}'")
        return predicate

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.peek_word() == "or":
            self.pos += 1
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda get: any(part(get) for part in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.peek_word() == "and":
            self.pos += 1
            parts.append(self.parse_unary())
        if len(parts) == 1:
            return parts[0]
        return lambda get: all(part(get) for part in parts)

    def parse_unary(self) -> Predicate:
        if self.peek_word() == "not":
            self.pos += 1
            self.expect_paren("(")
            inner = self.parse_or()
            self.expect_paren(")")
            return lambda get: not inner(get)
        kind, value = self.take()
        if kind == "paren" and value == "(":
            inner = self.parse_or()
            self.expect_paren(")")
            return inner
        if kind != "word":
            raise FilterError(f"expected an attribute name, got '{value}'")
        return self.parse_comparison(value)

    def parse_comparison(self, attribute: str) -> Predicate:
        field = self.fields.get(attribute.casefold())
        if field is None:
            supported = ", ".join(sorted(self.fields.values()))
            raise FilterError(f"unsupported filter field '{attribute}' (supported: {supported})")
        operator = self.peek_word()
        if operator is None:
            raise FilterError(f"expected an operator after '{attribute}'")
        self.pos += 1
        if operator == "pr":
            return lambda get: get(field) not in (None, "")
        if operator not in _COMPARE:
            raise FilterError(f"unsupported filter operator '{operator}'")
        expected = _text(self.literal())
        return _comparison(field, operator, expected)

    def literal(self) -> object:
        kind, value = self.take()
        if kind == "string":
            return str(json.loads(value))
        if kind != "word":
            raise FilterError("expected a value")
        lowered = value.casefold()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise FilterError(f"invalid value '{value}': quote strings") from None


def _comparison(field: str, operator: str, expected: str | None) -> Predicate:
    def compare(get: Getter) -> bool:
        actual = _text(get(field))
        if operator == "eq":
            return actual == expected
        if operator == "ne":
            return actual != expected
        if actual is None or expected is None:
            return False
        if operator == "co":
            return expected in actual
        if operator == "sw":
            return actual.startswith(expected)
        return actual.endswith(expected)

    return compare


def parse_filter(text: str, fields: Collection[str]) -> Predicate:
    """Compile `text` into a predicate over a field getter; raises FilterError."""
    if not text.strip():
        raise FilterError("empty filter")
    return _Parser(text, fields).parse()
