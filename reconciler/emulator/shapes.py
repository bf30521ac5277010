"""The shapes of Qlik's own types for a task document, as the service enforces them: the enums
(`actionMode` SEQUENTIAL | PARALLEL, `invoke` SYNC | ASYNC, in either case), the `app.reload`
constant, and booleans that are booleans. A document out of shape is refused with 400.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.emulator.replies import bad_request

_ENUMS = {"actionMode": ("SEQUENTIAL", "PARALLEL"), "invoke": ("SYNC", "ASYNC")}


def check_enum(item: Mapping[str, Any], key: str, where: str) -> None:
    value = item.get(key)
    if value is not None and (not isinstance(value, str) or value.upper() not in _ENUMS[key]):
        allowed = " or ".join(_ENUMS[key])
        raise bad_request(f"{where}.{key} must be {allowed}, not {value!r}")


def check_flag(item: Mapping[str, Any], key: str, where: str) -> None:
    if key in item and item[key] is not None and not isinstance(item[key], bool):
        raise bad_request(f"{where}.{key} must be a boolean")


def check_state(state: Mapping[str, Any], actions: list[Any]) -> None:
    """The shapes of Qlik's types: enums, the app.reload constant, booleans that are booleans."""
    for key in ("end", "exclusive"):
        check_flag(state, key, "state")
    for entry in state.get("onEvents") or []:
        if isinstance(entry, dict):
            check_enum(entry, "actionMode", "onEvents")
    for action in actions:
        function = action.get("functionRef") if isinstance(action, dict) else None
        if not isinstance(function, dict):
            raise bad_request("an action needs a functionRef object")
        if function.get("refName") != "app.reload":
            raise bad_request(
                f"functionRef.refName must be app.reload, not {function.get('refName')!r}"
            )
        check_enum(function, "invoke", "functionRef")
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            check_flag(arguments, "partial", "functionRef.arguments")
