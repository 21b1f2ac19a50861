"""The caseworker app speaks one language a line: a CPR number's problem and a letter the
message layer refuses are said in the app's language, never in the message layer's English."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui.conftest import TuiHub, fixed_clock, fixed_hub, screen_text, until
from tests.tui.fixed_answers import monitor_routes, region_routes
from tests.tui.test_caseworker import app_for
from tests.tui.test_snapshots import SLOW, settle
from tui.base import HubApp
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.child import ChildScreen
from tui.screens.confirm import ConfirmScreen
from tui.widgets.key_bar import KeyBar


async def test_a_cpr_numbers_problem_is_said_in_danish_alone(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        app.screen.query_one("#cpr", Input).focus()
        await pilot.press(*"310216")  # no 31st of February
        await until(pilot, lambda: "Ugyldigt CPR-nummer" in screen_text(app))
        assert "✖ Ugyldigt CPR-nummer: datodelen 31.02.16 er ikke en rigtig dato" in screen_text(
            app
        )
        await pilot.press(*"-12", "enter")  # too short: its form said
        await until(pilot, lambda: "10 cifre" in screen_text(app))
        assert "✖ Ugyldigt CPR-nummer: et CPR-nummer er 10 cifre" in screen_text(app)
        assert "CPR number" not in screen_text(app)
        assert "not a real date" not in screen_text(app)


def shown_keys(app: HubApp) -> list[str]:
    """The key bar's lines as drawn at its width (each must fit whole)."""
    bar = app.screen.query_one(KeyBar)
    lines = [line.plain for line in bar.lines(bar.size.width)]
    assert bar.size.height == len(lines)
    assert all(len(line) <= bar.size.width for line in lines), lines
    return lines


@pytest.mark.parametrize("lang", ["da", "en"])
async def test_the_monitors_keys_all_fit_at_80_by_24(lang: str) -> None:
    app = MonitorApp(
        fixed_hub(monitor_routes()), texts=Texts(lang), clock=fixed_clock, refresh_seconds=SLOW
    )
    t = Texts(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = " ".join(shown_keys(app))
        for key, what in (("q", "key.quit"), ("?", "key.help"), ("c", "key.certificate")):
            assert f" {key} {t(what)} " in f"{bar} ", bar
        assert len(shown_keys(app)) <= 2


def test_a_name_ending_in_s_takes_only_an_apostrophe_in_danish() -> None:
    da, en = Texts("da"), Texts("en")
    assert da.genitive("Hals Lægehus") == "Hals Lægehus'"
    assert da.genitive("PPR Aalborg") == "PPR Aalborgs"
    assert en.genitive("Hals Lægehus") == "Hals Lægehus's"


async def test_disabling_hals_laegehus_key_asks_in_good_danish() -> None:
    app = MonitorApp(
        fixed_hub(region_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"Hals", "enter")
        await settle(pilot)
        app.screen.query_one("#orgs").focus()
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Spær Hals Lægehus' systemnøgle?" in screen_text(app)
