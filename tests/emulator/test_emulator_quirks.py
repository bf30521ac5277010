"""The quirk switches: each quirk stores a task in its own spelling; selection by name, `all`,
families, and a clear error for unknown names, in-process and from `reconciler emulator serve`."""

from __future__ import annotations

import contextlib
import copy
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from emulator_docs import BASE, START, TASKS, TOKEN, chained_body, create, scheduled_body, task_body
from typer.testing import CliRunner

from reconciler.cli.commands import app as cli_app
from reconciler.emulator import Emulator, EmulatorConfig, ManualClock, quirks
from reconciler.emulator.quirks import Quirk, UnknownQuirk

Doc = dict[str, Any]

SCHEDULE = {
    "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6",
    "timezone": "Europe/Zurich",
    "startDateTime": "2030-01-01T06:00:00",
    "endDateTime": "2031-01-01T06:00:00",
}


def _scheduled() -> Doc:
    return scheduled_body("Scheduled", **SCHEDULE)


def _cron() -> Doc:
    body = scheduled_body("Cron", cron="0 6 * * 1-5")
    del body["start"]["schedule"]["recurrence"]
    return body


def _chain() -> Doc:
    return chained_body("Chained", ["11111111-1111-4111-8111-111111111111"])


def _annotated() -> Doc:
    return {**_scheduled(), "annotations": ["managed-by:qlik-task-reconciler"]}


def _schedule(doc: Doc) -> Doc:
    schedule: Doc = doc["start"]["schedule"]
    return schedule


# quirk, the body sent, what the stored document shows
CASES: list[tuple[str, Callable[[], Doc], Callable[[Doc], Any], Any]] = [
    ("date-z", _scheduled, lambda d: _schedule(d)["startDateTime"], "2030-01-01T06:00:00Z"),
    ("date-z", _scheduled, lambda d: _schedule(d)["endDateTime"], "2031-01-01T06:00:00Z"),
    ("date-millis", _scheduled, lambda d: _schedule(d)["startDateTime"], "2030-01-01T06:00:00.000Z"),
    ("date-offset", _scheduled, lambda d: _schedule(d)["startDateTime"], "2030-01-01T06:00:00+00:00"),
    ("rrule-no-prefix", _scheduled, lambda d: _schedule(d)["recurrence"], "FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6"),
    ("rrule-part-order", _scheduled, lambda d: _schedule(d)["recurrence"], "RRULE:BYDAY=MO,TU;BYHOUR=6;FREQ=WEEKLY"),
    ("rrule-lower", _scheduled, lambda d: _schedule(d)["recurrence"], "rrule:freq=weekly;byday=mo,tu;byhour=6"),
    ("rrule-defaults", _scheduled, lambda d: _schedule(d)["recurrence"], "RRULE:FREQ=WEEKLY;BYDAY=MO,TU;BYHOUR=6;INTERVAL=1;WKST=MO"),
    ("rrule-list-order", _scheduled, lambda d: _schedule(d)["recurrence"], "RRULE:FREQ=WEEKLY;BYDAY=TU,MO;BYHOUR=6"),
    ("cron-object", _cron, lambda d: _schedule(d)["cron"], {"expression": "0 6 * * 1-5"}),
    ("exclusive-false", _scheduled, lambda d: d["states"][0]["exclusive"], False),
    ("data-only-false", _chain, lambda d: d["events"][0]["dataOnly"], False),
    ("action-mode", _scheduled, lambda d: d["states"][0]["onEvents"][0]["actionMode"], "SEQUENTIAL"),
    ("invoke-sync", _scheduled, lambda d: d["states"][0]["onEvents"][0]["actions"][0]["functionRef"]["invoke"], "SYNC"),
    ("timeouts-empty", _scheduled, lambda d: (d["timeouts"], d["states"][0]["timeouts"]), ({}, {})),
    ("drop-start-state-name", _scheduled, lambda d: "stateName" in d["start"], False),
    ("spec-version-1.16.0", _scheduled, lambda d: d["specVersion"], "1.16.0"),
    ("drop-annotations", _annotated, lambda d: d.get("annotations", []), []),
    ("state-type-upper", _scheduled, lambda d: d["states"][0]["type"], "EVENT"),
    ("status-upper", _chain, lambda d: d["events"][0]["correlation"][1]["contextAttributeValue"], "SUCCEEDED"),
]  # fmt: skip


def _client(emu: Emulator) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.Client(base_url=BASE, transport=emu.sync_transport(), headers=headers)


@pytest.mark.parametrize(("name", "body", "read", "expected"), CASES)
def test_each_quirk_stores_its_spelling(
    name: str, body: Callable[[], Doc], read: Callable[[Doc], Any], expected: Any
) -> None:
    emu = Emulator(EmulatorConfig(quirks=(name,)), clock=ManualClock(START))
    with _client(emu) as client:
        created = create(client, body())
        assert read(created) == expected  # the create answer shows what was stored
        assert read(client.get(f"{TASKS}/{created['id']}").json()) == expected
        # A PATCH is stored in the same spelling.
        op = [{"op": "add", "path": "/description", "value": "patched"}]
        assert read(client.patch(f"{TASKS}/{created['id']}", json=op).json()) == expected
    plain = Emulator(EmulatorConfig(), clock=ManualClock(START))
    with _client(plain) as client:
        stored = create(client, body())
    with contextlib.suppress(KeyError):  # without the quirk the field may not be there at all
        assert read(stored) != expected  # without the quirk: as sent


def test_a_filled_in_field_does_not_overwrite_what_was_sent() -> None:
    emu = Emulator(EmulatorConfig(quirks=("exclusive-false",)), clock=ManualClock(START))
    with _client(emu) as client:
        assert create(client, _chain())["states"][0]["exclusive"] is True


def test_every_spelling_quirk_has_a_case() -> None:
    assert {quirk.name for quirk in quirks.QUIRKS if quirk.rewrite} <= {c[0] for c in CASES}


def test_all_quirks_together_store_a_valid_task_that_can_be_patched_and_put() -> None:
    emu = Emulator(EmulatorConfig(quirks=("all",)), clock=ManualClock(START))
    with _client(emu) as client:
        for body in (_scheduled(), _cron(), _chain()):
            created = create(client, body)
            op = [{"op": "replace", "path": "/enabled", "value": True}]
            assert client.patch(f"{TASKS}/{created['id']}", json=op).status_code in (200, 204)
            put = client.put(f"{TASKS}/{created['id']}", json=created)
            assert put.status_code == 200, put.text
    assert emu.server_errors() == []


def test_no_quirk_by_default() -> None:
    emu = Emulator(EmulatorConfig(), clock=ManualClock(START))
    with _client(emu) as client:
        sent = _scheduled()
        stored = create(client, sent)
    assert stored["start"] == sent["start"]
    assert stored["specVersion"] == "0.8"


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(UnknownQuirk) as caught:
        Emulator(EmulatorConfig(quirks=("date-z", "dates-zz")))
    message = str(caught.value)
    assert "dates-zz" in message
    assert all(name in message for name in quirks.known())


def test_all_selects_every_quirk_in_registry_order_once() -> None:
    chosen = quirks.resolve(["date-z", "all", "date-z"])
    assert [a.quirk for a in chosen] == [q for q in quirks.QUIRKS if q.in_all]


_FAMILY = Quirk(
    "page-size-N",
    "a test family",
    configure=lambda config, n: setattr(config, "default_page_limit", n),
    all_n=3,
)
_CONTRARY = Quirk("never-in-all", "a quirk that contradicts another", in_all=False)


def test_families_take_their_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quirks, "QUIRKS", (*quirks.QUIRKS, _FAMILY, _CONTRARY))
    (active,) = quirks.resolve(["page-size-7"])
    assert (active.quirk, active.n, active.name) == (_FAMILY, 7, "page-size-7")
    config = EmulatorConfig(quirks=("page-size-7",))
    Emulator(config)
    assert config.default_page_limit == 7
    everything = {a.name for a in quirks.resolve(["all"])}
    assert "page-size-3" in everything
    assert "never-in-all" not in everything
    for bad in ("page-size-N", "page-size-0", "page-size-x", "page-size"):
        with pytest.raises(UnknownQuirk):
            quirks.resolve([bad])


def test_a_name_used_twice_or_a_family_without_all_n_is_a_registry_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        quirks.registry([_CONTRARY, _CONTRARY])
    with pytest.raises(ValueError, match="all_n"):
        quirks.registry([Quirk("page-x-N", "no default")])


def test_cli_refuses_an_unknown_quirk_listing_the_known_ones() -> None:
    result = CliRunner().invoke(cli_app, ["emulator", "serve", "--port", "0", "--quirk", "nope"])
    assert result.exit_code == 1
    assert "nope" in result.output
    assert "date-z" in result.output and "all" in result.output
    result = CliRunner().invoke(cli_app, ["emulator", "serve", "--port", "0", "--quirks", "a,b"])
    assert result.exit_code == 1


def test_cli_serves_the_quirks_it_is_given() -> None:
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0"]
    command += ["--quirk", "date-z", "--quirks", "rrule-no-prefix,spec-version-1.16.0"]
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        try:
            line = process.stderr.readline()
            assert "listening on" in line, line
            assert "date-z" in process.stderr.readline()
            url = line.rsplit(" ", 1)[-1].strip()
            with httpx.Client(base_url=url, headers={"Authorization": "Bearer t"}) as client:
                stored = client.post(TASKS, json=_scheduled()).json()
        finally:
            process.kill()
            process.wait()
            process.stderr.close()
    assert _schedule(stored)["startDateTime"].endswith("Z")
    assert _schedule(stored)["recurrence"].startswith("FREQ=")
    assert stored["specVersion"] == "1.16.0"


def test_task_body_is_unchanged_by_a_quirk_that_does_not_apply() -> None:
    emu = Emulator(EmulatorConfig(quirks=("cron-object", "date-z")), clock=ManualClock(START))
    with _client(emu) as client:
        sent = task_body("On demand")
        stored = create(client, sent)
    assert "start" not in stored and stored["states"] == sent["states"]


@pytest.mark.parametrize("quirk", [q for q in quirks.QUIRKS if q.rewrite], ids=lambda q: q.name)
def test_every_rewrite_is_idempotent(quirk: Quirk) -> None:
    assert quirk.rewrite is not None
    for body in (_scheduled(), _cron(), _chain()):
        once = copy.deepcopy(body)
        quirk.rewrite(once)
        twice = copy.deepcopy(once)
        quirk.rewrite(twice)
        assert twice == once
