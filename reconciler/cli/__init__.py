"""The command line: typer commands that wire loading, planning, the client and the reporters.

Each module registers its commands on the one app of `base`; importing this package registers all.
"""

from reconciler.cli import doctor, drift, emulator, files, migrate, tenant, timeline
from reconciler.cli.base import app, main

__all__ = [
    "app",
    "doctor",
    "drift",
    "emulator",
    "files",
    "main",
    "migrate",
    "tenant",
    "timeline",
]
