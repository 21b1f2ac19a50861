"""SVG snapshots of the main screens at 80×24 and 120×40, from fixed answers and a fixed
clock (no live data, no generated ids). Update with ``pytest --snapshot-update``.

Each screen is reached the way a person reaches it: by keys from the app's first screen."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input

from tests.tui.conftest import BUP, CHILD, GP, PPR, fixed_clock, fixed_hub, problem_answer
from tests.tui.fixed_answers import caseworker_routes, monitor_routes, region_routes
from tests.tui.fixed_children import my_children_routes
from tui.caseworker_app import CaseworkerApp
from tui.i18n import Texts
from tui.monitor_app import MonitorApp

SIZES = [(80, 24), (120, 40)]
SLOW = 3600.0  # no refresh during a snapshot


def caseworker() -> CaseworkerApp:
    return CaseworkerApp(
        fixed_hub(caseworker_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )


async def settle(pilot: Any) -> None:
    for _ in range(3):
        await pilot.pause(0.1)
        await pilot.app.workers.wait_for_complete()
    steady_cursors(pilot.app)
    await pilot.pause()


def steady_cursors(app: Any) -> None:
    """Stop every text cursor blinking (shown where focused), so a snapshot does not depend
    on when in the blink it was taken."""
    for field in app.screen.query("Input, TextArea"):
        field.cursor_blink = False


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_child_overview(snap_compare: Any, size: tuple[int, int]) -> None:
    async def look_up(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("slash", *CHILD, "enter")
        await settle(pilot)

    assert snap_compare(caseworker(), terminal_size=size, run_before=look_up)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_inbox(snap_compare: Any, size: tuple[int, int]) -> None:
    async def open_inbox(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("down", "down", "down")  # a letter about a child with no case here
        await settle(pilot)

    assert snap_compare(caseworker(), terminal_size=size, run_before=open_inbox)


def by_keys(*steps: tuple[str, ...]) -> Any:
    """Settle, then press each step's keys and settle again."""

    async def run(pilot: Any) -> None:
        await settle(pilot)
        for keys in steps:
            await pilot.press(*keys)
            await settle(pilot)

    return run


CHILD_KEYS = ("slash", *CHILD, "enter")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_consents(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(CHILD_KEYS, ("s",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_consent_form(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(CHILD_KEYS, ("s",), ("n",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_consent_form_preview(snap_compare: Any, size: tuple[int, int]) -> None:
    """A parent chosen: what the consent opens per sector, before it is saved."""
    keys = by_keys(CHILD_KEYS, ("s",), ("n",), (*"Mette Jensen", "tab"), ("enter", "down", "enter"))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_coordinator_form(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(CHILD_KEYS, ("t",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_access_log(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(CHILD_KEYS, ("l",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_letter(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("i",), ("enter",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_reply(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("i",), ("enter",), ("r",), tuple("Vi indkalder til møde."))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_forward(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("i",), ("enter",), ("f",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("question_mark",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_archive(snap_compare: Any, size: tuple[int, int]) -> None:
    """The letter archive where the organisation's system takes the letters in: read-only,
    a removed letter shown by when it went, more on m."""
    keys = by_keys(("b",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_archive_search(snap_compare: Any, size: tuple[int, int]) -> None:
    """A search by sender name, said on the heading (the fixed hub answers the same page)."""
    keys = by_keys(("b",), ("slash",), tuple("Lægehuset"), ("enter",))
    assert snap_compare(caseworker(), terminal_size=size, run_before=keys)


def monitor() -> MonitorApp:
    return MonitorApp(
        fixed_hub(monitor_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_trail(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("down", "down"), ("tab", "enter"))
    assert snap_compare(monitor(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor_help(snap_compare: Any, size: tuple[int, int]) -> None:
    keys = by_keys(("question_mark",))
    assert snap_compare(monitor(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor(snap_compare: Any, size: tuple[int, int]) -> None:
    app = MonitorApp(
        fixed_hub(monitor_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )

    async def wait(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("down", "down")  # the GP clinic, with its queue
        await settle(pilot)
        orgs = pilot.app.screen.query_one("#orgs", DataTable)
        shown = [str(orgs.get_cell(gln, "format")) for gln in (PPR, BUP, GP)]
        assert shown == ["XML", "FHIR", "XML"]  # each organisation's letter format

    assert snap_compare(app, terminal_size=size, run_before=wait)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor_flags_a_stolen_token(snap_compare: Any, size: tuple[int, int]) -> None:
    app = MonitorApp(
        fixed_hub(monitor_routes(stolen_token=True)),
        texts=Texts("da"),
        clock=fixed_clock,
        refresh_seconds=SLOW,
    )
    assert snap_compare(app, terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_expired_session_prompt(snap_compare: Any, size: tuple[int, int]) -> None:
    """The token expired while the inbox was opened: a new one is asked for over it (typed
    so far: masked)."""
    routes = caseworker_routes()
    routes[("GET", "/v1/inbox")] = problem_answer(401, "token-expired", "the token has expired")
    app = CaseworkerApp(
        fixed_hub(routes), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )

    async def open_inbox(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        pilot.app.screen.query_one("#token", Input).cursor_blink = False  # a still cursor
        await pilot.press(*"smp_hemmelig")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_inbox)


def test_lost_connection_banner(snap_compare: Any) -> None:
    app = CaseworkerApp(
        fixed_hub(caseworker_routes(), down=True),
        texts=Texts("en"),
        clock=fixed_clock,
        refresh_seconds=SLOW,
        retry_seconds=SLOW,
    )
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def region_monitor() -> MonitorApp:
    return MonitorApp(
        fixed_hub(region_routes()), texts=Texts("da"), clock=fixed_clock, refresh_seconds=SLOW
    )


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor_region_scrolled(snap_compare: Any, size: tuple[int, int]) -> None:
    """The pilot region's 26 organisations, scrolled to the last (never polled)."""
    keys = by_keys(("down",) * 15)
    assert snap_compare(region_monitor(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_monitor_region_filtered(snap_compare: Any, size: tuple[int, int]) -> None:
    """``/ aalborg``: the organisations whose name says Aalborg."""
    keys = by_keys(("slash", *"aalborg"))
    assert snap_compare(region_monitor(), terminal_size=size, run_before=keys)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_my_children(snap_compare: Any, size: tuple[int, int]) -> None:
    """``m`` after reading the GP's letter about the child (its name is known now) and
    looking the child up (a recent lookup)."""
    app = CaseworkerApp(
        fixed_hub(caseworker_routes() | my_children_routes()),
        texts=Texts("da"),
        clock=fixed_clock,
        refresh_seconds=SLOW,
    )
    keys = by_keys(("i",), ("enter",), ("escape",), ("escape",), CHILD_KEYS, ("m",))
    assert snap_compare(app, terminal_size=size, run_before=keys)
