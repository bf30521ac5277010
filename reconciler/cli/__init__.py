"""The command line: typer commands that wire loading, planning, the client and the reporters.

`commands` is the registry: it names every command and imports a command's module only when that
command runs, so that each command loads what it uses and nothing else.
"""

import gc
import sys


def main() -> None:
    """The `reconciler` program.

    Loading it (the command line, the command's modules and their libraries) makes a few hundred
    thousand objects that live as long as the process; the cyclic garbage collector would scan them
    again and again while they are made, a tenth of the start-up. It waits until the command runs
    (`reconciler.cli.commands.loaded`)."""
    gc.disable()
    # httpx loads its own command line when it is imported (`httpx._main`, with click, rich and
    # pygments, when they happen to be installed); this program never runs it. A module marked
    # absent makes httpx define its stand-in instead: a twelfth of a plan's start-up.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from reconciler.cli.commands import run

    run()
