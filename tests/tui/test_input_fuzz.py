"""The caseworker app's inputs fuzzed against a real hub: no string a caseworker can type
or paste crashes it.

Hypothesis generates strings — CPR-shaped ones (valid, impossible dates, wrong lengths,
dashes in odd places), Rich markup and ANSI escapes, right-to-left overrides, NUL and other
control characters, emoji, very long text — and types them into the child screen's CPR
field (then Enter) and into every field of the compose form (then Ctrl+S), through
Textual's pilot. After each example the app is still running, on the screen it should be
on, with no exception; what the hub got is a whole letter or nothing.
``SAMSPIL_FUZZ_EXAMPLES`` runs more examples (randomised above 100).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from textual.widgets import Input, Select, Static, TextArea

from tests.fuzzing import fuzz_settings
from tests.tui.conftest import BUP, CHILD, TuiHub, until
from tui.caseworker_app import CaseworkerApp
from tui.i18n import Texts
from tui.screens.child import ChildScreen
from tui.screens.compose import ComposeScreen
from tui.screens.formatting import cpr_problem
from tui.widgets.notice import Notice

FUZZ = fuzz_settings(25)

TRICKY = (
    CHILD,
    "120316-4321",
    "3113164321",  # no 31 November
    "1203164322",
    "12031643",
    "120316432112",
    "-1203164321",
    "12-03-16-4321",
    "１２０３１６４３２１",  # full-width digits
    "١٢٠٣١٦٤٣٢١",  # Arabic-Indic digits
    "[bold]fed[/bold]",
    "[link=http://x]x[/link]",
    "[/]",
    "[",
    "\x1b[31mrød\x1b[0m",
    "\u202eevil",
    "zero\u200bwidth",
    "\x00",
    "\t\r\n",
    "🙂" * 40,
    "Æ" * 5_000,
    "",
    " ",
)
STRINGS = st.sampled_from(TRICKY) | st.text(st.characters(codec="utf-8"), max_size=80)


async def _examples(
    body: Callable[..., Coroutine[Any, Any, None]], **strategies: st.SearchStrategy[Any]
) -> None:
    """Hypothesis in a worker thread; each example a coroutine on this (the app's) loop."""
    loop = asyncio.get_running_loop()

    @FUZZ
    @given(**strategies)
    def run(**drawn: Any) -> None:
        asyncio.run_coroutine_threadsafe(body(**drawn), loop).result(timeout=60)

    await asyncio.to_thread(run)


def _shown(widget: Static) -> str:
    return str(widget.render()).strip()


def assert_alive(app: CaseworkerApp) -> None:
    assert app.is_running
    assert app._exception is None  # Textual keeps a crash here until exit


async def _letters(hub: TuiHub, who: str) -> int:
    inbox = await hub.call(who, "GET", "/v1/inbox?limit=1000")
    return len(inbox["messages"])


async def test_any_string_in_the_cpr_field_is_answered_not_crashed(tui_hub: TuiHub) -> None:
    app = CaseworkerApp(tui_hub.client("pia"), texts=Texts("da"), refresh_seconds=5)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ChildScreen) and bool(app.org_name))
        screen = app.screen

        overview = screen.query_one("#overview", Static)
        notice = screen.query_one(Notice)

        async def one(typed: str) -> None:
            field = screen.query_one("#cpr", Input)
            field.value = ""
            overview.update("")
            notice.tell("")
            field.focus()
            field.insert_text_at_cursor(typed)
            await pilot.pause()
            held = field.value  # what the field took of it (it holds at most a CPR's length)
            await pilot.press("enter")
            if cpr_problem(held.strip()):  # the reason, in one line under the field
                await until(pilot, lambda: notice.has_class("error") and bool(_shown(notice)))
                assert not _shown(overview)
            else:  # a real CPR: the hub's answer (an overview, or why none may be shown)
                await until(pilot, lambda: bool(_shown(overview)))
            assert_alive(app)
            assert app.screen is screen

        await _examples(one, typed=STRINGS)
        # still serving: a real child's overview comes up
        await one(CHILD)
        await until(pilot, lambda: "PPR" in str(screen.query_one("#overview").render()))
        assert_alive(app)


async def test_any_strings_in_the_compose_form_are_sent_or_refused(tui_hub: TuiHub) -> None:
    app = CaseworkerApp(tui_hub.client("pia"), texts=Texts("da"), refresh_seconds=5)
    sent = 0
    refused: list[str] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name) and bool(app.directory))

        async def one(cpr: str, surname: str, subject: str, text: str, pick: bool) -> None:
            nonlocal sent
            if not isinstance(app.screen, ComposeScreen):
                await pilot.press("n")
                await until(pilot, lambda: isinstance(app.screen, ComposeScreen))
            screen = app.screen
            receiver = screen.query_one("#receiver", Select)
            if pick:
                receiver.value = BUP
            else:
                receiver.clear()
            for name, value in (("#cpr", cpr), ("#surname", surname), ("#subject", subject)):
                field = screen.query_one(name, Input)
                field.value = ""
                field.focus()
                field.insert_text_at_cursor(value)
            area = screen.query_one("#text", TextArea)
            area.clear()
            area.insert(text)
            notice = screen.query_one(Notice)
            notice.tell("")
            await pilot.pause()
            await pilot.press("ctrl+s")
            await until(
                pilot,
                lambda: (
                    not isinstance(app.screen, ComposeScreen) or bool(str(notice.render()).strip())
                ),
            )
            assert_alive(app)
            if not isinstance(app.screen, ComposeScreen):  # sent: back where it was opened
                sent += 1
                assert isinstance(app.screen, ChildScreen)
            else:
                refused.append(str(notice.render()))

        await _examples(
            one,
            cpr=st.sampled_from((CHILD, "120316-4321")) | STRINGS,
            surname=STRINGS,
            subject=STRINGS,
            text=STRINGS,
            pick=st.booleans(),
        )
        assert_alive(app)
    assert sent, "no example got through: the fuzzing did not reach the hub"
    assert refused, "no example was refused"
    # every letter the form said it sent is at the hub, whole
    assert await _letters(tui_hub, "bup") == sent
