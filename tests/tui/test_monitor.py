"""The operator monitor against a real hub: live counts, drill-down to a message's trail,
re-delivery of an expired letter (confirmed), and a lost connection's banner."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from pathlib import Path

from tests.functional.samples import xdis91
from tests.tui.conftest import GP, PPR, MakeTuiHub, screen_text, start_hub, until
from tui.caseworker_app import CaseworkerApp
from tui.client import HubClient
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.trail import TrailScreen
from tui.widgets.connection_banner import ConnectionBanner


async def test_drill_down_and_redeliver_an_expired_letter(make_tui_hub: MakeTuiHub) -> None:
    hub = await make_tui_hub(message_ttl=timedelta(seconds=0.5), expiry_interval=0.1)
    sent = await hub.call(
        "gp",
        "POST",
        "/v1/messages",
        data=xdis91(sender=GP, receiver=PPR),
        headers={"Content-Type": "application/xml"},
    )
    for _ in range(100):
        status = await hub.call("gp", "GET", f"/v1/messages/{sent['id']}/status")
        if status["status"] == "expired":
            break
        await asyncio.sleep(0.05)
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
    waiting = (await hub.call("ppr", "GET", "/v1/inbox"))["messages"]
    assert len(waiting) == 1
    audit = (await hub.call("operator", "GET", "/v1/operator/audit"))["entries"]
    assert [(e["action"], e["target"]) for e in audit] == [("redeliver", sent["id"])]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
