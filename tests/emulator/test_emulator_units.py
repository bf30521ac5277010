"""The emulator's small pure parts: SCIM filters, keyset paging, the rate window, patch rules."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from reconciler.emulator import EmulatorConfig, ManualClock
from reconciler.emulator.faults import RateLimiter, Tier
from reconciler.emulator.paging import normalise, page_of, paginate, sort
from reconciler.emulator.replies import ServiceError
from reconciler.emulator.rules import check_rrule, patch_refusal, user_id
from reconciler.emulator.scim import FilterError, parse_filter

FIELDS = ("name", "enabled", "ownerId", "triggerType")


def matches(expression: str, **values: Any) -> bool:
    return parse_filter(expression, FIELDS)(values.get)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('name eq "Sales"', True),
        ('Name EQ "SALES"', True),
        ('name eq "sales" and enabled eq true', True),
        ('name eq "sales" and enabled eq false', False),
        ('name eq "x" or (enabled eq true and ownerId eq "u1")', True),
        ('not (name eq "sales")', False),
        ('name ne "other"', True),
        ("ownerId pr", True),
        ('name eq "say \\"hi\\""', False),
        ("triggerType eq 3", True),
        ('triggerType eq "3"', True),
        ("name eq null", False),
    ],
)
def test_scim_filters(expression: str, expected: bool) -> None:
    assert matches(expression, name="Sales", enabled=True, ownerId="u1", triggerType=3) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "name",
        "name eq",
        'name gt "a"',
        'color eq "red"',
        'name eq "a" and',
        "(name eq 1",
        "name eq bare",
    ],
)
def test_scim_errors(expression: str) -> None:
    with pytest.raises(FilterError):
        parse_filter(expression, FIELDS)


def test_keyset_paging_walks_forward_and_back() -> None:
    items = [{"id": f"{n:02d}", "v": n % 3} for n in range(11)]

    def key(item: dict[str, Any]) -> tuple[Any, str]:
        return normalise(item["v"]), item["id"]

    page = paginate(items, key, descending=True, limit=4, cursor=None)
    seen = list(page.items)
    pages = [page]
    while page.next_cursor:
        page = paginate(items, key, descending=True, limit=4, cursor=page.next_cursor)
        seen += page.items
        pages.append(page)
    assert len(pages) == 3
    assert sorted(i["id"] for i in seen) == [i["id"] for i in items]
    assert pages[-1].prev_cursor is not None
    back = paginate(items, key, descending=True, limit=4, cursor=pages[-1].prev_cursor)
    assert back.items == pages[1].items


@pytest.mark.parametrize(
    "cursor",
    ["eyJkIjoibiIsImsiOltbMywxLCIiXSwiaWQiXX0", "eyJkIjoieCJ9", "bm90IGpzb24", "%%%"],
)
def test_forged_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(ServiceError) as refused:
        paginate(
            [{"id": "a"}],
            lambda i: (normalise(None), i["id"]),
            descending=False,
            limit=1,
            cursor=cursor,
        )
    assert refused.value.status == 400


def test_normalise_orders_mixed_values() -> None:
    values = ["b", None, True, 3, "A", False, 1.5]
    assert sorted(values, key=normalise) == [None, False, True, 1.5, 3, "A", "b"]


def test_rate_window_is_exact() -> None:
    clock = ManualClock(0)
    limiter, config = RateLimiter(), EmulatorConfig(rate_limit_writes=2)
    assert limiter.admit(Tier.WRITES, "u", config, clock()) is None
    clock.advance(20)
    assert limiter.admit(Tier.WRITES, "u", config, clock()) is None
    clock.advance(0.2)
    assert limiter.admit(Tier.WRITES, "u", config, clock()) == 40  # ceil(60 - 20.2)
    assert limiter.admit(Tier.READS, "u", config, clock()) is None  # unlimited tier
    clock.advance(39.8)
    assert limiter.admit(Tier.WRITES, "u", config, clock()) is None


def test_patch_refusal_rules() -> None:
    assert patch_refusal([{"op": "add", "path": "/annotations/-", "value": "x"}]) is None
    assert (
        patch_refusal([{"op": "copy", "from": "/metadata/ownerId", "path": "/description"}]) is None
    )
    assert patch_refusal({"op": "add"}) is not None
    assert patch_refusal([{"op": "add", "path": "/metadata~1x", "value": 1}]) is None
    assert "owned by the service" in (patch_refusal([{"op": "remove", "path": "/id"}]) or "")


def test_rrule_checks() -> None:
    check_rrule("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;BYHOUR=13;BYMINUTE=17;BYSECOND=0")
    check_rrule("RRULE:FREQ=DAILY;UNTIL=20270105T000000Z")
    for bad in ("FREQ=DAILY;DTSTART=20200101", "RRULE:FREQ=DAILY;BYDAY=XX", "daily"):
        with pytest.raises(ServiceError):
            check_rrule(bad)


def test_user_ids_are_stable_and_opaque() -> None:
    assert user_id("key:abc") == user_id("key:abc") != user_id("key:abd")
    assert len(user_id("key:abc")) == 32
    assert "abc" not in user_id("key:abc")


def _cursor(direction: str, key: Any) -> str:
    """A cursor as the listing writes it: base64url of {"d": direction, "k": [[rank, value, raw], id]}."""
    raw = json.dumps({"d": direction, "k": [list(key[0]), key[1]]})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _reference_page(
    keys: list[Any], mark: Any, direction: str, descending: bool, limit: int
) -> tuple[int, int]:
    """Where a page starts and ends, by walking every key (what bisection must agree with)."""

    def beyond(k: Any) -> bool:
        return bool(k < mark if descending else k > mark)

    if direction == "n":
        start = next((i for i, k in enumerate(keys) if beyond(k)), len(keys))
        return start, min(start + limit, len(keys))
    end = next((i for i, k in enumerate(keys) if beyond(k) or k == mark), len(keys))
    return max(0, end - limit), end


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("direction", ["n", "p"])
@pytest.mark.parametrize("limit", [1, 3, 20])
def test_cursor_found_by_bisection_matches_a_walk(
    descending: bool, direction: str, limit: int
) -> None:
    """Every cursor, at an item of the listing or between two (its item since deleted), before the
    first and after the last, starts a page where a walk over every key would."""
    items = [{"id": f"{n:02d}", "v": n % 4} for n in range(0, 22, 2)]

    def key(item: dict[str, Any]) -> tuple[Any, str]:
        return normalise(item["v"]), item["id"]

    ordered, keys = sort(items, key, descending=descending)
    marks = [key({"id": f"{n:02d}", "v": v}) for n in range(-1, 24) for v in range(-1, 5)]
    for mark in marks:
        token = _cursor(direction, mark)
        page = page_of(ordered, keys, descending=descending, limit=limit, cursor=token)
        start, end = _reference_page(keys, mark, direction, descending, limit)
        assert page.items == ordered[start:end], mark
