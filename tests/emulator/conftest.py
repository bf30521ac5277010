"""Fixtures for the local tenant's tests: a manual clock, an emulator, clients over its transport."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import Emulator, EmulatorConfig, ManualClock

# The tests import their shared documents as `emulator_docs`, whether or not tests/ is a package.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_docs import BASE, OTHER_TOKEN, START, TOKEN


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def config() -> EmulatorConfig:
    return EmulatorConfig(random_seed=7)


@pytest.fixture
def emu(config: EmulatorConfig, clock: ManualClock) -> Iterator[Emulator]:
    emulator = Emulator(config, clock=clock)
    yield emulator
    assert emulator.server_errors() == []  # no request hit a bug in the emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers) as c:
        yield c


@pytest.fixture
def other(emu: Emulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {OTHER_TOKEN}"}
    with httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers) as c:
        yield c
