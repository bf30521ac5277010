"""One policy for the legacy reload-tasks listing, whichever command reads the live state: a tenant
that refuses it (403) fails the command in one line and writes nothing, since preflight would
undercount an app's tasks and drift would report no legacy task where there may be some."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Cli

pytestmark = pytest.mark.e2e

LEGACY = "/api/v1/reload-tasks"


@pytest.mark.parametrize(
    "args",
    [
        ["plan"],
        ["drift"],
        ["schedule", "--days", "1"],
        ["migrate", "--out", "tasks/migrated"],
    ],
    ids=lambda args: args[0],
)
def test_a_refused_legacy_listing_fails_every_command_in_one_line(
    cli: Cli, args: list[str]
) -> None:
    cli.tenant.emulator.add_fault_rule(
        lambda method, path, query: method == "GET" and path == LEGACY, status=403
    )
    result = cli(*args)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert LEGACY in errors[0] and "403" in errors[0]
    assert not (cli.project.root / "tasks" / "migrated").exists()
    assert cli.tenant.emulator.tasks() == []


def test_a_tenant_without_the_legacy_endpoint_is_no_error(cli: Cli) -> None:
    cli.tenant.emulator.add_fault_rule(
        lambda method, path, query: method == "GET" and path == LEGACY, status=404
    )
    assert cli("drift").returncode == 0
    result = cli("migrate", "--out", "tasks/migrated")
    assert result.returncode == 0, result.stderr
    assert "Nothing to migrate" in result.stdout
