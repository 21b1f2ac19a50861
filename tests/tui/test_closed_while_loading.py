"""A screen's load whose answer comes after the screen (or the app) was closed finds nothing
to draw on: it ends quietly, never as the app's internal error; on a screen still shown, a
missing widget is still a fault."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import WorkerFailed

from tui.workers import _present, in_worker


class _Shown(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Static("x", id="here")


async def test_a_screen_in_the_stack_is_present_and_a_closed_one_is_not() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        screen = _Shown()
        await app.push_screen(screen)
        await pilot.pause()
        assert _present(screen)
        assert _present(screen.query_one("#here"))
        app.pop_screen()
        await pilot.pause()
        assert not _present(screen)


async def _fault_on_a_shown_screen() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        screen = _Shown()
        await app.push_screen(screen)
        gate = asyncio.Event()

        async def load() -> None:
            await gate.wait()
            screen.query_one("#not-there")

        in_worker(screen, load, "load")
        await pilot.pause()
        gate.set()
        await pilot.pause()


async def test_a_missing_widget_on_a_shown_screen_is_still_a_fault() -> None:
    with pytest.raises(WorkerFailed, match="not-there"):  # the app ends with the fault
        await _fault_on_a_shown_screen()


async def test_a_load_answered_after_its_screen_closed_ends_quietly() -> None:
    app: App[None] = App()
    async with app.run_test() as pilot:
        screen = _Shown()
        await app.push_screen(screen)
        await pilot.pause()
        app.pop_screen()
        await pilot.pause()
        ran: list[str] = []

        async def load() -> None:  # its answer comes once the screen is gone
            ran.append("load")
            screen.query_one("#here")

        # as a load that was already past its last await when the screen went
        in_worker(screen, load, "load")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert ran == ["load"]
        assert app.is_running
