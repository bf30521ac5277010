"""The bounds of a command, with plain data: settings read from the environment, the deadline, the
time 429s may hold a command back, and listings that are too long."""

from __future__ import annotations

import pytest

from reconciler.errors import BoundExceeded, ConfigError
from reconciler.qlik.bounds import Bounds, Budget


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Bounds()),
        ({"RECONCILER_TIMEOUT": "5"}, Bounds(timeout=5.0)),
        ({"RECONCILER_DEADLINE": " 90 ", "RECONCILER_MAX_WAIT": "2.5"}, Bounds(deadline=90, max_wait=2.5)),
        ({"RECONCILER_MAX_PAGES": "3", "RECONCILER_MAX_ITEMS": "7"}, Bounds(max_pages=3, max_items=7)),
        ({"RECONCILER_MAX_ANSWER_BYTES": "1024", "RECONCILER_TIMEOUT": ""}, Bounds(max_bytes=1024)),
    ],
)  # fmt: skip
def test_bounds_come_from_the_environment(environ: dict[str, str], expected: Bounds) -> None:
    assert Bounds.from_env(environ) == expected


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RECONCILER_TIMEOUT", "0"),
        ("RECONCILER_TIMEOUT", "soon"),
        ("RECONCILER_DEADLINE", "-1"),
        ("RECONCILER_MAX_WAIT", "inf"),
        ("RECONCILER_MAX_PAGES", "2.5"),
        ("RECONCILER_MAX_ITEMS", "nan"),
    ],
)
def test_a_bound_that_is_not_a_positive_number_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Bounds.from_env({name: value})


def test_the_deadline_is_for_the_whole_command() -> None:
    clock = Clock()
    budget = Budget(Bounds(timeout=10, deadline=25), clock)
    assert budget.request_seconds() == 10
    clock.now += 20
    assert budget.request_seconds() == 5  # what is left of the deadline
    assert "RECONCILER_DEADLINE" in budget.timed_out(5)
    assert "RECONCILER_TIMEOUT" in budget.timed_out(10)
    budget.check_deadline("GET /x")
    clock.now += 5
    with pytest.raises(BoundExceeded, match="RECONCILER_DEADLINE allows 25 s"):
        budget.check_deadline("GET /x")


def test_429s_hold_the_command_back_at_most_max_wait() -> None:
    clock = Clock()
    budget = Budget(Bounds(max_wait=100), clock)
    budget.hold("POST /t", 59, blocked_until=0)
    assert budget.held == 59
    # A second request waiting in the same block adds nothing.
    budget.hold("POST /t", 59, blocked_until=clock.now + 59)
    assert budget.held == 59
    clock.now += 59
    with pytest.raises(BoundExceeded, match="RECONCILER_MAX_WAIT allows 100 s"):
        budget.hold("POST /t", 59, blocked_until=clock.now)


def test_a_wait_past_the_deadline_stops_at_once() -> None:
    budget = Budget(Bounds(deadline=30, max_wait=1000), Clock())
    with pytest.raises(BoundExceeded, match="429"):
        budget.hold("GET /t", 40, blocked_until=0)


@pytest.mark.parametrize(
    ("pages", "items", "says"),
    [(5, 10, None), (6, 10, "more than 5 pages"), (1, 21, "more than 20 items")],
)
def test_a_listing_is_bounded_in_pages_and_items(pages: int, items: int, says: str | None) -> None:
    budget = Budget(Bounds(max_pages=5, max_items=20), Clock())
    if says is None:
        budget.check_listing("GET /t", pages, items)
        return
    with pytest.raises(BoundExceeded, match=says):
        budget.check_listing("GET /t", pages, items)
