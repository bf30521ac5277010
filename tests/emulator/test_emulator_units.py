"""The emulator's small pure parts: SCIM filters, keyset paging, the rate window, patch rules."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.emulator import EmulatorConfig, ManualClock
from reconciler.emulator.faults import RateLimiter, Tier
from reconciler.emulator.paging import normalise, paginate
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
