"""The caseworker app's consents against a real hub: who consented and how the hub knows it,
what each consent opens per sector (as the hub judges it), the form's relation that must be
chosen and its preview, and the overview looked at again — once — after a change.

Under the hub's default policy a caseworker's (attested) consent does not open psychiatry's
or the GP's data; ``open_hub`` is a hub whose policy lets it, where a test needs the
overview to show another organisation's entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Input, OptionList, Select, SelectionList

from tests.functional.index_samples import cpr_aged, logged_views
from tests.tui.conftest import BUP, CHILD, GP, PPR, MakeTuiHub, TuiHub, screen_text, until
from tests.tui.test_caseworker import app_for, look_up, open_consents
from tui.caseworker_app import CaseworkerApp
from tui.clock import parse_time
from tui.i18n import Texts
from tui.screens.child import ChildScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.consent_form import ConsentForm
from tui.screens.consents import ConsentsScreen
from tui.screens.dispute_form import DisputeForm

PSYCHIATRY_CASE = "psykiatrisk udr."  # the child psychiatry's case, as the overview lists it


@pytest.fixture
async def open_hub(make_tui_hub: MakeTuiHub) -> TuiHub:
    """A seeded hub whose policy lets an attested consent open every sector's data."""
    hub: TuiHub = await make_tui_hub(attested_consent_opens=("ppr", "family", "psychiatry", "gp"))
    return hub


async def involve(hub: TuiHub, cpr: str) -> None:
    """PPR and the child psychiatry each have an active case for ``cpr``."""
    for who, kind, person in (
        ("ppr", "ppr-assessment", "Pia Psykolog"),
        ("bup", "psychiatric-assessment", "Bo Overlæge"),
    ):
        await hub.call(
            who,
            "PUT",
            f"/v1/cases/{who}-teen",
            json={
                "child_cpr": cpr,
                "kind": kind,
                "status": "active",
                "opened_on": "2026-09-01",
                "contact": {"name": person, "role": "behandler"},
            },
        )


async def open_form(pilot: Any, app: CaseworkerApp, cpr: str) -> ConsentForm:
    await open_consents(pilot, app, cpr)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, ConsentForm))
    form = app.screen
    assert isinstance(form, ConsentForm)
    return form


async def test_recording_a_consent_shows_who_recorded_it_and_refreshes_the_overview_once(
    open_hub: TuiHub,
) -> None:
    tui_hub = open_hub
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_form(pilot, app, CHILD)
        looks = await logged_views(tui_hub.app, PPR, CHILD)
        assert form.query_one("#relation", Select).value is Select.NULL
        assert "Vælg relation for at se, hvad samtykket åbner" in screen_text(app)
        await pilot.press(*"Mette Jensen", "ctrl+s")  # no relation chosen: not saved
        await until(pilot, lambda: "✖ Relation: vælg, hvem der giver samtykket" in screen_text(app))
        assert isinstance(app.screen, ConsentForm)
        # the child is 10: a parent or a guardian, never the child's own word
        assert form.relations() == ["custodial-parent", "guardian"]
        relation = form.query_one("#relation", Select)
        assert relation.has_focus  # where the refusal sent the caseworker
        await pilot.press("enter", "down", "enter")  # open the list, take "forælder"
        await until(pilot, lambda: relation.value == "custodial-parent")
        await until(pilot, lambda: "Et attesteret samtykke fra forælder åbner" in screen_text(app))
        await pilot.press("ctrl+s")

        await until(pilot, lambda: isinstance(app.screen, ConsentsScreen))
        await until(pilot, lambda: "Samtykket er registreret." in screen_text(app))
        text = screen_text(app)
        assert "✔ aktivt  Mette Jensen · forælder · skriftligt · ingen slutdato" in text
        assert "✎ attesteret (registreret af PPR Aalborg, Pia Psykolog)" in text
        assert "Åbner: ✔ PPR, familie, psyk., læge" in text
        assert "For PPR Aalborg nu: ✔ familie, psyk., læge" in text  # the overview's new state

        # back on the overview: already drawn again, by one logged look
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        text = screen_text(app)
        assert PSYCHIATRY_CASE in text
        assert "Samtykke: forælder · ✎ attesteret af jer · ingen slutdato · åbner familie" in text
        assert await logged_views(tui_hub.app, PPR, CHILD) == looks + 1


async def test_revoking_closes_the_overview_at_once(open_hub: TuiHub) -> None:
    tui_hub = open_hub
    await tui_hub.consent("pia", "Mette Jensen", "oral")
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: PSYCHIATRY_CASE in screen_text(app))
        await pilot.press("s")
        await until(pilot, lambda: "Mette Jensen" in screen_text(app))
        looks = await logged_views(tui_hub.app, PPR, CHILD)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("j")
        await until(pilot, lambda: "Samtykket er tilbagekaldt." in screen_text(app))
        assert "Åbner intet nu (ikke i kraft)." in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        text = screen_text(app)
        assert PSYCHIATRY_CASE not in text
        assert "Samtykke mangler for deling mellem PPR og familie, psykiatri" in text
        assert await logged_views(tui_hub.app, PPR, CHILD) == looks  # nothing of others shown


async def test_a_parents_consent_for_a_17_year_old_does_not_open_health_data(
    tui_hub: TuiHub,
) -> None:
    teen = cpr_aged(17)
    await involve(tui_hub, teen)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_form(pilot, app, teen)
        # 17: no relation is assumed, not even the young person's own
        assert form.query_one("#relation", Select).value is Select.NULL
        assert "Fra 15 år: den unges eget samtykke kræves for sundhedsdata" in screen_text(app)
        form.query_one("#given-by", Input).value = "Mette Jensen"
        form.query_one("#relation", Select).value = "custodial-parent"
        await until(
            pilot,
            lambda: (
                "✖ psykiatri, almen praksis: den unges eget samtykke kræves" in screen_text(app)
            ),
        )
        assert "✔ PPR, familie" in screen_text(app)
        await pilot.press("ctrl+s")  # it leaves chosen sectors closed: asked first
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        question = screen_text(app)
        assert "Samtykket åbner ikke alt, I har valgt" in question
        assert "✖ almen praksis: den unges eget samtykke kræves" in question
        await pilot.press("n")  # not saved: back on the form
        await until(pilot, lambda: isinstance(app.screen, ConsentForm))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("j")

        await until(pilot, lambda: "Samtykket er registreret." in screen_text(app))
        text = screen_text(app)
        assert "Åbner: ✔ PPR, familie · ✖ psyk., læge: den unges eget samtykke kræves" in text
        assert "For PPR Aalborg nu: ✔ familie · ✖ psyk., læge: den unges eget samtykke" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        text = screen_text(app)
        assert "✖ psykiatri, almen praksis: den unges eget samtykke kræves" in text
        assert PSYCHIATRY_CASE not in text  # child psychiatry's case stays withheld
    listed = (await tui_hub.call("bup", "GET", f"/v1/children/{teen}/consents"))["consents"]
    assert listed[0]["opens"]["psychiatry"] == "own-consent-needed"
    assert listed[0]["recorded_by_org"] == PPR
    assert BUP not in listed[0]["organisations"]


async def test_one_look_at_the_overview_is_one_logged_read(open_hub: TuiHub) -> None:
    tui_hub = open_hub
    await tui_hub.consent("pia", "Mette Jensen", "written")
    await tui_hub.call(  # the child psychiatry looks: PPR is told, unlogged, who saw its data
        "bup", "GET", f"/v1/children/{CHILD}/overview", headers={"X-On-Behalf-Of": "Bo Overlæge"}
    )
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Set af andre: 1 gang" in screen_text(app))
        assert PSYCHIATRY_CASE in screen_text(app)
        assert await logged_views(tui_hub.app, PPR, CHILD) == 1  # the overview, nothing beside it


async def test_the_overview_names_a_partner_that_newly_joined_the_childs_case(
    tui_hub: TuiHub,
) -> None:
    # the seed: PPR's case first, then the child psychiatry's — PPR was told it joined
    told = await tui_hub.call("pia", "GET", "/v1/access-notifications")
    [joined] = [n for n in told["notifications"] if n["kind"] == "new-partner"]
    line = "✚ Ny partner {}: Børne- og Ungdomspsyk.: Bo Overlæge 88 88 88 88"
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Forløb" in screen_text(app))
        text = screen_text(app)
        assert line.format(app.local(joined["at"], "%d.%m")) in text
        assert PSYCHIATRY_CASE not in text  # who joined is told; what they do is not

    a_month_on = parse_time(joined["at"]) + timedelta(days=31)
    later = CaseworkerApp(tui_hub.client("pia"), texts=Texts("da"), clock=lambda: a_month_on)
    async with later.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, later, CHILD)
        await until(pilot, lambda: "Forløb" in screen_text(later))
        assert "Ny partner" not in screen_text(later)  # no longer new


async def test_a_caseworkers_consent_does_not_open_health_data_by_default(
    tui_hub: TuiHub,
) -> None:
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        form = await open_form(pilot, app, CHILD)
        form.query_one("#given-by", Input).value = "Mette Jensen"
        form.query_one("#relation", Select).value = "custodial-parent"
        await until(pilot, lambda: "kræver verificeret samtykke" in screen_text(app))
        preview = screen_text(app)
        assert "✔ PPR, familie · ✖ psykiatri, almen praksis: kræver verificeret samtykke" in (
            preview
        )
        # the GP named besides the sectors: judged as the GP's sector is
        form.query_one("#organisations", SelectionList).select(GP)
        await until(pilot, lambda: "✖ Lægehuset Vestbyen: kræver" in screen_text(app))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "✖ Lægehuset Vestbyen: kræver verificeret samtykke" in screen_text(app)
        await pilot.press("j")

        await until(pilot, lambda: "Samtykket er registreret." in screen_text(app))
        text = screen_text(app)
        assert "Åbner: ✔ PPR, familie · ✖ psyk., læge: kræver verificeret samtykke" in text
        assert "Gælder også: Lægehuset Vestbyen" in text
        assert "Et attesteret samtykke fra jer åbner ikke data fra psykiatri, almen praksis" in (
            text
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        text = screen_text(app)
        assert "Samtykke: forælder · ✎ attesteret af jer · ingen slutdato · åbner familie" in text
        assert "✖ psykiatri, almen praksis: kræver verificeret samtykke — tryk s." in text
        assert PSYCHIATRY_CASE not in text
    [recorded] = (await tui_hub.call("pia", "GET", f"/v1/children/{CHILD}/consents"))["consents"]
    assert recorded["organisations"] == [GP]


async def test_a_disputed_consent_is_marked_with_who_disputed_it_and_why(
    tui_hub: TuiHub,
) -> None:
    path = f"/v1/children/{CHILD}/consents"
    recorded = await tui_hub.consent("pia", "Mette Jensen", "oral")
    disputed = await tui_hub.call(
        "bup",
        "POST",
        f"{path}/{recorded['id']}/dispute",
        json={"reason": "faderen har også forældremyndighed"},
        headers={"X-On-Behalf-Of": "Bo Overlæge"},
    )
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_consents(pilot, app, CHILD)
        await until(pilot, lambda: "Mette Jensen" in screen_text(app))
        assert (
            "⚑ Bestridt af Børne- og Ungdomspsyk. (Bo Overlæge) "
            f"{app.local(disputed['disputed_at'], '%d.%m')}: faderen har også forældremyndighed"
        ) in screen_text(app)


async def test_dispute_a_consent_another_organisation_attested(tui_hub: TuiHub) -> None:
    path = f"/v1/children/{CHILD}/consents"
    theirs = await tui_hub.consent(
        "bup", "Mette Jensen", "oral", headers={"X-On-Behalf-Of": "Bo Overlæge"}
    )
    # ours: revoked if wrong, never disputed
    await tui_hub.consent("pia", "Karl Jensen", "written", sectors=("ppr",))
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_consents(pilot, app, CHILD)
        await until(pilot, lambda: "Mette Jensen" in screen_text(app))
        screen = app.screen
        assert isinstance(screen, ConsentsScreen)
        listing = screen.query_one(OptionList)

        def on(name: str) -> None:
            index = next(i for i, c in enumerate(screen.consents) if c["given_by_name"] == name)
            listing.highlighted = 2 * index  # a separator between the cards

        on("Karl Jensen")  # ours: no dispute key, and d does nothing
        await pilot.pause()
        assert " d bestrid " not in screen_text(app)
        await pilot.press("d")
        await pilot.pause()
        assert app.screen is screen
        on("Mette Jensen")
        await until(pilot, lambda: " d bestrid " in screen_text(app))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DisputeForm))
        assert "Børne- og Ungdomspsyk. får besked" in screen_text(app)
        await pilot.press("ctrl+s")  # no reason: said, nothing sent
        await until(pilot, lambda: "✖ Begrundelse" in screen_text(app))
        await pilot.press(*"faderen har ikke givet samtykke", "enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Bestrid samtykket fra Mette Jensen?" in screen_text(app)
        await pilot.press("j")
        await until(pilot, lambda: "Samtykket er bestridt." in screen_text(app))
        assert "⚑ Bestridt af PPR Aalborg (Pia Psykolog) " in screen_text(app)
        assert " d bestrid " not in screen_text(app)  # disputed once: no second time
    [listed] = [
        c
        for c in (await tui_hub.call("bup", "GET", path, headers={"X-On-Behalf-Of": "Bo"}))[
            "consents"
        ]
        if c["id"] == theirs["id"]
    ]
    assert [(d["organisation"], d["person"], d["reason"]) for d in listed["disputes"]] == [
        (PPR, "Pia Psykolog", "faderen har ikke givet samtykke")
    ]
