""" "Mine børn" against a real hub: the organisation's children with their partners and
unread letters, the newest activity first; Enter opens a child's overview; the person's
recent lookups, kept in memory for the session only; a name where a letter read named the
child."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from tests.tui.conftest import CHILD, OTHER_CHILD, TuiHub, screen_text, until
from tests.tui.test_caseworker import app_for, gp_posts, letter_from_gp, look_up, open_letter
from tui.caseworker_app import CaseworkerApp
from tui.screens.child import ChildScreen
from tui.screens.formatting import show_cpr
from tui.screens.help import HelpScreen
from tui.screens.inbox import InboxScreen
from tui.screens.lookups import RecentLookups
from tui.screens.my_children import MyChildrenScreen


async def ppr_case(hub: TuiHub, cpr: str, ref: str = "ppr-2") -> None:
    await hub.call(
        "ppr",
        "PUT",
        f"/v1/cases/{ref}",
        json={
            "child_cpr": cpr,
            "kind": "ppr-counselling",
            "status": "active",
            "opened_on": "2026-11-02",
            "contact": {"name": "Pia Psykolog", "role": "psykolog"},
        },
    )


async def letter_about(hub: TuiHub, cpr: str) -> None:
    letter = letter_from_gp("Henvisning: Mads J.", "Kære PPR\nMads sover dårligt.", cpr=cpr)
    await gp_posts(hub, letter)


async def open_mine(pilot: Any, app: CaseworkerApp) -> MyChildrenScreen:
    await until(pilot, lambda: bool(app.org_name) and isinstance(app.screen, ChildScreen))
    app.screen.query_one("#body").focus()  # letters are keys outside the CPR field
    await pilot.press("m")
    await until(pilot, lambda: isinstance(app.screen, MyChildrenScreen))
    screen = app.screen
    assert isinstance(screen, MyChildrenScreen)
    return screen


def rows(screen: MyChildrenScreen, table: str = "#mine") -> list[list[str]]:
    found = screen.query_one(table, DataTable)
    return [[str(cell) for cell in found.get_row_at(i)] for i in range(found.row_count)]


async def test_my_children_with_partners_and_letters_open_a_child(tui_hub: TuiHub) -> None:
    # seeded: PPR's case for CHILD, then the child psychiatry's (PPR was told: one partner)
    await ppr_case(tui_hub, OTHER_CHILD)
    await letter_about(tui_hub, CHILD)  # the newest activity: CHILD first
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_mine(pilot, app)
        await until(pilot, lambda: len(rows(screen)) == 2)
        first, second = rows(screen)
        assert first[0] == show_cpr(CHILD)
        assert (first[2], first[3], first[4]) == ("PPR-vurdering", "✚ 1", "✉ 1")
        assert second[0] == show_cpr(OTHER_CHILD)
        assert (second[2], second[3], second[4]) == ("PPR-rådgivning", "", "")
        text = screen_text(app)
        assert "2 børn med aktivt forløb · side 1 af 1" in text
        assert "ingen endnu" in text  # no lookups yet
        assert "Børne- og Ungdomspsyk." not in text  # a count of what was told: no names

        await pilot.press("escape", "question_mark", "m")  # not over a dialog: help stays
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        screen = await open_mine(pilot, app)
        await until(pilot, lambda: len(rows(screen)) == 2)
        await pilot.press("down", "enter")  # OTHER_CHILD's overview
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await until(pilot, lambda: f"Barn {show_cpr(OTHER_CHILD)}" in screen_text(app))
        assert isinstance(app.screen, ChildScreen)
        assert app.screen.cpr == OTHER_CHILD

        screen = await open_mine(pilot, app)  # the lookup is remembered, newest first
        await until(pilot, lambda: len(rows(screen, "#recent")) == 1)
        assert rows(screen, "#recent")[0][0] == show_cpr(OTHER_CHILD)
        await pilot.press("tab", "enter")  # open it again from the recent lookups
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await until(pilot, lambda: f"Barn {show_cpr(OTHER_CHILD)}" in screen_text(app))


async def test_a_name_once_a_letter_named_the_child(tui_hub: TuiHub) -> None:
    await letter_about(tui_hub, CHILD)
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_mine(pilot, app)
        await until(pilot, lambda: len(rows(screen)) == 1)
        assert rows(screen)[0][1] == ""  # the hub holds no names
        await pilot.press("escape", "i")
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        await until(pilot, lambda: "Henvisning: Mads J." in screen_text(app))
        await open_letter(pilot, app, "Mads sover dårligt.")
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, MyChildrenScreen))
        mine = app.screen
        assert isinstance(mine, MyChildrenScreen)
        await until(pilot, lambda: len(rows(mine)) == 1 and rows(mine)[0][1] == "Mads Jensen")
        # reading it made it no longer unread
        await until(pilot, lambda: rows(mine)[0][4] == "")


async def test_recent_lookups_stay_in_memory_only(
    tui_hub: TuiHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    app = app_for(tui_hub)
    async with app.run_test(size=(100, 30)) as pilot:
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: len(app.recent) == 1)
        await look_up(pilot, app, OTHER_CHILD)  # no active case: not a lookup to keep
        await until(pilot, lambda: "Ingen aktiv sag" in screen_text(app))
        assert [x.cpr for x in app.recent.newest_first()] == [CHILD]
    assert list(home.rglob("*")) == []  # nothing about the children written anywhere


def test_recent_lookups_keep_the_newest_ten_once_each() -> None:
    recent = RecentLookups()
    at = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)
    for n in range(12):
        recent.note(f"01011{n:05d}", at)
    recent.note("0101100003", at)
    kept = [x.cpr for x in recent.newest_first()]
    assert len(kept) == 10
    assert kept[0] == "0101100003"
    assert kept.count("0101100003") == 1
    assert "0101100000" not in kept  # the oldest are forgotten
