"""The local tenant: a faithful emulator of the Qlik Cloud scheduling-tasks API (plus legacy
reload-tasks, reloads, apps and OAuth), in-process or over HTTP.

    emu = Emulator(EmulatorConfig(api_key=...), state_file=path, seed={...})
    httpx.AsyncClient(base_url="https://tenant.local", transport=emu.transport())
    with emu.serve() as server: ...  # server.url
    Emulator(EmulatorConfig(quirks=("date-z", "rrule-part-order")))  # a tenant's own spellings
"""

from __future__ import annotations

from reconciler.emulator import quirks
from reconciler.emulator.config import EmulatorConfig, ManualClock
from reconciler.emulator.faults import Fault, FaultRule
from reconciler.emulator.hostile import Hostile, Shape
from reconciler.emulator.replies import Reply, json_reply
from reconciler.emulator.tenant import Emulator, LoggedRequest

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "Fault",
    "FaultRule",
    "Hostile",
    "LoggedRequest",
    "ManualClock",
    "Reply",
    "Shape",
    "json_reply",
    "quirks",
]
