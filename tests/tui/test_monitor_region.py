"""The operator monitor for a whole region at 80×24: 26 organisations that scroll with the
cursor kept on the same organisation across refreshes, a ``/`` filter, names shortened to
their distinguishing last word, the region in the title, and a last poll that only the
organisation's system sets."""

from __future__ import annotations

from typing import Any

from textual.coordinate import Coordinate
from textual.widgets import DataTable, Input, Static

from adapters.simulation.region import pilot_region
from tests.tui.conftest import BUP, GP, PPR, MakeTuiHub, TuiHub, fixed_clock, fixed_hub, until
from tests.tui.fixed_answers import region_routes
from tests.tui.test_snapshots import SLOW, settle
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.formatting import short_id, short_name
from tui.screens.monitor import MonitorScreen, matches

REGION = pilot_region()
BUSIEST = 10  # the organisation with the deepest inbox in region_routes(): selected first


def region_monitor(routes: dict[tuple[str, str], Any]) -> MonitorApp:
    return MonitorApp(fixed_hub(routes), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW)


def organisations_table(app: MonitorApp) -> DataTable[Any]:
    return app.screen.query_one("#orgs", DataTable)


def row_keys(app: MonitorApp) -> list[str]:
    table = organisations_table(app)
    return [
        str(table.coordinate_to_cell_key(Coordinate(n, 0)).row_key.value)
        for n in range(table.row_count)
    ]


def cursor_gln(app: MonitorApp) -> str:
    table = organisations_table(app)
    return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)


def on_screen(app: MonitorApp, row: int) -> bool:
    """Whether the organisations' table shows its row ``row`` (not scrolled away)."""
    table = organisations_table(app)
    shown = table.scrollable_content_region.height - table.header_height
    return table.scroll_y <= row < table.scroll_y + shown


async def refresh(pilot: Any) -> None:
    """One refresh of the monitor, as its timer would start it, waited for."""
    screen = pilot.app.screen
    assert isinstance(screen, MonitorScreen)
    screen.reload()
    await settle(pilot)


async def test_all_26_organisations_scroll_and_the_cursor_stays_on_its_organisation() -> None:
    routes = region_routes()
    app = region_monitor(routes)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert row_keys(app) == [o.gln for o in REGION]
        assert cursor_gln(app) == REGION[BUSIEST].gln
        await pilot.press(*["down"] * 15)  # to the last row
        await settle(pilot)
        last = REGION[25]
        assert cursor_gln(app) == last.gln
        assert organisations_table(app).scroll_y > 0
        assert on_screen(app, 25)
        assert not on_screen(app, 0)
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        assert screen.selected == last.gln

        # a refresh with the same organisations: the cursor and the scroll stay
        scrolled = organisations_table(app).scroll_y
        listed = routes[("GET", "/v1/operator/organisations")]["organisations"]
        listed[25]["inbox_depth"] = 99
        await refresh(pilot)
        assert cursor_gln(app) == last.gln
        assert organisations_table(app).scroll_y == scrolled
        assert str(organisations_table(app).get_cell(last.gln, "depth")) == "99"

        # a new organisation registered before it: the cursor follows the GLN, not the row
        new = dict(listed[0], gln="5790000000005", name="PPR Hjørring", inbox_depth=0)
        listed.insert(0, new)
        routes[("GET", f"/v1/operator/organisations/{new['gln']}/queue")] = {
            "organisation": new["gln"],
            "messages": [],
        }
        await refresh(pilot)
        assert row_keys(app)[0] == new["gln"]
        assert cursor_gln(app) == last.gln
        assert organisations_table(app).cursor_row == 26
        assert on_screen(app, 26)
        assert screen.selected == last.gln


async def test_the_filter_narrows_by_name_gln_or_sector_and_esc_clears_it() -> None:
    app = region_monitor(region_routes())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#filter", Input)
        assert not field.display
        await pilot.press("slash")
        assert field.display
        assert field.has_focus
        await pilot.press(*"brønderslev")  # r, d, s and x are keys of the monitor: not here
        await settle(pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        names = [o.name for o in REGION if o.gln in row_keys(app)]
        assert names == [
            "PPR Brønderslev",
            "Børne- og familieafdelingen Brønderslev",
            "Lægehuset Brønderslev",
        ]
        head = str(app.screen.query_one("#orgs-head", Static).render())
        assert "3 af 26" in head
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        assert screen.selected == REGION[0].gln  # the first shown, its queue below
        assert "Kø: PPR Brønderslev" in str(app.screen.query_one("#queue-head", Static).render())

        field.value = REGION[BUSIEST + 1].gln[-6:]  # part of a GLN
        await settle(pilot)
        assert row_keys(app) == [REGION[BUSIEST + 1].gln]

        field.value = "psykiatri"  # the sector as the screen names it
        await settle(pilot)
        assert row_keys(app) == [o.gln for o in REGION if o.kind.value == "psychiatry"]

        field.value = "family"  # or as the hub does
        await settle(pilot)
        assert len(row_keys(app)) == 5

        await pilot.press("enter")  # keeps the filter, on to the table
        assert organisations_table(app).has_focus
        assert len(row_keys(app)) == 5
        await pilot.press("escape")
        await settle(pilot)
        assert not field.display
        assert field.value == ""
        assert row_keys(app) == [o.gln for o in REGION]
        assert organisations_table(app).has_focus
        assert cursor_gln(app) == screen.selected  # the last selected, still under the cursor


async def test_names_keep_their_municipality_at_80_columns() -> None:
    app = region_monitor(region_routes())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = organisations_table(app)
        family = [o for o in REGION if o.kind.value == "family"]
        shown = [str(table.get_row(o.gln)[1]) for o in family]
        assert shown == [  # 16 wide, beside the format column
            "Bør… Brønderslev",
            "Børne… Thisted",
            "Børn… Jammerbugt",
            "Børne… Aalborg",
            "Børne- o… Rebild",
        ]
        assert len(set(shown)) == 5
        assert on_screen(app, 9)  # Rebild's, just above the busiest organisation
        assert "Børne- o… Rebild" in app.export_screenshot().replace("&#160;", " ")
    wide = region_monitor(region_routes())
    async with wide.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        shown = [str(organisations_table(wide).get_row(o.gln)[1]) for o in family]
        assert shown == [o.name for o in family]  # room enough: whole names


def test_a_short_id_is_the_random_end_of_a_time_ordered_id() -> None:
    # two letters of the same millisecond share their first 13 characters, not their last
    first = "01a24c09-a441-7ac4-b0fd-bb5f5e0ac4a5"
    second = "01a24c09-a441-7d18-b3b7-44c06bbbba0d"
    assert (short_id(first), short_id(second)) == ("5e0ac4a5", "6bbbba0d")
    assert short_id(first, 4) == "c4a5"


def test_a_short_name_keeps_the_last_word() -> None:
    assert short_name("PPR Aalborg", 22) == "PPR Aalborg"
    assert short_name("Børne- og familieafdelingen Brønderslev", 24) == "Børne- og f… Brønderslev"
    assert short_name("Børne- og Ungdomspsykiatrien Aalborg", 22) == "Børne- og Ung… Aalborg"
    # a last word leaving no room for a start: cut at the end
    assert short_name("Center Kommunikationsrådgivningen", 22) == "Center Kommunikations…"
    assert short_name("Kommunikationsrådgivningscentret", 10) == "Kommunika…"
    for n in range(1, 40):
        assert len(short_name("Børne- og familieafdelingen Jammerbugt", n + 4)) <= n + 4


def test_the_filter_matches_name_gln_sector_or_format_ignoring_case() -> None:
    org = {"gln": "5790009001008", "name": "PPR Brønderslev", "sector": "ppr", "format": "fhir"}
    assert matches("FHIR", org, "PPR")
    assert not matches("oioxml", org, "PPR")
    assert matches("", org, "PPR")
    assert matches("brønder", org, "PPR")
    assert matches("9001", org, "PPR")
    assert matches(" ppr ", org, "PPR")
    assert not matches("aalborg", org, "PPR")


async def test_the_title_names_the_region_the_hub_serves(make_tui_hub: MakeTuiHub) -> None:
    hub = await make_tui_hub(region_name="Region Midtjylland")
    app = MonitorApp(hub.client("operator"), texts=Texts("da"), refresh_seconds=SLOW)
    async with app.run_test(size=(80, 24)) as pilot:
        title = app.screen.query_one("#top-title", Static)
        await until(pilot, lambda: "Region Midtjylland" in str(title.render()))
        assert str(title.render()).strip() == "Samspil drift · Region Midtjylland"
        assert "PPR Aalborg" not in str(title.render())  # the operator's own organisation


async def test_a_caseworker_reading_the_inbox_does_not_count_as_a_poll(tui_hub: TuiHub) -> None:
    await tui_hub.call(  # PPR's system takes its letters in (it never polls here)
        "operator",
        "POST",
        f"/v1/operator/organisations/{PPR}/letters-consumed-by",
        json={"letters_consumed_by": "system"},
    )
    await tui_hub.call("pia", "GET", "/v1/inbox")  # PPR's caseworker app; PPR's system: never
    await tui_hub.call("gp", "GET", "/v1/inbox")  # the GP's system
    app = MonitorApp(tui_hub.client("operator"), texts=Texts("da"), refresh_seconds=SLOW)

    def last_poll(gln: str) -> str:
        return str(organisations_table(app).get_cell(gln, "poll"))

    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: organisations_table(app).row_count == 3)
        assert last_poll(PPR) == "aldrig"
        assert last_poll(BUP) == "aldrig"
        assert last_poll(GP) != "aldrig"
