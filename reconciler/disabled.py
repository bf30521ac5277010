"""Why a task is disabled (`metadata.disabledCode`), in plain words: turned off by hand
(`MANUALLY`) or by the service (every other code), what to do about it, and what turning it back
on means for whom its reloads run as.
"""

from __future__ import annotations

from collections.abc import Mapping

MANUALLY = "MANUALLY"

DISABLED_CODES: Mapping[str, tuple[str, str]] = {
    "CONSECUTIVE-FAILURES": (
        "the service turned it off because its reloads failed several times in a row",
        "read the reload log of the last runs and fix the cause (data source, credentials, "
        "script); then run `reconciler apply`: it turns the task back on",
    ),
    "OWNER-DELETED": (
        "the user who owned the task was deleted; a task runs as its owner",
        "run `reconciler apply`: its update makes the identity that applies the owner and "
        "turns the task back on",
    ),
    "OWNER-DISABLED": (
        "the user who owns the task was disabled; a task runs as its owner",
        "run `reconciler apply`: its update makes the identity that applies the owner and "
        "turns the task back on (or enable the user again)",
    ),
    "OWNER-MOVED": (
        "the user who owns the task was moved and no longer owns it where it runs",
        "run `reconciler apply`: its update makes the identity that applies the owner and "
        "turns the task back on",
    ),
    "APP-SCRIPT-UPDATED": (
        "the app's load script was changed by someone else; the service stopped the task so "
        "that the owner does not run a script they have not seen",
        "review the script change; then run `reconciler apply` to turn the task back on",
    ),
    "APP-MOVED-SPACE": (
        "the app was moved to another space",
        "check that the task's owner may reload the app in its new space; then run "
        "`reconciler apply` to turn the task back on",
    ),
    "SCHEDULE-EXPIRED": (
        "the schedule had already ended when the task was migrated from its legacy reload-task",
        "give the task a schedule that has not ended (or no endDateTime), then run "
        "`reconciler apply` to turn it back on",
    ),
    "MANUALLY": (
        "someone turned it off by hand (in the hub or through the API)",
        "if it should stay off, set `enabled: false` in its task file; otherwise run "
        "`reconciler apply` to turn it back on",
    ),
}
"""`metadata.disabledCode` values of the reference: why, in plain words, and what to do."""


def explain_disabled(code: str) -> tuple[str, str]:
    """(why, what to do) for a `metadata.disabledCode`; a code not known here gets generic words."""
    known = DISABLED_CODES.get(code.upper())
    if known is not None:
        return known
    return (
        f"the service turned it off ({code})",
        "find out why in the hub; then run `reconciler apply` to turn it back on",
    )


ENABLING: Mapping[str, str] = {
    "APP-SCRIPT-UPDATED": "the app's new load script will run, as {writer}",
    "APP-MOVED-SPACE": "the reload runs in the app's new space, as {writer}",
    "OWNER-DELETED": "the task becomes {writer}'s and its reloads run as {writer}",
    "OWNER-DISABLED": "the task becomes {writer}'s and its reloads run as {writer}",
    "OWNER-MOVED": "the task becomes {writer}'s and its reloads run as {writer}",
    "CONSECUTIVE-FAILURES": "the reload runs again, as {writer}: it fails again unless its "
    "cause was fixed",
    "SCHEDULE-EXPIRED": "the task runs on its schedule again, as {writer}",
}
"""What turning a service-disabled task back on means, per code (`{writer}`: who it runs as)."""


def by_hand(code: str | None) -> bool:
    """Whether a person turned the task off (as opposed to the service)."""
    return (code or "").upper() == MANUALLY


def enabling_words(code: str, writer: str) -> str:
    """One sentence for a plan that turns a service-disabled task back on: why the service
    turned it off, and what enabling it means."""
    why, _ = explain_disabled(code)
    means = ENABLING.get(code.upper(), "the task runs again, as {writer}").format(writer=writer)
    return f"turns back on a task the service disabled ({code}): {why}; enabling it means {means}"
