"""For any valid desired task, the document the emulator returns after creating it normalises equal
to the desired one: a plan made right after an apply has nothing to say about it."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, assume, given, settings

from reconciler import apidoc, normalize
from reconciler.emulator import Emulator, EmulatorConfig
from reconciler.model import MARKER
from reconciler.qlik.auth import Credentials, Secret
from reconciler.qlik.client import RateLimits, TenantClient
from reconciler.validate import validate
from tests.test_convergence import _load, desired_trees


async def _created(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    emulator = Emulator(EmulatorConfig())
    client = TenantClient(
        "http://127.0.0.1",
        Credentials(api_key=Secret("k")),
        transport=emulator.transport(),
        limits=RateLimits(reads_per_minute=10**6, writes_per_minute=10**6),
    )
    out = []
    async with client:
        ids: dict[str, str] = {}
        for doc in docs:
            sent = apidoc.substitute(doc, ids)
            created = await client.create_task(sent)
            ids[doc["name"]] = created["id"]
            if doc.get("enabled"):
                await client.patch_task(
                    created["id"], [{"op": "replace", "path": "/enabled", "value": True}]
                )
            out.append((apidoc.substitute(doc, ids), await client.get_task(created["id"])))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=desired_trees())
def test_what_the_service_returns_normalises_equal_to_what_was_sent(text: str) -> None:
    tree = _load(text)
    assume(tree.tasks and not tree.problems)
    assume(not [p for p in validate(tree.tasks) if p.severity == "error"])
    docs = [apidoc.build(t, {}, MARKER) for t in tree.tasks]
    for sent, returned in asyncio.run(_created(docs)):
        assert "id" in returned and "metadata" in returned
        assert normalize.normalize(returned, desired=sent) == normalize.normalize(sent)
