"""The apps against a real hub that says no: an expired token asks for a new one over the
current screen, a refused call is one line in Danish, and a fault in the app ends it with its
own exit status and one line — never a traceback with the token or the child's CPR number.

Tokens expire by the hub's own clock, turned forward (``TokenVerifier.now``); the rate limit
refuses by its own clock, held still (``RateLimiter.clock``). Nothing here waits on time."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta
from typing import Any

import pytest
from textual.widgets import Input

from coordinator.errors import TooManyRequests
from coordinator.security.auth import VERIFIER
from coordinator.security.credentials import add_user, local_actor
from coordinator.security.limits import RATE_LIMITER
from coordinator.sqltypes import utcnow
from coordinator.state import ENGINE
from coordinator.tables import Role
from tests.tui.conftest import BUP, CHILD, PPR, MakeTuiHub, TuiHub, screen_text, until
from tests.tui.test_caseworker import gp_sends, look_up, open_inbox
from tui.caseworker_app import CaseworkerApp
from tui.exits import ExitStatus
from tui.i18n import Texts
from tui.monitor_app import MonitorApp
from tui.screens.child import ChildScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.letter import LetterScreen
from tui.screens.monitor import MonitorScreen
from tui.screens.session import SessionScreen
from wire.client import HubClient

DASHED_CHILD = f"{CHILD[:6]}-{CHILD[6:]}"


async def user(
    hub: TuiHub, name: str, role: Role, *, hours: float | None = None, org: str = PPR
) -> str:
    """A new token for ``name`` at ``org``; it expires after ``hours`` (None: never)."""
    until_then = utcnow() + timedelta(hours=hours) if hours is not None else None
    return await add_user(
        actor=local_actor(),
        engine=hub.app[ENGINE],
        org_gln=org,
        name=name,
        role=role,
        expires_at=until_then,
    )


def client(hub: TuiHub, token: str) -> HubClient:
    made = HubClient(hub.base, token)
    hub.clients.append(made)  # closed with the hub
    return made


def hours_pass(hub: TuiHub, hours: float) -> None:
    """The hub's clock for tokens' expiry, turned ``hours`` forward."""
    hub.app[VERIFIER].now = lambda: utcnow() + timedelta(hours=hours)


async def type_token(pilot: Any, app: Any, token: str) -> None:
    await until(pilot, lambda: isinstance(app.screen, SessionScreen))
    await pilot.press(*token, "enter")


async def test_an_expired_token_asks_for_a_new_one_and_the_inbox_carries_on(
    make_tui_hub: MakeTuiHub,
) -> None:
    hub = await make_tui_hub()
    temporary = await user(hub, "Pia Psykolog", Role.CASEWORKER, hours=12)  # as the README says
    await gp_sends(hub, "Henvisning: Mads J.")
    app = CaseworkerApp(client(hub, temporary), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        inbox = await open_inbox(pilot, app, letters=1)
        hours_pass(hub, 13)
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        text = screen_text(app)
        assert "Sessionen er slut" in text
        assert "Dit token er udløbet." in text
        assert "expired" not in text  # never the hub's words
        assert app.session_ended
        field = app.screen.query_one("#token", Input)
        assert field.password  # masked

        await pilot.press(*"smp_ ikke et token", "enter")  # no header can carry it: not sent
        await until(pilot, lambda: "Det ligner ikke et token" in screen_text(app))
        assert isinstance(app.screen, SessionScreen)
        field.value = ""

        await gp_sends(hub, "Supplerende: Mads J.")  # arrives while the session is over
        lasting = await user(hub, "Pia Psykolog", Role.CASEWORKER)
        await type_token(pilot, app, lasting)
        await until(pilot, lambda: app.screen is inbox)  # the same screen, not a new one
        await until(pilot, lambda: len(inbox.inbox) == 2)  # the refused refresh ran again
        assert not app.session_ended
        assert "Supplerende: Mads J." in screen_text(app)
        assert not field.value  # the prompt keeps nothing
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))
        await pilot.press("q")
    assert app.return_code == ExitStatus.QUIT
    # while it asked, the refresh every 0.3 s sent nothing: the hub refused the old token
    # once (twice if a second call was already on its way), not at every refresh
    assert 1 <= await problems_counted(hub, "token-expired") <= 2


async def problems_counted(hub: TuiHub, code: str) -> int:
    """How many problems with ``code`` the hub has answered (its ``/metrics``)."""
    async with hub.session.get(hub.base + "/metrics") as response:
        metrics = await response.text()
    wanted = f'samspil_problems_total{{code="{code}"}} '
    return sum(int(line.split()[-1]) for line in metrics.splitlines() if line.startswith(wanted))


async def test_the_monitor_asks_too_and_takes_no_token_of_another_person(
    make_tui_hub: MakeTuiHub, capfd: pytest.CaptureFixture[str]
) -> None:
    hub = await make_tui_hub()
    operator = await user(hub, "Ole Operatør", Role.OPERATOR, hours=12)
    app = MonitorApp(client(hub, operator), texts=Texts("da"), refresh_seconds=0.3)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        monitor = app.screen
        assert isinstance(monitor, MonitorScreen)
        hours_pass(hub, 13)
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        # the screen is pushed before its text is drawn: wait for the text, not the push
        await until(pilot, lambda: "Dit token er udløbet." in screen_text(app))

        await type_token(pilot, app, hub.tokens["pia"])  # a caseworker's: someone else
        await until(pilot, lambda: "Tokenet er Pia Psykologs hos PPR Aalborg" in screen_text(app))
        assert isinstance(app.screen, SessionScreen)
        assert app.session_ended

        await pilot.press("escape")  # no new token: the app ends, saying why
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == ExitStatus.SESSION_ENDED
    told = capfd.readouterr()
    said = told.out + told.err
    assert "samspil: sessionen sluttede — Dit token er udløbet." in said
    for secret in ("smp_", "Bearer", operator):
        assert secret not in said


async def test_a_letter_the_hub_will_not_give_is_said_in_danish(tui_hub: TuiHub) -> None:
    # the letter is PPR's: the child psychiatry's caseworker may not fetch it
    for_ppr, _ = await gp_sends(tui_hub, "Henvisning: Mads J.")
    bo = await user(tui_hub, "Bo Overlæge", Role.CASEWORKER, org=BUP)
    app = CaseworkerApp(client(tui_hub, bo), texts=Texts("da"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name))
        await app.push_screen(LetterScreen(for_ppr, incoming=True))
        await until(pilot, lambda: "Findes ikke hos hubben" in screen_text(app))
        text = screen_text(app)
        assert "✖ Findes ikke hos hubben — eller er ikke jeres." in text
        assert "Mads" not in text  # nothing of the letter
        assert "not found" not in text.lower()  # not the hub's English
        assert isinstance(app.screen, LetterScreen)  # the app carries on
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ChildScreen))


async def test_the_overview_is_shown_when_the_count_of_views_is_refused(
    make_tui_hub: MakeTuiHub,
) -> None:
    hub = await make_tui_hub(rate_limit_per_second=1, rate_limit_burst=10)
    limiter = hub.app[RATE_LIMITER]
    now = [1000.0]
    limiter.clock = lambda: now[0]  # held still: the bucket refills only when turned
    app = CaseworkerApp(client(hub, hub.tokens["pia"]), texts=Texts("da"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: bool(app.org_name) and bool(app.directory))
        pia = (await hub.app[VERIFIER].verify(hub.tokens["pia"])).credential_id
        with contextlib.suppress(TooManyRequests):
            for _ in range(20):
                limiter.take(pia)  # Pia's bucket emptied ...
        now[0] += 1.0  # ... and one request's worth back: the overview, not the second call
        await look_up(pilot, app, CHILD)
        await until(pilot, lambda: "Forløb" in screen_text(app))
        await until(pilot, lambda: "for mange forespørgsler" in screen_text(app))
        text = screen_text(app)
        assert "✖ Hubben får for mange forespørgsler fra dig — prøv igen om 1 s." in text
        assert "PPR Aalborg" in text  # the overview itself
        assert "Set af andre: ? gange" in text  # not a made-up 0
        assert isinstance(app.screen, ChildScreen)


async def test_a_fault_in_a_worker_ends_the_app_with_one_line_and_no_secrets(
    tui_hub: TuiHub,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = tui_hub.tokens["pia"]

    def broken(self: ChildScreen, cpr: str, overview: Any, *_: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"}  # what a traceback's locals would show
        raise RuntimeError(f"cannot draw /v1/children/{cpr}/overview with {headers}")

    monkeypatch.setattr(ChildScreen, "render_overview", broken)
    app = CaseworkerApp(client(tui_hub, token), texts=Texts("da"))

    async def run_until_it_ends() -> None:
        async with app.run_test(size=(100, 30)) as pilot:
            await look_up(pilot, app, CHILD)
            await until(pilot, lambda: app.return_code is not None)

    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError):  # the pilot re-raises
        await run_until_it_ends()
    assert app.return_code == ExitStatus.INTERNAL_ERROR
    told = capfd.readouterr()
    said = told.out + told.err + caplog.text
    for secret in ("Bearer", "smp_", CHILD, DASHED_CHILD, "Traceback"):
        assert secret not in said, secret
    assert "samspil: afsluttet efter en intern fejl (RuntimeError in tui/screens/child.py:" in (
        told.err
    )
    assert "internal error: RuntimeError in tui/screens/child.py:" in caplog.text


async def test_an_operators_action_the_hub_refuses_is_said_on_the_monitor(tui_hub: TuiHub) -> None:
    sent, _ = await gp_sends(tui_hub, "Henvisning: Mads J.")  # waiting, not expired
    app = MonitorApp(client(tui_hub, tui_hub.tokens["operator"]), texts=Texts("da"))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: "Lægehuset Vestbyen" in screen_text(app))
        screen = app.screen
        assert isinstance(screen, MonitorScreen)
        await until(pilot, lambda: screen.selected == PPR and bool(screen.queue))
        await pilot.press("tab", "r")  # re-deliver a letter that has not expired
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("j")
        await until(pilot, lambda: "Kun et udløbet brev kan gensendes." in screen_text(app))
        assert screen.queue[0]["id"] == sent  # still there, unchanged
        assert app.screen is screen
