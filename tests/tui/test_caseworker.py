"""The caseworker app against a real hub: the child overview with and without consent,
recording and revoking a consent, reading a letter and replying, a status reaching
``receipted``."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

from textual import events
from textual.widgets import DataTable, Input, Select, TextArea

from messages.medcom.correspondence import new_correspondence, reply_reference
from messages.medcom.documents import MedcomMessage
from messages.medcom.model import Correspondence, Party, Patient
from messages.medcom.text import to_plain
from tests.tui.conftest import (
    BUP,
    CHILD,
    GP,
    OTHER_CHILD,
    PPR,
    MakeTuiHub,
    TuiHub,
    screen_text,
    until,
)
from tui.caseworker_app import CaseworkerApp
from tui.i18n import Texts
from tui.screens.child import ChildScreen
from tui.screens.compose import ComposeScreen
from tui.screens.consent_form import ConsentForm
from tui.screens.consents import ConsentsScreen
from tui.screens.coordinator_form import CoordinatorForm
from tui.screens.inbox import InboxScreen
from tui.screens.letter import LetterScreen


def app_for(hub: TuiHub, who: str = "pia", lang: str = "da") -> CaseworkerApp:
    return CaseworkerApp(hub.client(who), texts=Texts(lang), refresh_seconds=0.3)


GP_PARTY = Party(GP, GP, "lokationsnummer", organisation_name="Lægehuset Vestbyen")
PPR_PARTY = Party(PPR, PPR, "lokationsnummer", organisation_name="PPR Aalborg")


def letter_from_gp(
    subject: str, text: str, *, to: Party = PPR_PARTY, cpr: str = CHILD, **extra: Any
) -> Correspondence:
    """A letter from the GP about Mads Jensen (``cpr``); ``extra``: the letter's options."""
    return new_correspondence(
        sender=GP_PARTY,
        receiver=to,
        patient=Patient(cpr=cpr, surname="Jensen", given_name="Mads"),
        subject=subject,
        text=text,
        **extra,
    )


def _letter_to_ppr() -> Correspondence:
    return letter_from_gp(
        "Henvisning: Mads J.",
        "Kære PPR\nMads har i en periode haft det svært i skolen.",
        ask_for_receipt=True,
        episode_of_care_identifier="3f2b8c4e9d0a4b1c8e7f6a5b4c3d2e1f",
    )


async def gp_posts(hub: TuiHub, message: MedcomMessage) -> Any:
    """The GP's system posts ``message`` (a letter, a receipt) to the hub: the hub's answer."""
    from messages.medcom.documents import build_message

    return await hub.call(
        "gp",
        "POST",
        "/v1/messages",
        data=build_message(message),
        headers={"Content-Type": "application/xml"},
    )


async def gp_sends(
    hub: TuiHub,
    subject: str,
    answers: str | None = None,
    *,
    cpr: str = CHILD,
    episode: str | None = None,
) -> tuple[str, str]:
    """A letter from the GP to PPR about ``cpr``, in ``episode`` (or none), answering the
    letter ``answers`` (or none): (message id, letter identifier)."""
    letter = new_correspondence(
        sender=GP_PARTY,
        receiver=PPR_PARTY,
        patient=Patient(cpr=cpr, surname="Jensen"),
        subject=subject,
        text="Se venligst vedlagte.",
        episode_of_care_identifier=episode,
        references=(reply_reference(answers),) if answers else (),
    )
    sent = await gp_posts(hub, letter)
    return str(sent["id"]), letter.letter_identifier


async def open_inbox(pilot: Any, app: CaseworkerApp, letters: int) -> InboxScreen:
    """Once the app knows who I am, open the inbox and wait until it lists ``letters``."""
    await until(pilot, lambda: bool(app.org_name))
    await pilot.press("i")
    await until(pilot, lambda: isinstance(app.screen, InboxScreen))
    screen = app.screen
    assert isinstance(screen, InboxScreen)
    await until(pilot, lambda: len(screen.inbox) == letters)
    return screen


async def look_up(pilot: Any, app: CaseworkerApp, cpr: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, ChildScreen) and bool(app.org_name))
    cpr_input = app.screen.query_one("#cpr", Input)
    cpr_input.value = ""
    cpr_input.focus()
    await pilot.press(*cpr, "enter")


async def open_letter(pilot: Any, app: CaseworkerApp, shows: str) -> None:
    """Open the highlighted letter (enter) and wait until it shows ``shows``."""
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, LetterScreen))
    await until(pilot, lambda: shows in screen_text(app), within=20)


async def open_consents(pilot: Any, app: CaseworkerApp, cpr: str) -> None:
    """Look the child up and, once its overview is drawn, open its consents (s)."""
    await look_up(pilot, app, cpr)
    await until(pilot, lambda: "Forløb" in screen_text(app))
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, ConsentsScreen))


async def test_child_overview_with_and_without_consent(make_tui_hub: MakeTuiHub) -> None:
    # a hub whose policy lets a caseworker's recorded (attested) consent open psychiatry's
    # data; under the default only a verified one does (tests/functional/test_consent_policy.py)
    tui_hub = await make_tui_hub(attested_consent_opens=("ppr", "family", "psychiatry", "gp"))
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, app, OTHER_CHILD)
        await until(pilot, lambda: "Ingen aktiv sag" in screen_text(app))
        assert "opret sagen i jeres fagsystem" in screen_text(app)

        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Forløb" in screen_text(app))
        text = screen_text(app)
        assert "PPR Aalborg" in text
        assert "Samtykke mangler for deling mellem PPR og familie, psykiatri, almen praksis" in text
        assert "psykiatrisk udr." not in text  # psychiatry's case: withheld without consent

        # record a consent: s, n, the parent's name, ctrl+s
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ConsentsScreen))
        assert "Under 15 år" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConsentForm))
        app.screen.query_one("#relation", Select).value = "custodial-parent"
        await pilot.press(*"Mette Jensen", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConsentsScreen))
        await until(pilot, lambda: "Mette Jensen" in screen_text(app))
        assert "✔ aktivt" in screen_text(app)

        await pilot.press("escape")  # the overview was looked at again once it was recorded
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await until(pilot, lambda: "psykiatrisk udr." in screen_text(app))
        assert "Samtykke ✔" in screen_text(app)
        assert "samtale, overlæge" in screen_text(app)

        # revoke it: s, r, j — and the other sector's entries are gone on the next look
        await pilot.press("s")
        await until(pilot, lambda: "Mette Jensen" in screen_text(app))
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("j")
        await until(pilot, lambda: "tilbagekaldt" in screen_text(app))
        await pilot.press("escape")
        await until(pilot, lambda: "psykiatrisk udr." not in screen_text(app))
        assert "Samtykke mangler" in screen_text(app)


async def test_cpr_is_checked_as_it_is_typed(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub, lang="en")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        app.screen.query_one("#cpr", Input).focus()
        await pilot.press(*"320116")  # no 32nd of January: said before the last four digits
        await until(pilot, lambda: "Invalid CPR number" in screen_text(app))
        assert "not a real date" in screen_text(app)


async def test_a_key_pressed_as_the_app_opens_is_a_key_not_a_digit_in_the_cpr_field(
    tui_hub: TuiHub,
) -> None:
    """The child screen starts with its keys live ("m", "i", "/"...): the CPR field never
    has the focus on the way there, so a key typed while the first screen appears is not
    typed into it ("/" puts the cursor there)."""

    class Watched(CaseworkerApp):
        CSS_PATH = str(Path(inspect.getfile(CaseworkerApp)).with_name("caseworker.tcss"))
        seen: ClassVar[list[str]] = []  # the ids of the widgets focused, in turn

        def on_descendant_focus(self, event: events.DescendantFocus) -> None:
            self.seen.append(str(event.widget.id))

    app = Watched(tui_hub.client("pia"), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: bool(app.org_name) and isinstance(app.screen, ChildScreen))
        assert app.seen, "no focus was seen"
        assert "cpr" not in app.seen
        assert app.screen.focused is app.screen.query_one("#body")
        await pilot.press("slash")
        assert app.screen.focused is app.screen.query_one("#cpr", Input)


async def test_read_a_letter_reply_and_watch_it_get_receipted(tui_hub: TuiHub) -> None:
    from messages.medcom.documents import parse_message
    from messages.medcom.receipts import receipt_for
    from messages.medcom.registry import SchemaRegistry

    letter = _letter_to_ppr()
    sent = await gp_posts(tui_hub, letter)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        assert "1 ulæste" in screen_text(app)
        await open_letter(pilot, app, "Henvisning: Mads J.")
        text = screen_text(app)
        assert "Mads har i en periode haft det svært i skolen." in text
        assert "kvittering ønsket" in text

        await pilot.press("k")  # the positive receipt the GP asked for
        await until(pilot, lambda: "Positiv kvittering sendt" in screen_text(app))
        status = await tui_hub.call("gp", "GET", f"/v1/messages/{sent['id']}/status")
        assert status["status"] == "receipted"

        await pilot.press("r")
        await until(pilot, lambda: bool(app.screen.query("#text")))
        app.screen.query_one("#text", TextArea).insert("Vi indkalder til møde.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, LetterScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: "accepteret" in screen_text(app))

        # the GP's system takes the reply and answers it with a positive receipt
        waiting = (await tui_hub.call("gp", "GET", "/v1/inbox"))["messages"]
        assert sorted(m["type"] for m in waiting) == ["XCTL03", "XDIS91"]
        [reply] = [m for m in waiting if m["type"] == "XDIS91"]
        body = await tui_hub.call("gp", "GET", f"/v1/messages/{reply['id']}")
        answer = parse_message(body, registry=SchemaRegistry())
        assert answer.subject == "Sv: Henvisning: Mads J."  # type: ignore[union-attr]
        assert answer.episode_of_care_identifier == letter.episode_of_care_identifier  # type: ignore[union-attr]
        await tui_hub.call("gp", "POST", f"/v1/messages/{reply['id']}/ack")
        await gp_posts(tui_hub, receipt_for(answer))
        await until(pilot, lambda: "✔ kvitteret" in screen_text(app))


async def test_name_the_coordinator_from_the_child_overview(tui_hub: TuiHub) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(80, 24)) as pilot:
        # no own case for this child: the overview says so and t opens nothing
        await look_up(pilot, app, OTHER_CHILD)
        await until(pilot, lambda: "Ingen aktiv sag" in screen_text(app))
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, ChildScreen)

        await look_up(pilot, app, CHILD)
        # without consent a coordinator in another sector would be withheld: said so
        await until(pilot, lambda: "Tovholder: ingen vist" in screen_text(app))
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, CoordinatorForm))
        assert "Kræver en aktiv sag hos jer" in screen_text(app)
        # the organisation by keyboard: open the list, type part of the name, take it
        await pilot.press("enter", *"Børne", "enter")
        await until(pilot, lambda: app.screen.query_one("#organisation", Select).value == BUP)
        await pilot.press("tab")  # to the contact's name, prefilled with mine
        assert app.screen.query_one("#contact-name", Input).value == "Pia Psykolog"
        app.screen.query_one("#contact-name", Input).value = ""
        await pilot.press(*"Bo Overlæge", "ctrl+s")
        await until(pilot, lambda: "✖ Rolle" in screen_text(app))  # the role is required
        assert isinstance(app.screen, CoordinatorForm)
        await pilot.press("tab", *"overlæge", "tab", *"88 88 88 88", "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await until(pilot, lambda: "Tovholderen er udpeget." in screen_text(app))
        assert "Tovholder: ingen vist" in screen_text(app)  # PPR may not see psychiatry's

        # the child psychiatry sees itself named, with the contact as typed
        overview = await tui_hub.call(
            "bup",
            "GET",
            f"/v1/children/{CHILD}/overview",
            headers={"X-On-Behalf-Of": "Bo Overlæge"},
        )
        assert overview["coordinator"]["organisation"] == BUP
        assert overview["coordinator"]["contact"] == {
            "name": "Bo Overlæge",
            "role": "overlæge",
            "phone": "88 88 88 88",
            "email": None,
        }

        # naming my own organisation replaces it, and the overview shows it at once
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, CoordinatorForm))
        assert app.screen.query_one("#organisation", Select).value == PPR
        await pilot.press("tab", "tab", *"psykolog", "ctrl+s")
        await until(pilot, lambda: "Tovholder: PPR Aalborg (Pia Psykolog)" in screen_text(app))
    overview = await tui_hub.call("pia", "GET", f"/v1/children/{CHILD}/overview")
    assert overview["coordinator"]["organisation"] == PPR
    assert overview["coordinator"]["contact"]["role"] == "psykolog"


async def test_forward_a_letter_to_a_receiver_from_the_directory(tui_hub: TuiHub) -> None:
    from messages.medcom.documents import parse_message
    from messages.medcom.registry import SchemaRegistry

    letter = _letter_to_ppr()
    await gp_posts(tui_hub, letter)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name) and bool(app.directory))
        await pilot.press("i")
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        await open_letter(pilot, app, "Henvisning: Mads J.")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
        screen = app.screen
        assert screen.query_one("#subject", Input).value == "Vs: Henvisning: Mads J."
        assert screen.query_one("#cpr", Input).value == CHILD
        text = screen.query_one("#text", TextArea).text
        assert "Fra: Lægehuset Vestbyen" in text
        assert "> Mads har i en periode haft det svært i skolen." in text
        await pilot.press("ctrl+s")  # no receiver picked yet: refused, nothing sent
        await until(pilot, lambda: "✖ Modtager" in screen_text(app))
        assert screen.query_one("#receiver", Select).value is Select.NULL
        screen.query_one("#receiver", Select).focus()
        await pilot.press("enter", *"Børne", "enter")
        await until(pilot, lambda: screen.query_one("#receiver", Select).value == BUP)
        screen.query_one("#text", TextArea).focus()
        await pilot.press(*"Til orientering.")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, LetterScreen))

    [forwarded] = (await tui_hub.call("bup", "GET", "/v1/inbox"))["messages"]
    body = await tui_hub.call("bup", "GET", f"/v1/messages/{forwarded['id']}")
    copy = parse_message(body, registry=SchemaRegistry())
    assert isinstance(copy, Correspondence)
    assert copy.subject == "Vs: Henvisning: Mads J."
    assert copy.sender.ean == PPR
    assert copy.patient.cpr == CHILD
    assert copy.episode_of_care_identifier == letter.episode_of_care_identifier
    plain = "\n".join(to_plain(block) for block in copy.clinical_information)
    assert plain.startswith("Til orientering.")
    assert "> Kære PPR\n> Mads har i en periode haft det svært i skolen." in plain


async def test_inbox_threads_by_episode_and_marks_letters_without_a_case_here(
    tui_hub: TuiHub,
) -> None:
    first, _ = await gp_sends(tui_hub, "Henvisning: Mads J.", episode="a" * 32)
    # no PPR case for her
    other, _ = await gp_sends(tui_hub, "Henvisning: Sofie J.", cpr=OTHER_CHILD, episode="b" * 32)
    follow_up, _ = await gp_sends(tui_hub, "Supplerende: Mads J.", episode="a" * 32)

    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inbox(pilot, app, letters=3)
        table = screen.query_one("#inbox", DataTable)

        def row(message_id: str) -> list[str]:
            return [str(cell) for cell in table.get_row(message_id)]

        # Mads's two letters are one thread, newest first, the earlier one marked ↳
        assert [e["id"] for e in screen.inbox] == [follow_up, first, other]
        assert row(follow_up)[3] == "Supplerende: Mads J."
        assert row(first)[3] == "↳ Henvisning: Mads J."
        assert row(other)[3] == "Henvisning: Sofie J."
        assert row(other)[0] == "●✚"
        assert row(first)[0] == "● "
        assert "✚ 1 uden sag her" in screen_text(app)
        assert "Ingen sag her for dette barn" not in screen_text(app)
        await pilot.press("down", "down")  # to Sofie's letter: the hint says what to do
        await until(
            pilot, lambda: "Ingen sag her for dette barn — registrér en?" in screen_text(app)
        )
        await open_letter(pilot, app, "Henvisning: Sofie J.")
        assert "✚ Ingen sag her for dette barn" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))

        await pilot.press("up", "up", "enter")  # the follow-up shows its thread
        await until(pilot, lambda: "Supplerende: Mads J." in screen_text(app), within=20)
        text = screen_text(app)
        assert "── tråd: 1 tidligere breve ──" in text
        assert "Lægehuset Vestbyen  Henvisning: Mads J." in text
        await pilot.press("escape")

        # once PPR has a case for Sofie, the hub stops suggesting one
        await tui_hub.call(
            "pia",
            "PUT",
            "/v1/cases/ppr-2",
            json={
                "child_cpr": OTHER_CHILD,
                "kind": "ppr-assessment",
                "status": "active",
                "opened_on": "2026-11-01",
                "contact": {"name": "Pia Psykolog", "role": "psykolog"},
            },
        )
        await until(pilot, lambda: "✚" not in row(other)[0])
        assert "uden sag her" not in screen_text(app)


async def test_a_reply_without_an_episode_joins_its_thread_before_it_is_opened(
    tui_hub: TuiHub,
) -> None:
    first, first_letter = await gp_sends(tui_hub, "Henvisning: Mads J.")
    other, _ = await gp_sends(tui_hub, "Henvisning: Sofie J.")
    follow_up, _ = await gp_sends(tui_hub, "Tilføjelse: Mads J.", answers=first_letter)

    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inbox(pilot, app, letters=3)
        table = screen.query_one("#inbox", DataTable)
        # nothing opened: the follow-up's in_reply_to puts it with the letter it answers
        assert not app.answers
        assert [e["id"] for e in screen.inbox] == [follow_up, first, other]
        assert str(table.get_row(follow_up)[3]) == "Tilføjelse: Mads J."
        assert str(table.get_row(first)[3]) == "↳ Henvisning: Mads J."
        assert str(table.get_row(other)[3]) == "Henvisning: Sofie J."


async def test_a_letter_read_is_kept_by_the_app_with_the_letter_it_answers(
    tui_hub: TuiHub,
) -> None:
    _, first_letter = await gp_sends(tui_hub, "Henvisning: Mads J.")
    follow_up, _ = await gp_sends(tui_hub, "Tilføjelse: Mads J.", answers=first_letter)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_inbox(pilot, app, letters=2)
        assert not app.letters
        assert screen.inbox[0]["id"] == follow_up
        await pilot.press("enter")  # the follow-up, newest first
        await until(pilot, lambda: follow_up in app.letters)
        assert app.letters[follow_up].subject == "Tilføjelse: Mads J."
        assert app.answers == {follow_up: first_letter}


async def test_access_log_shows_who_looked_at_the_child(tui_hub: TuiHub) -> None:
    await tui_hub.consent("pia", "Mette Jensen", "written")
    await tui_hub.call(  # the child psychiatry's system looks, on Bo Overlæge's behalf
        "bup",
        "GET",
        f"/v1/children/{CHILD}/overview",
        headers={"X-On-Behalf-Of": "Bo Overlæge"},
    )
    app = app_for(tui_hub)
    async with app.run_test(size=(80, 24)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Set af andre: 1 gang" in screen_text(app))
        await pilot.press("l")
        await until(pilot, lambda: "Hvem har set barnets data" in screen_text(app))
        await until(pilot, lambda: "Bo Overlæge *" in screen_text(app))
        text = screen_text(app)
        views, notifications = text.split("Andres opslag i PPR Aalborgs oplysninger")
        assert "Børne- og Ungdomspsyk.  Bo Overlæge *" in views
        assert "så PPR Aalborg" in views
        assert "Børne- og Ungdomspsyk.  Bo Overlæge" in notifications
        # PPR was told when the child psychiatry joined the child, with whom to call there
        views, told = notifications.split("Besked til PPR Aalborg om barnet")
        assert "ny samarbejdspartner" not in views
        assert "✚ ny samarbejdspartner: Bo Overlæge (behandler, 88 88 88 88)" in told
        assert "Børne- og Ungdomspsyk." in told
        assert "slået op af organisationens system på personens vegne" in text


async def test_a_consent_another_recorded_shows_no_name_once_it_is_not_in_force(
    tui_hub: TuiHub,
) -> None:
    path = f"/v1/children/{CHILD}/consents"
    recorded = await tui_hub.consent("bup", "Henrik Tidligere", "oral")
    await tui_hub.call("bup", "DELETE", f"{path}/{recorded['id']}")
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_consents(pilot, app, CHILD)
        await until(pilot, lambda: "(vises ikke)" in screen_text(app))
        text = screen_text(app)
        assert "tilbagekaldt" in text
        assert "Henrik Tidligere" not in text
