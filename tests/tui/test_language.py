"""The caseworker app speaks one language a line: a CPR number's problem and a letter the
message layer refuses are said in the app's language, never in the message layer's English."""

from __future__ import annotations

import pytest
from textual.content import Content
from textual.widgets import Input, Static

from tests.tui.conftest import CHILD, TuiHub, fixed_clock, fixed_hub, screen_text, until
from tests.tui.fixed_answers import caseworker_routes, monitor_routes, region_routes
from tests.tui.test_caseworker import app_for, look_up
from tests.tui.test_snapshots import SLOW, settle
from tui.base import HubApp
from tui.caseworker_app import CaseworkerApp
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


def drawn_lines(app: HubApp, selector: str) -> list[str]:
    """The lines of a Static as drawn at its width (wrapped where it would wrap)."""
    widget = app.screen.query_one(selector, Static)
    content = widget.render()
    assert isinstance(content, Content)
    return [line.plain.rstrip() for line in content.wrap(widget.size.width)]


async def test_the_overview_keeps_names_whole_where_the_row_has_room() -> None:
    app = CaseworkerApp(
        fixed_hub(caseworker_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *CHILD, "enter")
        await settle(pilot)
        lines = drawn_lines(app, "#overview")
        assert any(line.startswith(" ● Børne- og Ungdomspsyk. psyk") for line in lines), lines
        assert any("09:00  Børne- og Ungdomspsyk. samtale" in line for line in lines), lines
        assert not any("…" in line for line in lines), lines


async def test_the_overview_never_wraps_a_line_mid_sentence(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Forløb" in screen_text(app))
        lines = drawn_lines(app, "#overview")
        # no consent: the coordinator may be hidden, a long line; how often seen on its own
        assert " Tovholder: ingen vist (kan være skjult uden samtykke)" in lines
        assert " Set af andre: 0 gange" in lines
        await pilot.resize_terminal(120, 30)
        both = " Tovholder: ingen vist (kan være skjult uden samtykke)   Set af andre: 0 gange"
        await until(pilot, lambda: both in drawn_lines(app, "#overview"))  # room for both
