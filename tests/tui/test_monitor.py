"""The operator monitor against a real hub: live counts, drill-down to a message's trail,
re-delivery of an expired letter (confirmed), revoking a lost client certificate, the hub
processes, and a lost connection's banner."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Input, Static

from tests.commands import free_port
from tests.functional.samples import xdis91
from tests.tui.conftest import BUP, GP, PPR, MakeTuiHub, TuiHub, screen_text, start_hub, until
from tui.caseworker_app import CaseworkerApp
from tui.cli import register, stale_after_seconds
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.monitor import MonitorScreen, alerts_text, processes_line
from tui.screens.revoke_certificate import RevokeCertificateForm
from tui.screens.trail import TrailScreen
from tui.widgets.connection_banner import ConnectionBanner
from wire.client import HubClient


async def test_drill_down_and_redeliver_an_expired_letter(make_tui_hub: MakeTuiHub) -> None:
    hub = await make_tui_hub(message_ttl=timedelta(seconds=0.5), expiry_interval=0.1)
    sent = await hub.call(
        "gp",
        "POST",
        "/v1/messages",
        data=xdis91(sender=GP, receiver=PPR),
        headers={"Content-Type": "application/xml"},
    )
    for _ in range(400):
        status = await hub.call("gp", "GET", f"/v1/messages/{sent['id']}/status")
        if status["status"] == "expired":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the letter did not expire: {status['status']}")
    app = MonitorApp(hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        assert "Udløbet 1" in screen_text(app)
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        screen.selected = PPR
        await pilot.press("x")  # the receiver's expired letters
        await until(pilot, lambda: "⏰ udløbet" in screen_text(app))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: isinstance(app.screen, TrailScreen))
        await until(pilot, lambda: sent["id"] in screen_text(app))
        trail = screen_text(app)
        assert "accepteret" in trail
        assert "udløbet" in trail
        assert "1203" not in trail  # never a CPR
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("j")
        await until(pilot, lambda: "Brevet er gensendt" in screen_text(app))
    audit = (await hub.call("operator", "GET", "/v1/operator/audit"))["entries"]
    actions = [e for e in audit if e["action"] not in {"add-organisation", "add-user"}]  # setup
    assert [(e["action"], e["target"]) for e in actions] == [("redeliver", sent["id"])]
    # the letter went back to the receiver's inbox as a resend of the original (with the
    # short TTL of this test it may already have expired again: its trail says it was put)
    again = await hub.call("operator", "GET", f"/v1/operator/messages/{actions[0]['result']}")
    assert (again["receiver"], again["resend"], again["resend_of"]) == (PPR, True, sent["id"])
    assert again["events"][0]["status"] == "accepted"


async def test_lost_connection_shows_a_banner_and_reconnects(tmp_path: Path) -> None:
    port = free_port()
    client = HubClient(f"http://127.0.0.1:{port}", "smp_unknown")
    app = CaseworkerApp(client, texts=Texts("da"), retry_seconds=0.1)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: not app.connected)
        banner = app.screen.query_one(ConnectionBanner)
        assert banner.display
        assert "Forbindelsen til hubben er afbrudt" in str(banner.render())
        assert "hub ✖" in screen_text(app)
        runner = await start_hub(tmp_path, port=port)
        try:
            await until(pilot, lambda: app.connected)
            assert not app.screen.query_one(ConnectionBanner).display
            assert "hub ●" in screen_text(app)
        finally:
            await runner.cleanup()
    await client.close()


async def test_partners_silent_longer_than_the_threshold_are_highlighted(
    tui_hub: TuiHub,
) -> None:
    await tui_hub.call("gp", "GET", "/v1/inbox")  # the GP's system polls once, then is silent
    now = [datetime.now(UTC)]  # the app's clock: turned forward below, never waited for
    app = MonitorApp(
        tui_hub.client("operator"),
        texts=Texts("da"),
        refresh_seconds=0.3,
        stale_after=4.0,
        clock=lambda: now[0],
    )

    def last_poll(gln: str) -> str:
        return str(app.screen.query_one("#orgs", DataTable).get_cell(gln, "poll"))

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Lægehu… Vestbyen" in screen_text(app))
        assert "⚠ = systemet har ikke hentet i over 4 s" in screen_text(app)
        assert last_poll(BUP) == "aldrig"
        assert "⚠" not in last_poll(GP)
        # the answering hub process's uptime (a refresh a busy machine answers late shows the
        # connection lost for a moment instead: the next one shows it again)
        await until(pilot, lambda: "oppe " in screen_text(app))
        now[0] += timedelta(seconds=5)
        await until(pilot, lambda: last_poll(GP).startswith("⚠ "))


async def test_an_organisation_whose_people_take_its_letters_in_is_shown_so(
    tui_hub: TuiHub,
) -> None:
    """PPR's caseworkers take its letters in (its system does not poll): the monitor says
    "i appen" where the last poll would be, with no ⚠, and names it over PPR's queue."""
    app = MonitorApp(
        tui_hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3, stale_after=4.0
    )

    def last_poll(gln: str) -> str:
        return str(app.screen.query_one("#orgs", DataTable).get_cell(gln, "poll"))

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Lægehu… Vestbyen" in screen_text(app))  # the table
        assert last_poll(PPR) == "i appen"
        assert last_poll(BUP) == "aldrig"  # its system takes its letters in and never polled
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        screen.selected = PPR
        screen.reload()
        await until(pilot, lambda: "brevene tages ind af personerne i appen" in screen_text(app))

        # an operator gives PPR's letters back to its system: the poll column says so
        await tui_hub.call(
            "operator",
            "POST",
            f"/v1/operator/organisations/{PPR}/letters-consumed-by",
            json={"letters_consumed_by": "system"},
        )
        await until(pilot, lambda: last_poll(PPR) == "aldrig")


def monitor_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    return parser.parse_args(["monitor", *argv])


def test_stale_after_from_the_command_line_or_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SAMSPIL_STALE_AFTER", raising=False)
    assert stale_after_seconds(monitor_args()) == 15 * 60
    monkeypatch.setenv("SAMSPIL_STALE_AFTER", "30")
    assert stale_after_seconds(monitor_args()) == 30 * 60
    assert stale_after_seconds(monitor_args("--stale-after", "2,5")) == 150  # the flag wins
    monkeypatch.setenv("SAMSPIL_STALE_AFTER", "soon")
    assert stale_after_seconds(monitor_args()) is None
    assert "SAMSPIL_STALE_AFTER: not a number of minutes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        monitor_args("--stale-after", "0")
    assert "minutes must be above 0" in capsys.readouterr().err


async def test_the_hub_processes_are_shown_with_host_and_pid(tui_hub: TuiHub) -> None:
    app = MonitorApp(tui_hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Hubprocesser:" in screen_text(app))
        line = str(app.screen.query_one("#procs", Static).render())
        assert line == f"Hubprocesser: 1  {socket.gethostname()}/{os.getpid()}"


def test_a_process_that_stopped_heartbeating_is_warned_of_before_the_list() -> None:
    summary = {
        "processes": [{"host": "samspil-1", "pid": 4711}, {"host": "samspil-2", "pid": 5222}],
        "stale_processes": 1,
    }
    line = processes_line(Texts("en"), summary)
    assert line.plain == (
        "Hub processes: 2  ⚠ 1 stopped heartbeating  samspil-1/4711  samspil-2/5222"
    )
    assert processes_line(Texts("en"), {"by_status": {}}).plain == ""  # a hub without them


async def press_on(app: MonitorApp, pilot: Any, gln: str, key: str, opens: type) -> None:
    """Select organisation ``gln`` and press ``key``, until the screen it opens is shown."""
    screen = app.screen
    assert isinstance(screen, MonitorScreen)
    screen.selected = gln
    await pilot.press(key)
    await until(pilot, lambda: isinstance(app.screen, opens))


async def test_an_operator_revokes_a_lost_certificate_of_an_organisation(tui_hub: TuiHub) -> None:
    app = MonitorApp(tui_hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        await press_on(app, pilot, GP, "c", RevokeCertificateForm)
        assert "Spær et klientcertifikat fra Lægehuset Vestbyen" in screen_text(app)
        await pilot.press(*"0xZZ", "enter", "enter")  # not hexadecimal: said in Danish
        await until(pilot, lambda: "✖ Serienummeret er ugyldigt." in screen_text(app))
        assert "hexadecimal" not in screen_text(app)
        assert isinstance(app.screen, RevokeCertificateForm)
        form = app.screen
        form.query_one("#serial", Input).value = "0x0A:BC:12"
        form.query_one("#reason", Input).focus()
        await pilot.press(*"bærbar stjålet", "enter")
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        done = "Certifikat abc12 fra Lægehuset Vestbyen er spærret."
        await until(pilot, lambda: done in screen_text(app))
    revoked = await tui_hub.call(
        "operator", "GET", f"/v1/operator/organisations/{GP}/revoked-certificates"
    )
    [certificate] = revoked["certificates"]
    assert (certificate["serial"], certificate["reason"]) == ("abc12", "bærbar stjålet")
    assert certificate["revoked_by"] == "Ole Operatør"


async def test_an_organisation_far_above_its_usual_day_is_flagged(
    make_tui_hub: MakeTuiHub,
) -> None:
    hub = await make_tui_hub(rate_alert_minimum=3)
    for n in range(3):  # three children PPR had no case for, today; none before
        await hub.call(
            "ppr",
            "PUT",
            f"/v1/cases/new-{n}",
            json={
                "child_cpr": f"0{n + 1}0317{4400 + n}",
                "kind": "ppr-assessment",
                "status": "active",
                "opened_on": "2026-12-01",
                "contact": {"name": "Pia Psykolog", "role": "psykolog"},
            },
        )
    app = MonitorApp(hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3)

    def name(gln: str) -> str:
        return str(app.screen.query_one("#orgs", DataTable).get_row(gln)[1])

    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "nye børn i dag" in screen_text(app))
        alerts = str(app.screen.query_one("#alerts", Static).render())
        # the seeded case counts too: PPR registered four children today, none before
        assert alerts == "⚑ PPR Aalborg: 4 nye børn i dag (normalt 0) — d spærrer nøglen"
        assert name(PPR) == "⚑ PPR Aalborg"
        assert name(BUP) == "Børne- og Ungdomspsyk."  # one new child: under the minimum


def test_the_flag_says_what_is_far_above_the_usual_day() -> None:
    summary = {
        "index_rates": [
            {"organisation": PPR, "name": "PPR Aalborg", "kind": "attested-consents",
             "today": 12, "usual": 0.5, "flagged": True},
            {"organisation": BUP, "name": "BUP", "kind": "new-children",
             "today": 2, "usual": 1.5, "flagged": False},
        ]
    }  # fmt: skip
    assert alerts_text(Texts("en"), summary).plain == (
        "⚑ PPR Aalborg: 12 attested consents today (usually 0.5) — d disables its token"
    )
    assert alerts_text(Texts("en"), {"by_status": {}}).plain == ""  # a hub without rates


async def test_each_organisations_letter_format_is_shown_and_f_switches_it(
    tui_hub: TuiHub,
) -> None:
    """The format column says XML (OIOXML) or FHIR; f switches the selected organisation's
    format after a confirmation (no: nothing changes), and the hub audits it."""
    app = MonitorApp(tui_hub.client("operator"), texts=Texts("da"), refresh_seconds=0.3)

    def fmt(gln: str) -> str:
        return str(app.screen.query_one("#orgs", DataTable).get_cell(gln, "format"))

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "Lægehu… Vestbyen" in screen_text(app))
        orgs = app.screen.query_one("#orgs", DataTable)
        assert [str(c.label) for c in orgs.ordered_columns][2:5] == ["Sektor", "Fmt", "Indbakke"]
        assert [fmt(gln) for gln in (GP, PPR, BUP)] == ["XML", "XML", "XML"]
        await press_on(app, pilot, GP, "f", ConfirmScreen)
        assert "Skift Lægehuset Vestbyens brevformat fra OIOXML til FHIR?" in screen_text(app)
        await pilot.press("n")  # no: nothing changes
        await until(pilot, lambda: isinstance(app.screen, MonitorScreen))
        await press_on(app, pilot, GP, "f", ConfirmScreen)
        await pilot.press("j")
        await until(pilot, lambda: "Brevformatet er nu FHIR." in screen_text(app))
        await until(pilot, lambda: fmt(GP) == "FHIR")
        assert [fmt(gln) for gln in (PPR, BUP)] == ["XML", "XML"]
    listing = await tui_hub.call("operator", "GET", "/v1/operator/organisations")
    formats = {o["gln"]: o["format"] for o in listing["organisations"]}
    assert formats == {GP: "fhir", PPR: "oioxml", BUP: "oioxml"}
    audit = (await tui_hub.call("operator", "GET", "/v1/operator/audit"))["entries"]
    assert [e["target"] for e in audit if e["action"] == "set-format"] == [GP]  # once: "no"
