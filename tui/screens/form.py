"""What the caseworker's modal forms share: ctrl+s saves, escape cancels, a notice line for
what is missing or what the hub refused, and the one way a form hands its body to the hub.

A form composes its fields and then ``yield from self.footer()``; its ``action_save`` checks
the fields (:meth:`CaseworkerForm.text_of` reads one, :meth:`CaseworkerForm.missing` says
that one is not right) and hands the hub call to :meth:`CaseworkerForm.submit`. The form
dismisses with True once the hub has taken it, False when cancelled; a refusal stays on the
form, in the notice line.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.screens.base import CaseworkerRoom
from tui.widgets.notice import Notice

__all__ = ["CaseworkerForm"]


class CaseworkerForm(ModalScreen[bool], CaseworkerRoom):
    """A caseworker's modal form; see the module's docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", show=False),
        Binding("escape", "cancel", show=False),
    ]

    def footer(self) -> ComposeResult:
        """The notice line and the keys, below the form's fields."""
        t = self.caseworker.texts
        yield Notice(id="form-notice")
        yield Static(f"{t('form.save')}   {t('form.cancel')}", classes="keys")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def text_of(self, widget_id: str) -> str:
        """What the input ``widget_id`` holds, without surrounding blanks."""
        return self.query_one(f"#{widget_id}", Input).value.strip()

    def missing(self, label: str) -> None:
        """Say in the notice line that the field ``label`` (a text key) is missing or wrong."""
        self.query_one("#form-notice", Notice).tell("✖ " + self.caseworker.texts(label), error=True)

    def submit(self, group: str, call: Callable[[], Awaitable[object]]) -> None:
        """Send the form with ``call()`` in a worker of ``group``."""
        self.start(group, partial(self._submit, call))

    async def _submit(self, call: Callable[[], Awaitable[object]]) -> None:
        done = await self.hub(call)  # a refusal is said by the app in the form's notice line
        if done is not None:
            self.dismiss(True)
