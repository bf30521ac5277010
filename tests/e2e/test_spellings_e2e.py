"""Compare by meaning, end to end: against a tenant that stores every task in its own spelling
(one quirk at a time, then all of them), `apply` once and `plan --detailed-exitcode` exits 0; an
out-of-band edit of a field git states is still a change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.cli.connect import EXAMPLE_APPS
from reconciler.emulator import Emulator, EmulatorConfig, quirks
from tests.e2e.conftest import API_KEY, Cli, LiveTenant, Project

pytestmark = pytest.mark.e2e

SPELLINGS = tuple(q.name for q in quirks.QUIRKS if q.spelling)


@pytest.fixture
def spelled(request: pytest.FixtureRequest) -> Iterator[LiveTenant]:
    config = EmulatorConfig(api_key=API_KEY, quirks=request.param)
    emulator = Emulator(config, seed={"apps": list(EXAMPLE_APPS)})
    with emulator.serve(host="127.0.0.1", port=0) as server:
        yield LiveTenant(emulator, server.url)
    assert not emulator.server_errors(), emulator.server_errors()


def _apply_then_plan(cli: Cli) -> int:
    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return cli("plan", "--detailed-exitcode").returncode


@pytest.mark.parametrize(
    "spelled",
    [(name,) for name in SPELLINGS] + [SPELLINGS],
    ids=lambda names: "all-spellings" if names == SPELLINGS else names[0],
    indirect=True,
)
def test_after_apply_the_plan_is_empty_whatever_the_tenant_spells(
    project: Project, spelled: LiveTenant
) -> None:
    cli = Cli(project, spelled)
    assert _apply_then_plan(cli) == 0, cli("plan").stdout


def _stated_change(doc: dict[str, Any]) -> None:
    doc["description"] = "edited in the hub"


@pytest.mark.parametrize("spelled", [SPELLINGS], ids=["all-spellings"], indirect=True)
def test_an_out_of_band_edit_of_a_stated_field_is_still_a_change(
    project: Project, spelled: LiveTenant
) -> None:
    cli = Cli(project, spelled)
    assert _apply_then_plan(cli) == 0
    task = next(t for t in spelled.emulator.tasks() if t["name"] == "Sales ETL")
    spelled.emulator.edit_task(task["id"], _stated_change)
    plan = cli("plan", "--detailed-exitcode")
    assert plan.returncode == 2
    assert "1 to update" in plan.stdout
