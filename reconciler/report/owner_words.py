"""Owners in the plan's reports: who a task belongs to before and after apply, every ownership
move said plainly, and the notes an action carries (renames in the hub, service-disabled tasks
turned back on). Value in, words out; the text and markdown plans share them.
"""

from __future__ import annotations

from reconciler.owners import move_words, moves
from reconciler.plan import Action, Plan


def owner_lines(action: Action) -> list[str]:
    """`owner: Anna Berg → qlik-gitops (reloads will run as qlik-gitops)` for a move; otherwise
    whose the task is (or will be), then the action's notes."""
    lines: list[str] = []
    move = move_words(action)
    before, after = action.owner_before, action.owner_after
    if move is not None:
        lines.append(move)
    elif action.creates and after:
        lines.append(f"owner after apply: {after.get('name')}")
    elif before:
        lines.append(f"owner: {before.get('name')}" + (" (unchanged)" if after else ""))
    return lines + list(action.notes)


def moves_words(plan: Plan) -> str:
    """` 2 ownership moves.` for the markdown summary, or "" when no task changes owner."""
    count = moves(plan)
    if not count:
        return ""
    return f" {count} ownership move{'' if count == 1 else 's'}: reloads will run as another user."
