"""The quirks a tenant profile covers that change how the emulator answers rather than what it
stores: `enabled` honoured on create, PATCH answered 204, a smaller page limit."""

from __future__ import annotations

import httpx
from emulator_docs import BASE, START, TASKS, TOKEN, create, scheduled_body

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock


def _client(*quirks: str) -> httpx.Client:
    emu = Emulator(EmulatorConfig(quirks=quirks), clock=ManualClock(START))
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers)


def _enabled_body() -> dict[str, object]:
    return {**scheduled_body("Enabled"), "enabled": True}


def test_enabled_on_create_is_ignored_unless_the_quirk_is_on() -> None:
    with _client() as plain:
        assert create(plain, _enabled_body())["enabled"] is False
    with _client("enabled-on-create") as honouring:
        assert create(honouring, _enabled_body())["enabled"] is True


def test_patch_answers_204_with_the_quirk() -> None:
    op = [{"op": "replace", "path": "/enabled", "value": True}]
    for quirks, status in (((), 200), (("patch-204",), 204)):
        with _client(*quirks) as client:
            task = create(client, scheduled_body("Patched"))
            answer = client.patch(f"{TASKS}/{task['id']}", json=op)
            assert answer.status_code == status
            assert client.get(f"{TASKS}/{task['id']}").json()["enabled"] is True


def test_a_smaller_page_limit_refuses_larger_pages_and_pages_by_it() -> None:
    with _client("page-limit-3") as client:
        for i in range(5):
            create(client, scheduled_body(f"Task {i}"))
        assert client.get(TASKS, params={"limit": "4"}).status_code == 400
        page = client.get(TASKS, params={"limit": "3"}).json()
        assert len(page["data"]) == 3 and "next" in page["links"]
        assert len(client.get(TASKS).json()["data"]) == 3
    with _client() as plain:
        assert plain.get(TASKS, params={"limit": "100"}).status_code == 200
