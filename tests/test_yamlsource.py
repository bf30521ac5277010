"""Safe YAML reading: positions kept, values as written, hostile input refused quickly."""

from __future__ import annotations

import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.yamlsource import MAX_DEPTH, YamlError, read_documents


def test_positions_of_keys_and_values_are_kept() -> None:
    (doc,) = read_documents("f.yaml", b"name: A\nreload:\n  appId: x\n")
    assert doc.keys[("reload", "appId")] == (3, 3)
    assert doc.values[("reload", "appId")] == (3, 10)
    assert doc.where(("reload", "appId", "nowhere")) == (3, 3)


def test_timestamps_stay_the_strings_written() -> None:
    (doc,) = read_documents("f.yaml", b"a: 2026-01-01T06:00:00\nb: 2026-01-01\n")
    assert doc.data == {"a": "2026-01-01T06:00:00", "b": "2026-01-01"}


def test_multi_document_files_number_their_documents() -> None:
    docs = list(read_documents("f.yaml", b"name: A\n---\nname: B\n---\n"))
    assert [d.data["name"] for d in docs] == ["A", "B"]
    assert [d.line for d in docs] == [1, 3]


BILLION_LAUGHS = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%s: &%s [%s]\n" % (c.encode(), c.encode(), b", ".join([b"*" + p.encode()] * 9))
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"a: 1\na: 2\n", "duplicate key"),
        (b"a: !!python/object/apply:os.system [echo]\n", "only plain YAML values"),
        (b"a: !!binary aGVsbG8=\nb: !custom x\n", "only plain YAML values"),
        (BILLION_LAUGHS, "alias bomb"),
        (b"name: \xff\xfe\n", "not UTF-8"),
        (b"x" * (3 * 1024 * 1024), "larger than"),
        (b"a: [1, 2\n", "YAML syntax error"),
    ],
    ids=[
        "duplicate",
        "python-tag",
        "unknown-tags",
        "alias-bomb",
        "utf8",
        "huge",
        "syntax",
    ],
)
def test_hostile_input_is_refused_quickly_with_a_location(raw: bytes, fragment: str) -> None:
    started = time.process_time()
    with pytest.raises(YamlError) as info:
        list(read_documents("f.yaml", raw))
    assert fragment in info.value.message
    assert info.value.line >= 1
    assert time.process_time() - started < 5  # bounded work, not a performance assertion


@pytest.mark.parametrize(
    ("raw", "at_or_after"),
    [
        (b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", (1, 3 + MAX_DEPTH)),
        (b"a: " + b"{b: " * 20_000 + b"\n", (1, 4 * (MAX_DEPTH - 1))),
        (b"".join(b"  " * i + b"k:\n" for i in range(200)), (MAX_DEPTH, 1)),
        (b"- " * 5000 + b"x\n", (1, 2 * (MAX_DEPTH - 1))),
    ],
    ids=["flow-nesting", "flow-mapping-nesting", "block-nesting", "dash-nesting"],
)
def test_deep_nesting_is_refused_on_one_line_where_it_gets_too_deep(
    raw: bytes, at_or_after: tuple[int, int]
) -> None:
    """Our bound or the YAML library's own limit may notice first; either way the refusal is a
    YamlError of one line that points into the nesting, not at the start of the file."""
    started = time.process_time()
    with pytest.raises(YamlError) as info:
        list(read_documents("f.yaml", raw))
    error = info.value
    assert error.message and "\n" not in error.message
    assert (error.line, error.column) >= at_or_after
    assert time.process_time() - started < 5  # bounded work, not a performance assertion


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("ab:- \n[]{}&*!'\"#|>%@`,?\t0") + ["\x00", "é"]), max_size=80
    )
)
def test_any_text_either_parses_or_is_a_located_error(text: str) -> None:
    try:
        for doc in read_documents("f.yaml", text.encode()):
            assert doc.line >= 1
            assert doc.where(()) >= (1, 1)  # the positions are found again without an error
            assert set(doc.values) >= {()}
    except YamlError as exc:
        assert exc.line >= 1
        assert exc.column >= 1


@pytest.mark.parametrize(
    ("raw", "index", "path", "key_at", "value_at"),
    [
        (b"name: A\n---\nname: B\nreload:\n  appId: x\n", 1, ("reload", "appId"), (5, 3), (5, 10)),
        (b"---\n---\nname: B\n", 0, ("name",), (3, 1), (3, 7)),
        (b"a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n", 0, ("c", "d"), (4, 3), (4, 6)),
        (b"a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n", 0, ("c", "b"), (1, 8), (1, 11)),
        (b"list:\n  - {k: v}\n  - [1, 2]\n", 0, ("list", 1, 0), None, (3, 6)),
        (b"12: twelve\n", 0, ("12",), (1, 1), (1, 5)),
    ],
    ids=[
        "second-document",
        "after-empty-documents",
        "beside-merge",
        "merged",
        "lists",
        "number-key",
    ],
)
def test_positions_are_found_when_asked_for(
    raw: bytes,
    index: int,
    path: tuple[str | int, ...],
    key_at: tuple[int, int] | None,
    value_at: tuple[int, int],
) -> None:
    doc = list(read_documents("f.yaml", raw))[index]
    assert doc.values[path] == value_at
    assert doc.keys.get(path) == key_at
    assert doc.where(path, prefer_value=True) == value_at


def test_every_document_of_a_file_is_located_by_one_more_reading() -> None:
    docs = list(read_documents("f.yaml", b"".join(b"---\nname: %d\n" % i for i in range(50))))
    assert [d.where(("name",)) for d in docs] == [(2 + 2 * i, 1) for i in range(50)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a: 'quoted 1'\nb: \"true\"\nc: 1\nd: true\ne: ~\nf: 1.5\ng: [x]\nh: {}\n",
         {"a": "quoted 1", "b": "true", "c": 1, "d": True, "e": None, "f": 1.5, "g": ["x"], "h": {}}),
        (b"a: !!str 1\nb: !!int '2'\nc: 0x1F\nd: .inf\n", {"a": "1", "b": 2, "c": 31, "d": float("inf")}),
        (b"a: |\n  text\nb: >\n  folded\n", {"a": "text\n", "b": "folded\n"}),
    ],
    ids=["plain-and-quoted", "explicit-tags", "block-scalars"],
)  # fmt: skip
def test_values_are_those_of_the_safe_loader(raw: bytes, expected: dict[str, object]) -> None:
    """The remembered tags give what PyYAML's safe loader gives (timestamps aside)."""
    (doc,) = read_documents("f.yaml", raw)
    assert doc.data == expected == yaml.safe_load(raw)
