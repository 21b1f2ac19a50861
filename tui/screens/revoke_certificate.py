"""Revoke one client certificate of an organisation (a lost or stolen one), by its serial
number: ``POST /v1/operator/organisations/{gln}/revoked-certificates``.

Every hub process refuses the certificate from its next request; the organisation's other
certificates and its tokens keep working. The hub reads the serial as ``openssl x509 -noout
-serial`` prints it (``0x``, colons and upper case are taken) and audits the revocation; a
refusal (a serial that is not hexadecimal, one revoked before) stays on the form.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui import problems
from tui.screens.base import MonitorRoom
from tui.widgets.notice import Notice
from wire.errors import HubRefused

__all__ = ["RevokeCertificateForm"]

SERIAL_MAX = 200
REASON_MAX = 500


class RevokeCertificateForm(ModalScreen[str | None], MonitorRoom):
    """Dismisses with the serial the hub revoked (as it keeps it), or None when cancelled.
    Enter in the last field or ctrl+s revokes; escape cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", show=False),
        Binding("escape", "cancel", show=False),
    ]

    def __init__(self, gln: str, name: str) -> None:
        super().__init__()
        self.gln = gln
        self.org_name = name

    def compose(self) -> ComposeResult:
        t = self.monitor.texts
        with Vertical(id="dialog"):
            yield Static(t("mon.cert_title", org=self.org_name), classes="heading")
            yield Static(t("mon.cert_rule"), classes="rule")
            yield Input(placeholder=t("mon.cert_serial"), max_length=SERIAL_MAX, id="serial")
            yield Input(placeholder=t("mon.cert_reason"), max_length=REASON_MAX, id="reason")
            yield Notice(id="form-notice")
            yield Static(t("mon.cert_keys"), classes="keys")

    def on_mount(self) -> None:
        self.query_one("#serial", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "serial":
            self.query_one("#reason", Input).focus()
        else:
            self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        serial = self.query_one("#serial", Input).value.strip()
        reason = self.query_one("#reason", Input).value.strip() or None
        if not serial:
            self.query_one("#form-notice", Notice).tell(
                "✖ " + self.monitor.texts("mon.cert_serial"), error=True
            )
            self.query_one("#serial", Input).focus()
            return
        self.start("revoke-certificate", lambda: self._revoke(serial, reason))

    async def _revoke(self, serial: str, reason: str | None) -> None:
        client = self.monitor.client
        try:
            revoked = await self.hub(lambda: client.revoke_certificate(self.gln, serial, reason))
        except HubRefused as exc:
            self.query_one("#form-notice", Notice).tell(
                problems.notice(self.monitor.texts, exc), error=True
            )
            return
        if revoked is not None:
            self.dismiss(str(revoked.get("serial", serial)))
