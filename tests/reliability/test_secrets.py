"""Secrets never leak: every command, on success and on every failure path, with a recognisable API
key and, separately, a recognisable OAuth client secret; every output, log, saved plan, report,
written task file and crash file is scanned for them and for the access tokens the tenant issued.

The matrix runs the CLI in-process (typer's runner) against the emulator over real HTTP, with
retries made quick so that timeouts and 503s fail in milliseconds; a subset runs the CLI as a
subprocess, exactly as a user does. Also: plain http is refused for a non-loopback host, and
certificate checks are never turned off.
"""

from __future__ import annotations

import http.server
import logging
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from reconciler import apidoc
from reconciler.cli.commands import app
from reconciler.emulator import Reply, json_reply
from reconciler.qlik import client as client_module
from reconciler.qlik.retry import RetryPolicy
from tests.conftest import EXAMPLES, REPO
from tests.reliability.conftest import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    Served,
    cli_env,
    run_cli,
)

pytestmark = pytest.mark.e2e

WRONG_KEY = "SECRET-reliability-WRONG-5a1f-APIKEY"
WRONG_CLIENT_SECRET = "SECRET-reliability-WRONG-77c3-CLIENTSECRET"
LEGACY = {
    "id": "64e5f6a7b8c9d0e1f2a3b4c5",
    "appId": "9c8b7a65-4321-4fed-8cba-987654321000",
    "timeZone": "Europe/Zurich",
    "recurrence": ["RRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0"],
    "startDateTime": "2026-01-01T08:00:00",
    "state": "Enabled",
}
HAND_MADE = {
    "name": "Made in the hub",
    "enabled": True,
    "specVersion": "0.8",
    "states": [apidoc.reload_state("0b7f3c2e-1d4a-4e5f-8a9b-0c1d2e3f4a5b")],
}
CREDENTIALS = {
    "api-key": ({"QLIK_API_KEY": API_KEY}, {"QLIK_API_KEY": WRONG_KEY}),
    "oauth": (
        {"QLIK_API_KEY": "", "QLIK_CLIENT_ID": CLIENT_ID, "QLIK_CLIENT_SECRET": CLIENT_SECRET},
        {
            "QLIK_API_KEY": "",
            "QLIK_CLIENT_ID": CLIENT_ID,
            "QLIK_CLIENT_SECRET": WRONG_CLIENT_SECRET,
        },
    ),
}
OFFLINE = [
    ("validate",),
    ("validate", "--format", "json"),
    ("validate", "--format", "github"),
    ("render",),
    ("render", "Sales ETL", "--format", "yaml"),
    ("graph",),
    ("graph", "--format", "dot"),
    ("schedule", "--from", "2026-03-27", "--days", "3"),
]
TENANT = [
    ("apply", "--auto-approve", "--verbose"),
    ("plan", "--verbose"),  # a task file changes before this one
    ("plan", "--format", "json", "--out", "plan.json", "--verbose"),
    ("plan", "--format", "markdown", "--verbose"),
    ("apply", "plan.json", "--verbose"),
    ("drift", "--verbose", "--runs"),
    ("drift", "--format", "json", "--out", "drift.json"),
    ("drift", "--format", "markdown"),
    ("drift", "--format", "junit"),
    ("migrate", "--out", "tasks/migrated", "--force", "--verbose"),
    ("import", "--out", "imported", "--force", "--verbose"),
]
FAILURES = ["401", "403", "500", "timeout", "echo"]


@dataclass
class Scanned:
    """Everything the runs showed or wrote, to be searched for secrets at the end."""

    texts: list[str] = field(default_factory=list)
    invocations: int = 0

    def files(self, *roots: Path) -> None:
        for root in roots:
            for path in root.rglob("*"):
                if path.is_file():
                    self.texts.append(path.read_bytes().decode("utf-8", "replace"))

    def find(self, secrets: list[str]) -> list[str]:
        return [s for s in secrets if any(s in t for t in self.texts)]


class _Capture(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    crashes = tmp_path / "temp"
    crashes.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(crashes))  # where crash files go
    # Retries that cost milliseconds, so that every failure path ends quickly.
    monkeypatch.setattr(
        client_module, "RetryPolicy", lambda: RetryPolicy(max_attempts=2, base=0.01, cap=0.02)
    )
    return tmp_path


def _echoing(served: Served) -> Callable[[bool], None]:
    """A tenant that echoes what it was sent (the Authorization header, the token request body)
    into its error answers, the way a misconfigured gateway might."""
    original = served.emulator.handle
    on = [False]

    def handle(
        method: str, path: str, query: Any = "", headers: Any = None, body: bytes = b""
    ) -> Reply:
        if not on[0]:
            return original(method, path, query, headers, body)
        echoed = f"{dict(headers or {}).get('authorization')} {body.decode('utf-8', 'replace')}"
        error = {"code": "HTTP-500", "title": f"echo {echoed}", "detail": echoed}
        return json_reply(500, {"errors": [error], "traceId": echoed})

    served.emulator.handle = handle  # type: ignore[method-assign]
    return lambda value: on.__setitem__(0, value)


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_no_command_shows_a_secret_on_any_path(
    project: Path, serve: Callable[..., Served], kind: str
) -> None:
    served = serve()
    served.emulator.add_app(LEGACY["appId"], "Inventory Monitor")
    served.emulator.add_legacy(LEGACY)
    served.emulator.put_task_raw(HAND_MADE)
    echo = _echoing(served)
    good, wrong = CREDENTIALS[kind]
    base_env = {k: v for k, v in cli_env(served.url).items() if k.startswith(("QLIK_", "RECON"))}
    # Long enough that no answer of a loaded machine runs out of it; the timeout path below
    # shortens it and makes the answers far later still.
    base_env["RECONCILER_TIMEOUT"] = "2"
    scanned = Scanned()
    logs: list[str] = []
    handler = _Capture(logs)
    logger = logging.getLogger("reconciler")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    runner = CliRunner()

    def invoke(args: tuple[str, ...], credentials: dict[str, str]) -> Any:
        env = {**base_env, **credentials}
        result = runner.invoke(app, list(args), env={k: (v or None) for k, v in env.items()})
        scanned.texts += [result.stdout, result.stderr]
        scanned.invocations += 1
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            args,
            result.exception,
        )
        assert "internal error" not in result.stderr, (args, result.stderr)
        return result

    try:
        for args in OFFLINE:
            assert invoke(args, good).exit_code == 0, args
        for args in TENANT:
            if args[0] == "plan" and len(args) == 2:
                etl = project / "tasks" / "sales" / "sales-etl.yaml"
                etl.write_text(etl.read_text().replace("BYHOUR=6", "BYHOUR=5"))
            result = invoke(args, good)
            assert result.exit_code == 0, (args, result.output)
        for failure in FAILURES:
            for args in TENANT:
                credentials = good
                if failure == "401":
                    credentials = wrong
                elif failure == "403":
                    served.emulator.add_fault_rule(lambda m, p, q: p != "/oauth/token", status=403)
                elif failure == "500":
                    served.emulator.add_fault_rule(lambda m, p, q: True, status=500)
                elif failure == "timeout":
                    credentials = {**good, "RECONCILER_TIMEOUT": "0.1"}
                    served.emulator.set_faults(latency_ms=3000)
                else:
                    echo(True)
                result = invoke(args, credentials)
                served.emulator.clear_fault_rules()
                served.emulator.set_faults(latency_ms=0)
                echo(False)
                assert result.exit_code == 1, (failure, args, result.output)
                if failure == "echo":  # the tenant sent the secret back; it was scrubbed
                    assert "***" in result.stderr, result.stderr
                assert result.stderr.startswith("error: ") or "FAILED" in result.stdout, (
                    failure,
                    args,
                    result.output,
                )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)

    scanned.texts += logs
    scanned.files(project)
    secrets = [API_KEY, CLIENT_SECRET, WRONG_KEY, WRONG_CLIENT_SECRET, *served.tokens]
    assert scanned.find(secrets) == []
    assert scanned.invocations == len(OFFLINE) + len(TENANT) * (1 + len(FAILURES))
    if kind == "oauth":
        assert served.tokens  # tokens were issued, and are part of what was searched for
    assert (project / "plan.json").exists() and (project / "drift.json").exists()
    assert list((project / "tasks" / "migrated").glob("*.yaml"))
    assert list((project / "imported").glob("*.yaml"))


def test_a_crash_file_holds_no_secret(
    project: Path, serve: Callable[..., Served], monkeypatch: pytest.MonkeyPatch
) -> None:
    served = serve()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug while planning")

    monkeypatch.setattr("reconciler.cli.planning.build_plan", broken)
    env = {k: v for k, v in cli_env(served.url).items() if k.startswith(("QLIK_", "RECON"))}
    for credentials in CREDENTIALS.values():
        result = CliRunner().invoke(
            app,
            ["plan"],
            env={**env, **credentials[0]}
            | {"QLIK_API_KEY": credentials[0]["QLIK_API_KEY"] or None},
        )
        assert result.exit_code == 1
        assert "internal error: RuntimeError" in result.stderr
    crashes = list((project / "temp").glob("reconciler-crash-*.txt"))
    assert len(crashes) == 2
    for crash in crashes:
        text = crash.read_text()
        assert "a bug while planning" in text
        for secret in (API_KEY, CLIENT_SECRET, *served.tokens):
            assert secret not in text


@pytest.mark.parametrize("kind", sorted(CREDENTIALS))
def test_the_cli_as_a_process_shows_no_secret(
    tmp_path: Path, serve: Callable[..., Served], kind: str
) -> None:
    served = serve()
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    good, wrong = CREDENTIALS[kind]
    runs = [
        run_cli(tmp_path, served.url, "apply", "--auto-approve", "--verbose", env=good),
        run_cli(tmp_path, served.url, "plan", "--out", "plan.json", "--verbose", env=good),
        run_cli(tmp_path, served.url, "drift", "--verbose", env=good),
        run_cli(tmp_path, served.url, "plan", "--verbose", env=wrong),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 1], [r.output for r in runs]
    assert "HTTP 401" in runs[-1].stderr
    texts = [r.output for r in runs] + [(tmp_path / "plan.json").read_text()]
    for secret in (WRONG_KEY, WRONG_CLIENT_SECRET, *served.tokens):
        assert all(secret not in text for text in texts)
    if kind == "oauth":
        assert served.tokens


@pytest.mark.parametrize(
    "url",
    ["http://acme.eu.qlikcloud.com", "http://10.0.0.8:8080", "http://[::ffff:8.8.8.8]"],
)
def test_plain_http_is_refused_for_a_host_that_is_not_loopback(tmp_path: Path, url: str) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    run = run_cli(tmp_path, url, "plan")
    assert run.returncode == 1
    assert "must use https" in run.stderr


VERIFY_OFF = re.compile(
    r"verify\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified_context"
    r"|PYTHONHTTPSVERIFY|SSL_CERT_FILE|trust_env\s*=\s*True"
)


def test_certificate_checks_are_never_turned_off_in_the_code() -> None:
    offending = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()}"
        for path in sorted((REPO / "reconciler").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if VERIFY_OFF.search(line)
    ]
    assert offending == []


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """An https server on 127.0.0.1 whose certificate no one trusts (self-signed, made now)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_an_untrusted_certificate_is_refused_before_the_key_is_sent(
    tmp_path: Path, untrusted_https: tuple[str, list[str]]
) -> None:
    url, seen = untrusted_https
    shutil.copytree(EXAMPLES, tmp_path / "tasks")
    shutil.copy(REPO / "reconciler.yaml", tmp_path / "reconciler.yaml")
    run = run_cli(tmp_path, url, "plan")
    assert run.returncode == 1
    assert "TLS certificate check failed" in run.stderr
    assert seen == []  # no request, so no key, ever reached the server
