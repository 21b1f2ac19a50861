"""Dispute a consent another organisation attested: why, then a yes/no.

``POST /v1/children/{cpr}/consents/{id}/dispute`` with the reason (told to the organisation
that recorded the consent). From the next call the consent no longer opens this
organisation's data; it keeps opening the others'. :func:`may_dispute` says which consents
the hub takes a dispute of from the caller: attested (not signed by the consent service),
recorded by another organisation, covering the caller's data, in force, and not disputed by
it before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Static

from tui.screens.confirm import ConfirmScreen
from tui.screens.form import CaseworkerForm

__all__ = ["REASON_LENGTH", "DisputeForm", "may_dispute"]

REASON_LENGTH = 1000  # as the hub takes it (wire.index.ConsentDisputeIn)


def may_dispute(consent: Mapping[str, Any], *, org_gln: str, org_sector: str) -> bool:
    """Whether the organisation ``org_gln`` (of ``org_sector``) may dispute ``consent`` (an
    entry of the consent list)."""
    covers = org_sector in (consent.get("sectors") or []) or org_gln in (
        consent.get("organisations") or []
    )
    disputed = any(d.get("organisation") == org_gln for d in consent.get("disputes") or [])
    return (
        consent.get("verification") == "attested"
        and not consent.get("recorded_by_you")
        and not consent.get("revoked_at")
        and covers
        and not disputed
    )


class DisputeForm(CaseworkerForm):
    """Dismisses with True once the hub has the dispute, False when cancelled."""

    def __init__(self, cpr: str, consent: Mapping[str, Any]) -> None:
        super().__init__()
        self.cpr = cpr
        self.consent = consent

    def compose(self) -> ComposeResult:
        app = self.caseworker
        t = app.texts
        recorder = self.consent.get("recorded_by_org")
        with VerticalScroll(id="dialog"):
            yield Static(t("dispute.title"), classes="heading")
            yield Static(
                t("dispute.rule", org=app.org_label(recorder) if recorder else "?"),
                classes="rule",
            )
            yield Input(placeholder=t("dispute.reason"), max_length=REASON_LENGTH, id="reason")
            yield from self.footer()

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    def on_input_submitted(self, _: Input.Submitted) -> None:
        self.action_save()

    def action_save(self) -> None:
        reason = self.text_of("reason")
        if not reason:
            self.missing("dispute.reason")
            return
        t = self.caseworker.texts
        name = self.consent.get("given_by_name") or t("consents.name_withheld")

        def answer(yes: bool | None) -> None:
            if yes:
                client, consent_id = self.caseworker.client, str(self.consent["id"])
                self.submit(
                    "dispute-form", lambda: client.dispute_consent(self.cpr, consent_id, reason)
                )

        self.app.push_screen(
            ConfirmScreen(t("dispute.confirm", name=name), t("confirm.yes"), t("confirm.no")),
            answer,
        )
