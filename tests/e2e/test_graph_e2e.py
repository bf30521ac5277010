"""graph over HTTP: with a tenant configured, each task's app is named beside its id (one read
per app); with --offline, or with no tenant, the ids alone and no request."""

from __future__ import annotations

from collections import Counter

import pytest

from reconciler.cli.connect import EXAMPLE_APPS
from tests.e2e.conftest import Cli, LiveTenant

pytestmark = pytest.mark.e2e
SALES_APP = "116dbfae-7fb9-4983-8e23-5ccd8c508722"
APPS_PATH = "/api/v1/apps/"


def _app_reads(tenant: LiveTenant, since: int) -> Counter[str]:
    return Counter(
        r.path.removeprefix(APPS_PATH)
        for r in tenant.emulator.request_log[since:]
        if r.path.startswith(APPS_PATH)
    )


def test_graph_names_each_app_read_once_from_the_tenant(cli: Cli, tenant: LiveTenant) -> None:
    before = len(tenant.emulator.request_log)
    mermaid = cli("graph")
    assert mermaid.returncode == 0, mermaid.stderr
    sales_etl = [ln for ln in mermaid.stdout.splitlines() if '["Sales ETL<br/>' in ln]
    assert sales_etl and f"app #quot;Sales#quot; ({SALES_APP})" in sales_etl[0], mermaid.stdout
    reads = _app_reads(tenant, before)
    assert reads and set(reads.values()) == {1}, reads  # each app once, however many tasks
    assert set(reads) <= {a["id"] for a in EXAMPLE_APPS}

    dot = cli("graph", "--format", "dot")
    assert dot.returncode == 0, dot.stderr
    assert f'app \\"Sales\\" ({SALES_APP})' in dot.stdout, dot.stdout


def test_graph_offline_keeps_ids_and_reads_nothing(cli: Cli, tenant: LiveTenant) -> None:
    before = len(tenant.emulator.request_log)
    for args in (("graph", "--offline"), ("graph", "--format", "dot", "--offline")):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
        assert f"app {SALES_APP}" in result.stdout, result.stdout
        assert "Sales#quot;" not in result.stdout and '\\"Sales\\"' not in result.stdout
    no_tenant = cli("graph", QLIK_TENANT_URL="", QLIK_API_KEY="")
    assert no_tenant.returncode == 0, no_tenant.stderr
    assert f"app {SALES_APP}" in no_tenant.stdout
    assert tenant.emulator.request_log[before:] == []
