"""Who owns the mailbox, in the caseworker app against a real hub: where the organisation's
people take its letters in (PPR here) a letter is archived with ``a``; where its system does
(child psychiatry here) the app reads, answers and forwards, and never takes a letter away
from the system. And the letter archive: every letter, searched by child, sender, subject."""

from __future__ import annotations

from textual.widgets import DataTable, Input

from coordinator.security.credentials import add_user, local_actor
from coordinator.state import ENGINE
from coordinator.tables import Role
from messages.medcom.model import Party
from tests.tui.conftest import BUP, CHILD, OTHER_CHILD, TuiHub, screen_text, until
from tests.tui.test_caseworker import (
    app_for,
    gp_posts,
    gp_sends,
    letter_from_gp,
    open_inbox,
    open_letter,
)
from tui.screens.archive import ArchiveScreen, search_of
from tui.screens.compose import ComposeScreen

BUP_PARTY = Party(BUP, BUP, "lokationsnummer", organisation_name="Børne- og Ungdomspsyk.")


async def test_the_archive_finds_letters_by_child_sender_and_subject(tui_hub: TuiHub) -> None:
    first, _ = await gp_sends(tui_hub, "Henvisning: Mads J.", cpr=CHILD)
    second, _ = await gp_sends(tui_hub, "Skolevægring", cpr=OTHER_CHILD)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ArchiveScreen))
        screen = app.screen
        assert isinstance(screen, ArchiveScreen)
        await until(pilot, lambda: len(screen.letters) == 2)
        assert [e["id"] for e in screen.letters] == [second, first]  # newest first
        text = screen_text(app)
        assert "Lægehuset Vestbyen" in text
        assert "i indbakken" in text
        assert "I tager selv brevene ind" in text  # PPR's people take them in

        async def search(words: str) -> list[str]:
            field = screen.query_one("#archive-search", Input)
            await pilot.press("slash")
            field.value = ""
            await pilot.press(*words, "enter")
            await until(pilot, lambda: screen.asked != {} or not words)
            await pilot.pause(0.1)
            await app.workers.wait_for_complete()
            return [str(e["id"]) for e in screen.letters]

        assert await search(OTHER_CHILD) == [second]
        assert "barn 050218-xxxx" in screen_text(app)  # the CPR never shown whole
        assert OTHER_CHILD not in screen_text(app)
        assert await search("skolev") == [second]
        assert await search("Lægehuset") == [second, first]
        assert await search("Ingen sådan") == []
        assert "Ingen breve." in screen_text(app)

        await search("Henvisning")
        screen.query_one("#archive", DataTable).focus()
        await open_letter(pilot, app, "Henvisning: Mads J.")
        assert "a arkivér" in screen_text(app)


def test_the_search_field_reads_a_cpr_number_a_gln_a_name_or_a_subject() -> None:
    directory = [{"gln": BUP, "name": "Børne- og Ungdomspsyk."}]
    assert search_of(" ", directory)[0] == {}
    assert search_of("120316-4321", directory)[0] == {"child": CHILD}
    assert search_of(BUP, directory)[0] == {"senders": [BUP]}
    assert search_of("ungdoms", directory)[0] == {"senders": [BUP]}
    assert search_of("1203164320x", directory)[0] == {"subject": "1203164320x"}
    assert search_of("møde", directory)[0] == {"subject": "møde"}


async def test_where_the_system_takes_letters_in_the_app_reads_and_answers_only(
    tui_hub: TuiHub,
) -> None:
    tui_hub.tokens["bo"] = await add_user(
        actor=local_actor(),
        engine=tui_hub.app[ENGINE],
        org_gln=BUP,
        name="Bo Overlæge",
        role=Role.CASEWORKER,
    )
    letter = letter_from_gp(
        "Henvisning til BUP", "Kære BUP\nSe venligst vedlagte.", to=BUP_PARTY, ask_for_receipt=True
    )
    sent = await gp_posts(tui_hub, letter)
    app = app_for(tui_hub, "bo")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_inbox(pilot, app, 1)
        await until(pilot, lambda: "Jeres fagsystem tager brevene ind" in screen_text(app))
        await open_letter(pilot, app, "Henvisning til BUP")
        keys = screen_text(app)
        assert "arkivér" not in keys
        assert "send kvittering" not in keys
        assert "r svar" in keys

        await pilot.press("a")  # nothing is taken from the system
        await until(pilot, lambda: "Jeres fagsystem tager dette brev ind" in screen_text(app))
        await pilot.press("k")
        await app.workers.wait_for_complete()
        status = await tui_hub.call("gp", "GET", f"/v1/messages/{sent['id']}/status")
        assert status["status"] == "accepted"  # not even marked downloaded by the person
        waiting = await tui_hub.call("bup", "GET", "/v1/inbox")
        assert [m["id"] for m in waiting["messages"]] == [sent["id"]]

        await pilot.press("r")  # answering works
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
