"""Listing tasks: cursor pagination, limit bounds, links, SCIM filters, sort, resourceId."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from emulator_docs import TASKS, app_id, assert_error, create, enable, task_body

from reconciler.emulator import Emulator, ManualClock


def all_pages(client: httpx.Client, url: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Follow links.next.href from the first page; returns (items, number of pages)."""
    response = client.get(url, params=params)
    pages, items = 1, []
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        next_link = body["links"].get("next")
        if next_link is None:
            return items, pages
        response = client.get(next_link["href"])
        pages += 1


@pytest.fixture
def populated(client: httpx.Client, clock: ManualClock) -> list[dict[str, Any]]:
    tasks = []
    for n in range(25):
        clock.advance(1)
        tasks.append(create(client, task_body(f"task {n:02d}")))
    return tasks


def test_default_page_and_sort(client: httpx.Client, populated: list[dict[str, Any]]) -> None:
    body = client.get(TASKS).json()
    assert len(body["data"]) == 10
    names = [t["name"] for t in body["data"]]
    assert names == [f"task {n:02d}" for n in range(24, 14, -1)]  # -updatedAt
    assert body["links"]["self"]["href"] == TASKS
    assert "prev" not in body["links"]


def test_pagination_visits_everything_once(
    client: httpx.Client, populated: list[dict[str, Any]]
) -> None:
    items, pages = all_pages(client, TASKS, limit=7, sort="+name")
    assert pages == 4
    assert [t["name"] for t in items] == sorted(t["name"] for t in populated)


def test_next_href_is_a_relative_path_keeping_the_query(
    client: httpx.Client, populated: list[dict[str, Any]]
) -> None:
    body = client.get(TASKS, params={"limit": 5, "sort": "-name", "filter": "enabled eq false"})
    href = body.json()["links"]["next"]["href"]
    parts = urlsplit(href)
    assert parts.scheme == ""
    assert parts.netloc == ""
    assert parts.path == TASKS
    query = parse_qs(parts.query)
    assert query["limit"] == ["5"]
    assert query["sort"] == ["-name"]
    assert query["filter"] == ["enabled eq false"]
    assert query["page"]
    second = client.get(href).json()
    assert second["links"]["self"]["href"] == href
    assert "prev" in second["links"]
    back = client.get(second["links"]["prev"]["href"]).json()
    assert [t["id"] for t in back["data"]] == [t["id"] for t in body.json()["data"]]


def test_last_page_has_no_next(client: httpx.Client, populated: list[dict[str, Any]]) -> None:
    body = client.get(TASKS, params={"limit": 100}).json()
    assert len(body["data"]) == 25
    assert "next" not in body["links"]
    assert client.get(TASKS, params={"limit": 25}).json()["links"].get("next") is None


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", ""])
def test_limit_bounds(client: httpx.Client, limit: str) -> None:
    assert_error(client.get(TASKS, params={"limit": limit}), 400)


def test_limit_edges_are_accepted(client: httpx.Client) -> None:
    assert client.get(TASKS, params={"limit": 1}).status_code == 200
    assert client.get(TASKS, params={"limit": 100}).status_code == 200


def test_bad_cursor_sort_and_filter_are_400(client: httpx.Client) -> None:
    assert_error(client.get(TASKS, params={"page": "garbage!"}), 400)
    assert_error(client.get(TASKS, params={"sort": "-color"}), 400)
    assert_error(client.get(TASKS, params={"filter": 'color eq "red"'}), 400)
    assert_error(client.get(TASKS, params={"filter": 'name gt "a"'}), 400)
    assert_error(client.get(TASKS, params={"filter": 'name eq "a" and'}), 400)


def test_filters(client: httpx.Client, other: httpx.Client, emu: Emulator) -> None:
    app = app_id()
    first = create(client, task_body("Sales ETL", app))
    second = create(client, task_body("Finance", app))
    third = create(other, task_body("sales etl"))
    enable(client, second["id"])

    def names(expression: str) -> list[str]:
        response = client.get(TASKS, params={"filter": expression, "sort": "+name"})
        assert response.status_code == 200, response.text
        return [t["name"] for t in response.json()["data"]]

    assert names('name eq "SALES ETL"') == ["Sales ETL", "sales etl"]
    owner_b = emu.user_id_for("test-token-owner-b")
    assert names(f'NAME EQ "sales etl" and ownerId eq "{owner_b}"') == ["sales etl"]
    assert names("enabled eq true") == ["Finance"]
    assert names(f'resourceId eq "{app}" and enabled eq false') == ["Sales ETL"]
    assert names('(name eq "finance") or (name eq "nothing")') == ["Finance"]
    created_at = first["metadata"]["createdAt"]
    everything = ["Finance", "Sales ETL", "sales etl"]
    assert (
        names(f'spaceId eq "" and triggerType eq 0 and createdAt eq "{created_at}"') == everything
    )
    assert names('not (name eq "finance")') == ["Sales ETL", "sales etl"]
    assert names('name sw "SAL" and name co "etl"') == ["Sales ETL", "sales etl"]
    by_app = client.get(TASKS, params={"resourceId": app}).json()["data"]
    assert {t["id"] for t in by_app} == {first["id"], second["id"]}
    assert third["id"] not in {t["id"] for t in by_app}


def test_sort_fields(client: httpx.Client, clock: ManualClock) -> None:
    created = []
    for name in ("b", "C", "a"):
        clock.advance(1)
        created.append(create(client, task_body(name)))

    def order(sort: str) -> list[str]:
        return [t["name"] for t in client.get(TASKS, params={"sort": sort}).json()["data"]]

    assert order("+name") == ["a", "b", "C"]
    assert order("-name") == ["C", "b", "a"]
    assert order("+createdAt") == ["b", "C", "a"]
    assert order("updatedAt") == ["b", "C", "a"]
    assert order("-updatedAt") == ["a", "C", "b"]
    clock.advance(1)
    client.patch(
        f"{TASKS}/{created[0]['id']}", json=[{"op": "add", "path": "/description", "value": ""}]
    )
    assert order("-updatedAt")[0] == "b"


def test_equal_timestamps_still_paginate_exactly(client: httpx.Client) -> None:
    # The manual clock does not move: every task has the same createdAt and updatedAt.
    ids = {create(client, task_body(f"same {n}"))["id"] for n in range(12)}
    for sort in ("-updatedAt", "+updatedAt", "+enabled", "-lastStatus"):
        items, _ = all_pages(client, TASKS, limit=5, sort=sort)
        assert [t["id"] for t in items if t["id"] in ids] == [t["id"] for t in items]
        assert len(items) == 12
        assert {t["id"] for t in items} == ids
