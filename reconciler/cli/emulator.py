"""`reconciler emulator serve`: the local tenant over HTTP, for trying things out and for tests."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reconciler.cli.failures import command
from reconciler.emulator import EmulatorConfig, quirks
from reconciler.emulator.tenant import serve_forever
from reconciler.errors import ConfigError

emulator_app = typer.Typer(help="The local tenant: a faithful emulator of the Qlik Cloud API.")


@emulator_app.command("serve")
@command
def serve(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port; 0 picks a free one.")] = 8080,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="EMULATOR_API_KEY",
            help="Accept only this bearer token (default: any).",
        ),
    ] = None,
    state: Annotated[
        Path | None, typer.Option("--state", help="Persist the tenant in this JSON file.")
    ] = None,
    seed: Annotated[
        Path | None,
        typer.Option("--seed", help="JSON with tasks, legacyReloadTasks and apps to start with."),
    ] = None,
    latency_ms: Annotated[
        float, typer.Option("--latency-ms", min=0, help="Latency added to every answer.")
    ] = 0,
    fail_rate: Annotated[
        float, typer.Option("--fail-rate", min=0, max=1, help="Share of requests answered 503.")
    ] = 0,
    drop_rate: Annotated[
        float,
        typer.Option(
            "--drop-rate",
            min=0,
            max=1,
            help="Share of connections dropped (before or after the write).",
        ),
    ] = 0,
    rate_limit_writes: Annotated[
        int | None, typer.Option("--rate-limit-writes", min=1, help="Writes per minute before 429.")
    ] = None,
    rate_limit_reads: Annotated[
        int | None, typer.Option("--rate-limit-reads", min=1, help="Reads per minute before 429.")
    ] = None,
    random_seed: Annotated[
        int | None, typer.Option("--random-seed", help="Make fault injection repeatable.")
    ] = None,
    quirk: Annotated[
        list[str] | None,
        typer.Option(
            "--quirk",
            metavar="NAME",
            help="Store or answer the way some real tenants do (repeatable): "
            + ", ".join(quirks.known()[:-1])
            + " (a name ending in -N takes a number, e.g. page-limit-50); see the README.",
        ),
    ] = None,
    quirks_: Annotated[
        str | None,
        typer.Option(
            "--quirks",
            metavar="all|NAME,NAME",
            help="Several quirks at once: 'all', or a comma-separated list of names.",
        ),
    ] = None,
    allow_impersonation: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-impersonation",
            help="Allow this OAuth client id the user impersonation grant (repeatable; * for "
            "every client). Off by default, as in a real tenant.",
        ),
    ] = None,
    open_apps: Annotated[
        bool,
        typer.Option(
            "--open-apps",
            help="Every app id is an app the caller may reload (default: only the seeded apps).",
        ),
    ] = False,
) -> None:
    """Serve the local tenant over HTTP until interrupted.

    Example: `reconciler emulator serve --port 8080 --open-apps --fail-rate 0.1`, then
    `QLIK_TENANT_URL=http://127.0.0.1:8080 QLIK_API_KEY=any reconciler plan` (without
    `--open-apps` or a `--seed` naming the apps, plan finds none of the task files' apps).
    `--quirk date-z --quirk rrule-part-order` or `--quirks all` play a tenant that stores tasks
    in its own spelling.
    """
    if seed is not None and not seed.exists():
        raise ConfigError(f"seed file {seed} does not exist")
    names = [*(quirk or []), *(n for n in (quirks_ or "").split(",") if n.strip())]
    try:
        quirks.resolve(names)
    except quirks.UnknownQuirk as exc:
        raise ConfigError(str(exc)) from None
    config = EmulatorConfig(
        api_key=api_key,
        latency_ms=latency_ms,
        fail_rate=fail_rate,
        drop_rate=drop_rate,
        rate_limit_writes=rate_limit_writes,
        rate_limit_reads=rate_limit_reads,
        random_seed=random_seed,
        quirks=tuple(name.strip() for name in names),
        impersonation_clients=frozenset(allow_impersonation or ()),
        open_apps=open_apps,
    )
    try:
        serve_forever(
            config,
            host,
            port,
            state_file=state,
            seed=seed,
            on_ready=lambda server: _announce(server.url, names),
        )
    except ValueError as exc:
        raise ConfigError(f"cannot start the local tenant: {exc}") from None


def _announce(url: str, names: list[str]) -> None:
    typer.echo(f"local tenant listening on {url}", err=True)
    if names:
        active = ", ".join(item.name for item in quirks.resolve(names))
        typer.echo(f"quirks: {active}", err=True)
