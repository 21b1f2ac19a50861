"""The caseworker's day in the apps' own words and keys: one language a line (a CPR
number's problem, the hub's refusals), Danish genitives, names and lines that fit the room,
the keys each screen shows being the keys that work (q too), a draft not thrown away
unasked, a reply that keeps the child's name, letters that say to whom and when, and a top
line that tells the real time and the hub's real state."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.content import Content
from textual.widgets import DataTable, Input, Static, TextArea

from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence
from messages.medcom.receipts import receipt_for
from tests.tui.conftest import (
    CHILD,
    FIXED_NOW,
    GP,
    FixedAnswers,
    TuiHub,
    fixed_clock,
    fixed_hub,
    screen_text,
    until,
)
from tests.tui.fixed_answers import caseworker_routes, monitor_routes, region_routes
from tests.tui.test_caseworker import _letter_to_ppr, app_for, gp_posts, look_up
from tests.tui.test_snapshots import SLOW, settle
from tui.base import HubApp
from tui.caseworker_app import CaseworkerApp
from tui.exits import ExitStatus
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.child import ChildScreen
from tui.screens.compose import ComposeScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.formatting import fit_words, share
from tui.screens.inbox import InboxScreen
from tui.screens.letter import LetterScreen
from tui.widgets.key_bar import KeyBar
from wire.client import HubClient
from wire.transport import MockTransport


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
        for key, what in (
            ("q", "key.quit"),
            ("?", "key.help"),
            ("c", "key.certificate"),
            ("f", "key.format"),
        ):
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


def key_bar(app: HubApp) -> str:
    return " ".join(line.plain for line in app.screen.query_one(KeyBar).lines(1000))


async def test_a_letter_its_reply_its_receipt_and_the_sent_list(tui_hub: TuiHub) -> None:
    letter = _letter_to_ppr()  # about Mads Jensen
    await gp_posts(tui_hub, letter)
    app = app_for(tui_hub)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await pilot.press("i")
        await until(pilot, lambda: "Henvisning: Mads J." in screen_text(app))
        assert " q afslut " in key_bar(app) + " "
        await pilot.press("enter")
        await until(pilot, lambda: "Kære PPR" in screen_text(app), within=20)
        text = screen_text(app)
        assert f"Fra: Lægehuset Vestbyen ({GP})  Dato: " in text
        sent_on = app.local(letter.authorised, "%d.%m.%Y %H:%M")
        assert f"Dato: {sent_on}" in text
        assert all(f" {k} " in key_bar(app) for k in ("r", "k", "a", "f", "q"))

        # the reply keeps the child's given name, and every field its label when filled in
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        compose = app.screen
        assert compose.query_one("#given-name", Input).value == "Mads"
        assert compose.query_one("#surname", Input).value == "Jensen"
        assert compose.query_one("#cpr", Input).border_title == "Barnets CPR-nummer"
        assert compose.query_one("#subject", Input).border_title == "Emne (højst 70 tegn)"
        assert compose.query_one("#receiver").query_one("SelectCurrent").border_title == (
            "Modtager"
        )
        await pilot.press(*"Vi indkalder til møde.")
        await pilot.press("escape")  # a draft: asked before it is thrown away
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Kassér brevet?" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: app.screen is compose)
        assert compose.query_one("#text", TextArea).text.startswith("Vi indkalder til møde.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, LetterScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))

        # the sent list names its subject; the sent letter its receiver and its date
        await until(pilot, lambda: "Sv: Henvisning: Mads J." in screen_text(app))
        await pilot.press("tab", "enter")
        await until(pilot, lambda: "Vi indkalder til møde." in screen_text(app), within=20)
        text = screen_text(app)
        assert f"Til: Lægehuset Vestbyen ({GP})  Dato: " in text
        assert "Barn: 120316-4321 Mads Jensen" in text
        assert key_bar(app).split() == ["f", "videresend", "esc", "tilbage", "q", "afslut"]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))

        # the GP's system receipts the reply: the receipt offers only what works on it
        waiting = (await tui_hub.call("gp", "GET", "/v1/inbox"))["messages"]
        [reply] = [m for m in waiting if m["type"] == "XDIS91"]
        body = await tui_hub.call("gp", "GET", f"/v1/messages/{reply['id']}")
        answer = parse_message(body, registry=await app.registry())
        assert isinstance(answer, Correspondence)
        assert answer.patient.given_name == "Mads"
        await gp_posts(tui_hub, receipt_for(answer))
        await until(pilot, lambda: "✔ positiv kvittering" in screen_text(app))
        inbox = app.screen.query_one("#inbox", DataTable)
        inbox.focus()
        kinds = [str(inbox.get_row_at(n)[-1]) for n in range(inbox.row_count)]
        inbox.move_cursor(row=kinds.index("XCTL03"))
        await pilot.press("enter")
        await until(pilot, lambda: "Kvittering XCTL03" in screen_text(app), within=20)
        assert key_bar(app).split() == ["a", "arkivér", "esc", "tilbage", "q", "afslut"]
        assert "Dato: " in screen_text(app)
        await pilot.press("r", "k", "f")  # nothing
        await pilot.pause()
        assert isinstance(app.screen, LetterScreen)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == ExitStatus.QUIT


async def test_esc_leaves_an_untouched_letter_without_asking(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))


async def test_q_quits_from_the_inbox(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == ExitStatus.QUIT


async def test_the_top_line_tells_the_time_after_going_back_and_a_hub_that_went() -> None:
    now = [FIXED_NOW]
    answers = FixedAnswers(caseworker_routes())
    client = HubClient("http://hub.invalid", "fixed", transport=MockTransport(answers))
    app = CaseworkerApp(
        client, texts=Texts("da"), clock=lambda: now[0], refresh_seconds=SLOW, retry_seconds=0.2
    )

    def top() -> str:
        return str(app.screen.query_one("#top-state", Static).render())

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert top() == "14:32  hub ●"
        await pilot.press("i")
        await settle(pilot)
        now[0] = FIXED_NOW + timedelta(minutes=7)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await until(pilot, lambda: top().startswith("14:39"))  # at once, not at the next tick
        answers.down = True  # the hub goes while nothing on the screen asks it anything
        app.tick()  # as the top line's timer does every CHROME_SECONDS
        await until(pilot, lambda: top() == "14:39  hub ✖")
        assert "Forbindelsen til hubben er afbrudt" in screen_text(app)
        answers.down = False
        await until(pilot, lambda: top() == "14:39  hub ●")


@pytest.mark.parametrize(
    ("name", "width", "shown"),
    [
        ("Børne- og Ungdomspsyk.", 22, "Børne- og Ungdomspsyk."),  # fits: whole
        ("Lægehuset Vestbyen Nord", 20, "Lægehuset Vestbyen… "),  # a word dropped
        ("Børne- og Ungdomspsyk.", 17, "Børne- og Ungdom…"),  # a word would drop too much
    ],
)
def test_a_name_is_cut_between_words_when_that_keeps_most_of_it(
    name: str, width: int, shown: str
) -> None:
    assert fit_words(name, width) == shown


def test_columns_share_the_room_in_turn() -> None:
    assert share(40, [(10, 22), (14, 22), (12, 70)]) == [14, 14, 12]
    assert share(60, [(10, 22), (14, 22), (12, 70)]) == [22, 22, 16]
    assert share(100, [(10, 22), (14, 22), (12, 70)]) == [22, 22, 56]
