"""A letter that expired while the caseworker had the inbox open, or that the letter
retention removed: opening it says so in words, and the app carries on (the hub answers 410
expired or letter-removed; the body is not shown)."""

from __future__ import annotations

from datetime import timedelta

from coordinator.mailbox.retention import run_letter_retention
from coordinator.state import COMMITTER, SETTINGS
from tests.functional.conftest import TurnedClock
from tests.tui.conftest import MakeTuiHub, screen_text, until
from tests.tui.test_caseworker import _letter_to_ppr, app_for, gp_posts
from tui.screens.letter import LetterScreen


async def test_an_expired_letter_says_so_and_shows_nothing(make_tui_hub: MakeTuiHub) -> None:
    clock = TurnedClock()
    hub = await make_tui_hub(clock=clock, message_ttl=timedelta(days=5), expiry_interval=0.05)
    sent = await gp_posts(hub, _letter_to_ppr())
    clock.ahead = timedelta(days=6)
    waiting = await hub.call("gp", "GET", "/v1/inbox?wait=10")  # the sweep's XCTL01
    assert [m["type"] for m in waiting["messages"]] == ["XCTL01"]

    app = app_for(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await app.push_screen(LetterScreen(sent["id"], incoming=True))
        await until(pilot, lambda: "Brevet er udløbet" in screen_text(app))
        text = screen_text(app)
        assert "Bed afsenderen sende det igen." in text
        assert "Mads har i en periode" not in text
        assert isinstance(app.screen, LetterScreen)  # the app is still there


async def test_a_removed_letter_says_so_and_shows_nothing(make_tui_hub: MakeTuiHub) -> None:
    clock = TurnedClock()
    hub = await make_tui_hub(clock=clock, letter_retention=timedelta(days=7))
    sent = await gp_posts(hub, _letter_to_ppr())
    await hub.call("pia", "GET", f"/v1/messages/{sent['id']}")  # PPR's people take it in
    await hub.call("pia", "POST", f"/v1/messages/{sent['id']}/ack")
    clock.ahead = timedelta(days=8)
    removed = await run_letter_retention(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert removed.letters == 1

    app = app_for(hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await app.push_screen(LetterScreen(sent["id"], incoming=True))
        await until(pilot, lambda: "Brevet er slettet fra Samspil" in screen_text(app))
        assert "afsenderens system har det stadig." in screen_text(app)
        assert "Mads har i en periode" not in screen_text(app)
        assert isinstance(app.screen, LetterScreen)
