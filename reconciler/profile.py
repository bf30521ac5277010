"""The tenant profile: every behaviour of the service that its reference leaves open, one named
setting each, with the default the reference's examples suggest.

The rest of the tool works on one spelling of a task document: the marker among `annotations`,
state type `event`, status correlations in lower case, spec version "0.8". This module turns that
spelling into what a tenant of a given profile is sent (`to_wire`, `ops_to_wire`) and a document the
tenant answers back into that spelling (`to_view`). The client applies both at its edge, so plan,
apply, drift, import and migrate honour the profile without knowing it exists.

| setting       | default       | decides                                                          |
| ------------- | ------------- | ---------------------------------------------------------------- |
| `stateType`   | `event`       | the spelling of the state type sent (`event` or `EVENT`)          |
| `specVersion` | `"0.8"`       | the spec version sent                                             |
| `statusCase`  | `lower`       | the case of a chain's status correlation value sent               |
| `pageLimit`   | `100`         | the page size of listings                                         |
| `markerIn`    | `annotations` | where the ownership marker lives: `annotations` or `description`  |

With `markerIn: description` the marker is the description's last line, `[<marker>]`; a document
answered by the tenant shows the rest of the description and the marker among its annotations.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from reconciler import model
from reconciler.model import Strict

Doc = dict[str, Any]

MAX_PAGE_LIMIT = 1000


class Profile(Strict):
    """What a tenant needs to be sent; `reconciler doctor` tells which values a tenant needs."""

    stateType: Literal["event", "EVENT"] = Field(
        default="event", description="The spelling of the state type sent."
    )
    specVersion: model.NonEmpty = Field(
        default=model.SPEC_VERSION, description='The spec version sent ("0.8" or "1.16.0").'
    )
    statusCase: Literal["lower", "upper"] = Field(
        default="lower", description="The case of a chain's status correlation value sent."
    )
    pageLimit: int = Field(
        default=100, ge=1, le=MAX_PAGE_LIMIT, description="The page size of listings."
    )
    markerIn: Literal["annotations", "description"] = Field(
        default="annotations",
        description="Where the ownership marker lives: annotations, or the description's last line.",
    )

    def changed(self) -> dict[str, Any]:
        """The settings that differ from the defaults (what `reconciler.yaml` needs to say)."""
        default = DEFAULT.model_dump()
        return {k: v for k, v in self.model_dump().items() if default[k] != v}


DEFAULT = Profile.model_construct()
"""Every setting at its default (the declared defaults need no validation, so the model is built
only when a profile is read from a file)."""


def merged(*layers: Profile | None) -> Profile:
    """Profiles applied in order, each one's explicitly set keys over the earlier ones."""
    values: dict[str, Any] = {}
    for layer in layers:
        if layer is not None:
            values.update(layer.model_dump(exclude_unset=True))
    return Profile.model_validate(values) if values else Profile.model_construct()


# -- the marker in the description ----------------------------------------------------------------


def marker_line(marker: str) -> str:
    return f"[{marker}]"


def split_description(description: object, marker: str) -> tuple[str, bool]:
    """The description a user sees, and whether its last line is the marker."""
    text = description if isinstance(description, str) else ""
    head, sep, last = text.rpartition("\n")
    if last.strip() == marker_line(marker):
        return (head if sep else ""), True
    return text, False


def with_marker(description: object, marker: str) -> str:
    """The description to send: what the user wrote, then the marker as its last line."""
    text, _ = split_description(description, marker)
    return f"{text}\n{marker_line(marker)}" if text else marker_line(marker)


# -- documents both ways --------------------------------------------------------------------------


def to_view(doc: Mapping[str, Any], marker: str, profile: Profile) -> Doc:
    """A document as the tenant answered it, in the tool's spelling. Only the marker moves: enum
    cases and the spec version are compared by meaning anyway, and the user sees them as stored."""
    out = dict(doc)
    if profile.markerIn != "description":
        return out
    text, marked = split_description(doc.get("description"), marker)
    if "description" in doc:
        out["description"] = text
    if marked:
        annotations = [a for a in doc.get("annotations") or [] if a != marker]
        out["annotations"] = [marker, *annotations]
    return out


def to_wire(doc: Mapping[str, Any], marker: str, profile: Profile) -> Doc:
    """A whole document to send (a create or a replace) in the tenant's spelling."""
    out = copy.deepcopy(dict(doc))
    if out.get("specVersion") == model.SPEC_VERSION:
        out["specVersion"] = profile.specVersion
    if "states" in out:
        out["states"] = _states(out["states"], profile)
    if "events" in out:
        out["events"] = _events(out["events"], profile)
    if profile.markerIn == "description" and marker in (out.get("annotations") or []):
        out["annotations"] = [a for a in out["annotations"] if a != marker]
        out["description"] = with_marker(out.get("description"), marker)
    return out


def ops_to_wire(
    ops: Sequence[Mapping[str, Any]],
    marker: str,
    profile: Profile,
    live_description: str | None = None,
) -> list[Doc]:
    """A JSON Patch in the tenant's spelling. With the marker in the description, a patch that
    gives a task the marker (an adoption) also gives its description the marker line: pass the
    task's description as the tenant stores it as `live_description`."""
    out: list[Doc] = []
    marks = False
    describes = False
    for raw in ops:
        op = copy.deepcopy(dict(raw))
        path, value = op.get("path"), op.get("value")
        if path == "/states" and "value" in op:
            op["value"] = _states(value, profile)
        elif path == "/events" and "value" in op:
            op["value"] = _events(value, profile)
        elif path == "/specVersion" and value == model.SPEC_VERSION:
            op["value"] = profile.specVersion
        elif profile.markerIn == "description" and path == "/annotations":
            annotations = value if isinstance(value, list) else []
            marks = marks or marker in annotations
            op["value"] = [a for a in annotations if a != marker]
        elif profile.markerIn == "description" and path == "/description":
            describes = True
            op = {"op": "replace" if op.get("op") == "remove" else op.get("op"), "path": path}
            op["value"] = with_marker("" if raw.get("op") == "remove" else value, marker)
        out.append(op)
    if marks and not describes and not split_description(live_description, marker)[1]:
        op_name = "add" if live_description is None else "replace"
        out.append(
            {"op": op_name, "path": "/description", "value": with_marker(live_description, marker)}
        )
    return out


def ops_need_description(ops: Sequence[Mapping[str, Any]], marker: str, profile: Profile) -> bool:
    """Whether `ops_to_wire` needs the live description: the patch gives the marker and the
    marker lives in the description, which the patch does not set itself."""
    if profile.markerIn != "description":
        return False
    paths = {op.get("path") for op in ops}
    return "/description" not in paths and any(
        op.get("path") == "/annotations"
        and isinstance(op.get("value"), list)
        and marker in op["value"]
        for op in ops
    )


def _states(states: Any, profile: Profile) -> Any:
    if not isinstance(states, list):
        return states
    return [
        {**s, "type": profile.stateType}
        if isinstance(s, dict) and str(s.get("type", "")).casefold() == "event"
        else s
        for s in states
    ]


def _events(events: Any, profile: Profile) -> Any:
    if not isinstance(events, list):
        return events
    return [
        {**event, "correlation": [_status(c, profile) for c in event["correlation"]]}
        if isinstance(event, dict) and isinstance(event.get("correlation"), list)
        else event
        for event in events
    ]


def _status(corr: Any, profile: Profile) -> Any:
    value = corr.get("contextAttributeValue") if isinstance(corr, dict) else None
    if not isinstance(value, str) or corr.get("contextAttributeName") != "status":
        return corr
    cased = value.upper() if profile.statusCase == "upper" else value.lower()
    return {**corr, "contextAttributeValue": cased}
