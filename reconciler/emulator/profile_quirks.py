"""The behaviours a tenant profile covers, as the emulator plays them (`reconciler.profile`).

Each is a quirk of `reconciler.emulator.quirks`: what the service stores (annotations dropped, the
state type or a chain's status in upper case) or how it answers (`enabled` honoured on create, PATCH
answered 204, a smaller page limit). `reconciler doctor --probe` tells each of them apart.
"""

from __future__ import annotations

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.store import Doc


def drop_annotations(doc: Doc) -> None:
    """A service that does not keep annotations stores a task without them."""
    doc.pop("annotations", None)


def state_type_upper(doc: Doc) -> None:
    for state in doc.get("states") or []:
        if isinstance(state, dict) and isinstance(state.get("type"), str):
            state["type"] = state["type"].upper()


def status_upper(doc: Doc) -> None:
    for event in doc.get("events") or []:
        for corr in (event.get("correlation") or []) if isinstance(event, dict) else []:
            value = corr.get("contextAttributeValue") if isinstance(corr, dict) else None
            if corr.get("contextAttributeName") == "status" and isinstance(value, str):
                corr["contextAttributeValue"] = value.upper()


def honour_enabled(config: EmulatorConfig, _: int | None) -> None:
    config.honour_enabled_on_create = True


def patch_204(config: EmulatorConfig, _: int | None) -> None:
    config.patch_answers_204 = True


def page_limit(config: EmulatorConfig, n: int | None) -> None:
    """Listings refuse a `limit` above `n`, and page by at most `n` by default."""
    assert n is not None  # a family quirk always has its number
    config.max_page_limit = n
    config.default_page_limit = min(config.default_page_limit, n)
