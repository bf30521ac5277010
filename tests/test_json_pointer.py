"""JSON pointer text and reference tokens, both ways (RFC 6901)."""

from __future__ import annotations

import pytest

from reconciler import json_pointer

CASES = [
    # (tokens, pointer)
    ([], ""),
    (["description"], "/description"),
    (["start", "schedule"], "/start/schedule"),
    (["a/b"], "/a~1b"),
    (["m~n"], "/m~0n"),
    (["~1"], "/~01"),  # a literal "~1" token: unescaping must not read it as "/"
    (["/~"], "/~1~0"),
    ([""], "/"),
    (["states", "0", ""], "/states/0/"),
]


@pytest.mark.parametrize(("tokens", "pointer"), CASES, ids=[p or "(whole)" for _, p in CASES])
def test_tokens_and_pointer_text_round_trip(tokens: list[str], pointer: str) -> None:
    assert json_pointer.join(tokens) == pointer
    assert json_pointer.split(pointer) == tokens


@pytest.mark.parametrize(
    ("token", "written"), [("a/b", "a~1b"), ("a~b", "a~0b"), ("~1", "~01"), ("plain", "plain")]
)
def test_one_token_is_escaped_and_read_back(token: str, written: str) -> None:
    assert json_pointer.escape(token) == written
    assert json_pointer.unescape(written) == token
