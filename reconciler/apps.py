"""Apps as the plan knows them: whether each exists, what it is called, whether the caller may
reload it; and how reports name an app (`"Sales" (116dbfae-...)`).

Pure: the facts are read by the client (`GET /api/v1/apps/{id}`) and passed in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RELOAD = "reload"


@dataclass(frozen=True, slots=True)
class AppFacts:
    """One app: `exists` False when the tenant answered 404 or 403 (missing, or not visible to
    the caller). `may_reload` is None when the answer lists no privileges at all."""

    id: str
    exists: bool
    name: str = ""
    may_reload: bool | None = None

    @classmethod
    def from_answer(cls, app_id: str, answer: Mapping[str, Any] | None) -> AppFacts:
        """The facts of `GET /api/v1/apps/{id}`'s answer (None: 404 or 403)."""
        if answer is None:
            return cls(app_id, exists=False)
        attributes = answer.get("attributes")
        name = (attributes if isinstance(attributes, Mapping) else answer).get("name")
        privileges = answer.get("privileges")
        may_reload = (
            any(isinstance(p, str) and p.lower() == RELOAD for p in privileges)
            if isinstance(privileges, list)
            else None
        )
        return cls(
            app_id, exists=True, name=name if isinstance(name, str) else "", may_reload=may_reload
        )

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "exists": self.exists, "name": self.name, "reload": self.may_reload}


AppBook = Mapping[str, AppFacts]
"""App id → facts: every app a plan or report mentions that could be read."""


def app_name(app_id: str, apps: AppBook) -> str | None:
    facts = apps.get(app_id)
    return facts.name if facts is not None and facts.exists and facts.name else None


def app_label(app_id: str, apps: AppBook) -> str:
    """`"Sales" (116dbfae-...)` when the name is known, the bare id otherwise."""
    name = app_name(app_id, apps)
    return f"{json.dumps(name, ensure_ascii=False)} ({app_id})" if name else app_id


_APP_REF = re.compile(
    r"\bapp ([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\b"
)


def app_ids_in(text: str) -> set[str]:
    """The app ids a message names as `app <id>`."""
    return set(_APP_REF.findall(text))


def with_app_names(text: str, apps: AppBook) -> str:
    """`text` with each `app <id>` whose name is known written `app "Name" (<id>)`."""
    return _APP_REF.sub(lambda m: f"app {app_label(m.group(1), apps)}", text)
