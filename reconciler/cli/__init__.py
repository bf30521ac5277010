"""The command line: typer commands that wire loading, planning, the client and the reporters.

`commands` is the registry: it names every command and imports a command's module only when that
command runs, so that each command loads what it uses and nothing else.
"""

import gc


def main() -> None:
    """The `reconciler` program.

    Loading it (the command line, the command's modules and their libraries) makes a few hundred
    thousand objects that live as long as the process; the cyclic garbage collector would scan them
    again and again while they are made, a tenth of the start-up. It waits until the command runs
    (`reconciler.cli.commands.loaded`)."""
    gc.disable()
    from reconciler.cli.commands import run

    run()
