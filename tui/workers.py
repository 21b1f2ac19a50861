"""Network work in Textual workers, and what becomes of the hub's refusals there.

Every worker of the apps is started by :func:`in_worker`, and every call to the hub goes
through :func:`through_hub`; between them no refusal is left to crash an app:

* no answer at all (:class:`~wire.errors.HubUnavailable` with status 0): :func:`through_hub`
  tells the app (:class:`HubLost`: the banner, ``/healthz`` retried) and returns None;
* the hub refuses the person's token (a 401), or refused it before and no new one has been
  given yet: :class:`SessionEnded` — no request is sent while the session is over;
* what the work does not handle itself — :class:`SessionEnded`, or any other
  :class:`~wire.errors.HubError` (a 4xx problem, a 429, a 5xx, an answer that cannot be
  read) — ends the worker quietly and reaches the app as :class:`WorkRefused`, with a way to
  run the work again: the app says it in one line on the screen, or asks for a new token and
  then runs the work again.

A screen that has its own words for a refusal (``no-active-case``, ``expired``) catches
:class:`~wire.errors.HubRefused` itself; everything else it may leave to the app.

``run_worker(coro())`` creates the coroutine at once; if the worker never starts (the screen
or app is closing), that coroutine is never awaited. Handing Textual the coroutine
*function* means nothing exists until the worker runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar, cast

from textual.css.query import NoMatches
from textual.dom import DOMNode
from textual.message import Message
from textual.screen import Screen

from wire.errors import CredentialRefused, HubError, HubUnavailable

__all__ = [
    "HubAnswered",
    "HubHost",
    "HubLost",
    "SessionEnded",
    "WorkRefused",
    "in_worker",
    "through_hub",
]

T = TypeVar("T")


class SessionEnded(Exception):
    """The hub refused the token of session ``session`` (``refusal``), or had refused it
    before and no new one has been given yet (``refusal`` None: the call was not made)."""

    def __init__(self, refusal: CredentialRefused | None, session: int) -> None:
        super().__init__(refusal.code if refusal is not None else "session-ended")
        self.refusal = refusal
        self.session = session


class HubLost(Message):
    """A call could not reach the hub."""


class HubAnswered(Message):
    """A call reached the hub (whatever it answered)."""


class WorkRefused(Message):
    """Work in a worker of ``node`` (in ``group``) met ``error`` and stopped; ``again()``
    starts it anew."""

    def __init__(
        self,
        error: HubError | SessionEnded,
        node: DOMNode,
        group: str,
        again: Callable[[], None],
    ) -> None:
        super().__init__()
        self.error = error
        self.node = node
        self.group = group
        self.again = again


class HubHost(Protocol):
    """The app, as :func:`through_hub` sees it: whether the session is over, and which
    session it is (a count of the tokens taken into use since the start)."""

    @property
    def session_ended(self) -> bool: ...

    @property
    def session(self) -> int: ...

    def post_message(self, message: Message) -> bool: ...


async def through_hub(app: HubHost, call: Callable[[], Awaitable[T]]) -> T | None:
    """``await call()``; None when the hub cannot be reached. Either way ``app`` is told.

    Raises :class:`SessionEnded` (without calling) while the session is over, or when the hub
    refuses the token; any other refusal as the client raised it.
    """
    session = app.session
    if app.session_ended:
        raise SessionEnded(None, session)
    try:
        result = await call()
    except HubError as exc:
        if isinstance(exc, HubUnavailable) and exc.status == 0:
            app.post_message(HubLost())
            return None
        app.post_message(HubAnswered())
        if isinstance(exc, CredentialRefused) and exc.status == 401:
            raise SessionEnded(exc, session) from None
        raise
    app.post_message(HubAnswered())
    return result


def _present(node: DOMNode) -> bool:
    """Whether ``node`` is still on screen: the app running, the node attached, and its
    screen still in the app's stack."""
    if not node.app.is_running or not node.is_attached:
        return False
    screen = node if isinstance(node, Screen) else getattr(node, "screen", None)
    return screen is None or screen in node.app.screen_stack


def in_worker(
    node: DOMNode,
    work: Callable[[], Awaitable[None]],
    group: str,
    *,
    again: Callable[[], None] | None = None,
) -> None:
    """Run ``work()`` in a worker of ``node`` in ``group``.

    ``work`` may be any callable that returns an awaitable (an async method, a partial, a
    lambda); it is called only when the worker runs. A refusal it does not handle is posted
    to the app as :class:`WorkRefused`; ``again`` is how to start the work anew (default:
    the same work in a new worker).
    """

    def restart() -> None:
        in_worker(node, work, group, again=again)

    async def run() -> None:
        try:
            await work()
        except (HubError, SessionEnded) as exc:
            node.app.post_message(WorkRefused(exc, node, group, again or restart))
        except NoMatches:
            if _present(node):
                raise
            # the screen (or the app) was closed while its answer was on the way: nothing
            # is left to draw it on

    # Textual's annotation names only ``Coroutine[None, None, T]``; a coroutine function is
    # what it runs.
    node.run_worker(cast(Any, run), group=group)
