"""Owners end to end: the CLI in a subprocess against the emulator over HTTP. An adoption that moves
a task to another owner says so; a task that declares its owner is created and updated as that
owner through OAuth user impersonation; without impersonation plan refuses at the file's line; an
owner changed behind git's back is drift."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler import apidoc
from reconciler.cli.connect import EXAMPLE_APPS
from reconciler.emulator import Emulator, EmulatorConfig
from tests.conftest import APP_A
from tests.e2e.conftest import API_KEY, Cli, LiveTenant, Project

pytestmark = pytest.mark.e2e
CLIENT_ID = "qlik-gitops"
CLIENT_SECRET = "SECRET-e2e-oauth-7d2b-CLIENT"
OWNED = (
    "name: Owned by Ben\n"
    "owner: ben.okafor@example.com\n"
    f"reload: {{appId: {APP_A}}}\n"
    'schedule: {recurrence: "RRULE:FREQ=DAILY;BYHOUR=4;BYMINUTE=0;BYSECOND=0", timezone: UTC}\n'
)
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_-]{40,}")


def _tenant(*allowed: str) -> Iterator[LiveTenant]:
    config = EmulatorConfig(
        api_key=API_KEY,
        oauth_clients={CLIENT_ID: CLIENT_SECRET},
        impersonation_clients=frozenset(allowed),
    )
    emulator = Emulator(config, seed={"apps": list(EXAMPLE_APPS)})
    with emulator.serve(host="127.0.0.1", port=0) as server:
        yield LiveTenant(emulator, server.url)
    assert not emulator.server_errors(), emulator.server_errors()


@pytest.fixture
def oauth_tenant() -> Iterator[LiveTenant]:
    yield from _tenant(CLIENT_ID)


@pytest.fixture
def no_grant_tenant() -> Iterator[LiveTenant]:
    yield from _tenant()


class OAuthCli(Cli):
    """The CLI with an OAuth client's id and secret instead of the API key; every output is also
    scanned for the client secret and for every access token the tenant issued."""

    def env(self, **extra: str) -> dict[str, str]:
        return super().env(
            QLIK_API_KEY="", QLIK_CLIENT_ID=CLIENT_ID, QLIK_CLIENT_SECRET=CLIENT_SECRET, **extra
        )

    def __call__(self, *args: str, **kwargs: Any) -> Any:
        result = super().__call__(*args, **kwargs)
        text = result.stdout + result.stderr
        assert CLIENT_SECRET not in text
        issued = set(self.tenant.emulator._core.tokens)
        for word in TOKEN_LIKE.findall(text):
            assert hashlib.sha256(word.encode()).hexdigest() not in issued, "a token was printed"
        return result


def _user(tenant: LiveTenant, name: str) -> dict[str, Any]:
    return next(u for u in tenant.emulator.users() if u["name"] == name)


def _task(tenant: LiveTenant, name: str) -> dict[str, Any]:
    (task,) = [t for t in tenant.emulator.tasks() if t["name"] == name]
    return task


def _hand_made(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "enabled": True,
        "specVersion": "0.8",
        "start": {
            "stateName": "reload",
            "schedule": {
                "recurrence": "RRULE:FREQ=DAILY;BYHOUR=6;BYMINUTE=0;BYSECOND=0",
                "timezone": "Europe/Zurich",
                "startDateTime": "2026-01-01T06:00:00",
            },
        },
        "states": [apidoc.reload_state(APP_A)],
    }


def test_an_adoption_that_moves_ownership_names_both_owners(cli: Cli, tenant: LiveTenant) -> None:
    tenant.emulator.put_task_raw(_hand_made("Sales ETL"))  # Anna Berg made it in the hub
    me = cli("plan", "--format", "json", "--adopt")
    assert me.returncode == 0, me.stderr
    plan = json.loads(me.stdout)
    (adopted,) = [c for c in plan["changes"] if c["name"] == "Sales ETL"]
    anna = _user(tenant, "Anna Berg")
    assert adopted["owner_before"] == {"id": anna["id"], "name": "Anna Berg"}
    caller = adopted["owner_after"]
    assert caller["id"] != anna["id"]
    assert plan["requests"]["get_user"] == 1  # Anna, once, however many tasks she owns

    text = cli("plan", "--adopt").stdout
    assert f"owner: Anna Berg → {caller['name']} (reloads will run as {caller['name']})" in text
    markdown = cli("plan", "--adopt", "--format", "markdown").stdout
    assert "1 ownership move" in markdown.splitlines()[0] + markdown

    applied = cli("apply", "--auto-approve", "--adopt")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert f"owner: Anna Berg → {caller['name']}" in applied.stdout
    meta = _task(tenant, "Sales ETL")["metadata"]
    assert meta["ownerId"] == meta["scriptOwnerId"] == caller["id"]


def test_a_declared_owner_is_created_and_updated_as_that_owner(
    project: Project, oauth_tenant: LiveTenant
) -> None:
    cli = OAuthCli(project, oauth_tenant)
    project.write("tasks/owned.yaml", OWNED)
    ben = _user(oauth_tenant, "Ben Okafor")

    planned = cli("plan", "--format", "json")
    assert planned.returncode == 0, planned.stderr
    (create,) = [c for c in json.loads(planned.stdout)["changes"] if c["name"] == "Owned by Ben"]
    assert create["owner_after"] == {"id": ben["id"], "name": "Ben Okafor"}

    applied = cli("apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    meta = _task(oauth_tenant, "Owned by Ben")["metadata"]
    assert meta["ownerId"] == meta["scriptOwnerId"] == meta["createdBy"] == ben["id"]
    bot = _task(oauth_tenant, "Sales ETL")["metadata"]["ownerId"]
    assert bot != ben["id"]  # tasks without an owner stay the automation's

    project.write("tasks/owned.yaml", OWNED + "description: now with a description\n")
    updated = cli("apply", "--auto-approve")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "owner: Ben Okafor (unchanged)" in updated.stdout
    assert "reloads will run as" not in updated.stdout  # no ownership move to report
    meta = _task(oauth_tenant, "Owned by Ben")["metadata"]
    assert meta["ownerId"] == meta["updatedBy"] == ben["id"]

    again = cli("plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_without_impersonation_plan_refuses_at_the_owner_line(
    project: Project, cli: Cli, no_grant_tenant: LiveTenant
) -> None:
    project.write("tasks/owned.yaml", OWNED)
    with_key = cli("plan")
    assert with_key.returncode == 1
    assert "tasks/owned.yaml:2:" in with_key.stderr
    assert "API key" in with_key.stderr
    assert cli.tenant.emulator.tasks() == []

    oauth = OAuthCli(project, no_grant_tenant)
    refused = oauth("apply", "--auto-approve")
    assert refused.returncode == 1
    assert "tasks/owned.yaml:2:" in refused.stderr
    assert "urn:qlik:oauth:user-impersonation" in refused.stderr
    assert no_grant_tenant.emulator.tasks() == []

    project.write("tasks/owned.yaml", OWNED.replace("ben.okafor", "carla.diaz"))
    disabled = oauth("plan")
    assert disabled.returncode == 1
    assert "disabled" in disabled.stderr


def test_drift_reports_an_owner_changed_behind_gits_back(
    project: Project, oauth_tenant: LiveTenant
) -> None:
    cli = OAuthCli(project, oauth_tenant)
    project.write("tasks/owned.yaml", OWNED)
    assert cli("apply", "--auto-approve").returncode == 0
    assert cli("drift", "--detailed-exitcode").returncode == 0

    anna = _user(oauth_tenant, "Anna Berg")
    oauth_tenant.emulator.change_owner(_task(oauth_tenant, "Owned by Ben")["id"], anna["id"])
    drift = cli("drift", "--format", "json", "--detailed-exitcode")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    report = json.loads(drift.stdout)
    (entry,) = [t for t in report["tasks"] if t["name"] == "Owned by Ben"]
    (modified,) = [f for f in entry["findings"] if f["category"] == "modified"]
    assert "Anna Berg" in modified["message"]
    assert modified["changed_by"] == {"id": anna["id"], "name": "Anna Berg"}
    text = cli("drift").stdout
    assert "Anna Berg" in text
    assert "Ben Okafor" in text

    assert cli("apply", "--auto-approve").returncode == 0
    assert (
        _task(oauth_tenant, "Owned by Ben")["metadata"]["ownerId"]
        == _user(oauth_tenant, "Ben Okafor")["id"]
    )
    assert cli("drift", "--detailed-exitcode").returncode == 0


def test_a_saved_plan_writes_as_the_owner_it_names(
    project: Project, oauth_tenant: LiveTenant
) -> None:
    cli = OAuthCli(project, oauth_tenant)
    project.write("tasks/owned.yaml", OWNED)
    planned = cli("plan", "--out", "plan.json")
    assert planned.returncode == 0, planned.stderr
    text = (project.root / "plan.json").read_text()
    assert CLIENT_SECRET not in text
    issued = set(oauth_tenant.emulator._core.tokens)
    assert not [
        w for w in TOKEN_LIKE.findall(text) if hashlib.sha256(w.encode()).hexdigest() in issued
    ]
    saved = json.loads(text)
    (create,) = [c for c in saved["changes"] if c["name"] == "Owned by Ben"]
    assert create["act_as"] == "subject:auth0|ben-okafor"  # a user lookup, never a token
    applied = cli("apply", "plan.json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "written as Ben Okafor" in applied.stdout
    ben = _user(oauth_tenant, "Ben Okafor")
    assert _task(oauth_tenant, "Owned by Ben")["metadata"]["ownerId"] == ben["id"]
