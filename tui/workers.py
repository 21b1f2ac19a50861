"""Starting network work in Textual workers without making a coroutine too early.

``run_worker(coro())`` creates the coroutine at once; if the worker never starts (the screen
or app is closing), that coroutine is never awaited. Handing Textual the coroutine
*function* means nothing exists until the worker runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from textual.dom import DOMNode

__all__ = ["in_worker"]


def in_worker(node: DOMNode, work: Callable[[], Awaitable[None]], group: str) -> None:
    """Run ``work()`` in a worker of ``node`` in ``group``.

    ``work`` may be any callable that returns an awaitable (an async method, a partial, a
    lambda); it is called only when the worker runs.
    """

    async def run() -> None:
        await work()

    # Textual's annotation names only ``Coroutine[None, None, T]``; a coroutine function is
    # what it runs.
    node.run_worker(cast(Any, run), group=group)
