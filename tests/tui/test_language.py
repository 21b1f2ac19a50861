"""The caseworker app speaks one language a line: a CPR number's problem and a letter the
message layer refuses are said in the app's language, never in the message layer's English."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.conftest import TuiHub, screen_text, until
from tests.tui.test_caseworker import app_for
from tui.screens.child import ChildScreen


async def test_a_cpr_numbers_problem_is_said_in_danish_alone(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        app.screen.query_one("#cpr", Input).focus()
        await pilot.press(*"310216")  # no 31st of February
        await until(pilot, lambda: "Ugyldigt CPR-nummer" in screen_text(app))
        assert (
            "✖ Ugyldigt CPR-nummer: datodelen 31.02.16 er ikke en rigtig dato" in screen_text(app)
        )
        await pilot.press(*"-12", "enter")  # too short: its form said
        await until(pilot, lambda: "10 cifre" in screen_text(app))
        assert "✖ Ugyldigt CPR-nummer: et CPR-nummer er 10 cifre" in screen_text(app)
        assert "CPR number" not in screen_text(app)
        assert "not a real date" not in screen_text(app)
