"""The GP adapter: a clinic system's HL7 v2 feed and MedCom file drop.

* ``REF^I12`` — the referral becomes an XDIS91 letter from the clinic to the receiver named
  in the referred-to ``PRD`` (PPR or child psychiatry), asking for a positive receipt; a
  clinic that speaks MedCom FHIR at the hub sends it as a CareCommunication
  (:mod:`adapters.letterform`). When
  the GP asks the receiver to take the case on (``RF1-4`` = ``AM``), the clinic's own
  ``gp-follow-up`` case for the child is registered in the index under the referral id, so
  the GP is a visible partner — the receiver's case is the receiver's to open (the hub marks
  the letter ``suggested_case`` for it). The referral's reason travels in the letter only,
  never to the index.
* ``SIU^S12``..``S15`` and ``ADT^A04``/``A03`` — see :mod:`adapters.hl7feed`.
* Letters and receipts to and from the clinic: :mod:`adapters.filedrop`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from adapters.base import NAME_MAX
from adapters.hl7feed import Hl7Adapter, local_date
from adapters.outbox import Item, ItemKind, ItemState, Request
from messages.errors import Hl7Error, MessageError
from messages.hl7.model import Referral, ReferralPriority
from messages.hl7.parse import Hl7Message
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import Party, Patient, Priority
from wire.errors import HubRefused

__all__ = ["GpAdapter"]

_PRIORITY_TEXT = {
    ReferralPriority.STAT: "akut",
    ReferralPriority.URGENT: "hurtigst muligt",
    ReferralPriority.ROUTINE: "rutine",
}


class GpAdapter(Hl7Adapter):
    kind: ClassVar[str] = "gp"
    default_case_kind: ClassVar[str] = "gp-follow-up"
    accepts_referrals: ClassVar[bool] = True

    async def referral_requests(self, referral: Referral, msg: Hl7Message) -> list[Request]:
        gp = referral.referring_gp
        if gp.gln and gp.gln != self.config.gln:
            raise Hl7Error(
                "the referring GP's GLN (PRD-7) is not this clinic's",
                segment="PRD",
                code="sender-mismatch",
            )
        if referral.receiver.gln == self.config.gln:
            raise Hl7Error(
                "a referral cannot be addressed to the referring clinic itself",
                segment="PRD",
                code="invalid-receiver",
            )
        if not referral.referral_id:
            raise Hl7Error("RF1-6 (referral id) is required", segment="RF1", code="missing-field")
        lines = [
            f"Henvisning fra {gp.name} (ydernummer {gp.provider_number}).",
            f"Årsag: {referral.reason or 'ikke angivet'}",
            f"Prioritet: {_PRIORITY_TEXT[referral.priority]}",
        ]
        if referral.requests_case:
            lines.append("Henviser beder modtageren om at overtage forløbet.")
        try:
            letter = new_correspondence(
                sender=Party(
                    ean=self.config.gln,
                    identifier=gp.provider_number,
                    identifier_code="ydernummer",
                    organisation_name=self.config.name[:NAME_MAX],
                ),
                receiver=Party(
                    ean=referral.receiver.gln,
                    identifier=referral.receiver.gln,
                    identifier_code="lokationsnummer",
                    organisation_name=referral.receiver.name[:NAME_MAX] or None,
                ),
                patient=Patient(
                    surname=referral.child_name.family or "Ukendt",
                    given_name=referral.child_name.given or None,
                    cpr=referral.child_cpr.digits,
                ),
                subject=f"Henvisning {referral.referral_id}"[:70],
                text="\n".join(lines),
                priority=Priority.ROUTINE
                if referral.priority is ReferralPriority.ROUTINE
                else Priority.HIGH,
                ask_for_receipt=True,
            )
            body = build_message(letter)  # refuses what XML cannot carry (NUL in RF1-6...)
        except MessageError as exc:
            raise Hl7Error(f"cannot write the letter: {exc.message}", code=exc.code) from None
        # in the clinic's format at the hub: an XDIS91, or a CareCommunication made from it
        letter_request = self.written_letter_request(body, letter, f"hl7:{msg.event}")
        requests = [replace(letter_request, key=self._key(msg, "letter"))]
        if referral.requests_case:
            # sent after the letter (same order key), and only if the hub took the letter
            requests.append(
                replace(
                    self.case_upsert(
                        key=self._key(msg, "case"),
                        ref=referral.referral_id,
                        cpr=referral.child_cpr.digits,
                        status="active",
                        opened_on=local_date(referral.referred_at),
                        closed_on=None,
                        origin=f"hl7:{msg.event}",
                        title="Henvisning",
                    ),
                    order_key=requests[0].key,
                    depends_on=requests[0].key,
                )
            )
        return requests

    async def _prepare(self, item: Item) -> Item:
        if (
            item.kind is ItemKind.CASE
            and item.depends_on is not None
            and await self.outbox.state_of(item.depends_on) is ItemState.REFUSED
        ):
            raise HubRefused(
                "the referral's letter was refused, so no case is registered for it",
                code="referral-refused",
            )
        return await super()._prepare(item)
