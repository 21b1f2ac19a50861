"""A FHIR receiver's answer: the Acknowledgement of a CareCommunication it received (or
of a message known by its MessageHeader.id and parties: :class:`MessageRef`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from messages.fhir.model import (
    SOR_ENDPOINT,
    AckCode,
    Acknowledgement,
    CareCommunication,
    Organization,
    Provenance,
)

__all__ = ["MessageRef", "acknowledgement_for"]


def acknowledgement_for(
    message: CareCommunication | MessageRef,
    *,
    now: datetime,
    code: AckCode = AckCode.OK,
    details: str | None = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
    sent_at: datetime | None = None,
) -> Acknowledgement:
    """The Acknowledgement the receiver of ``message`` sends back (``details``: the reason
    of a negative one). ``sent_at``: when ``message`` was sent; given, the Acknowledgement
    also carries the ``new-message`` Provenance of ``message``, as one made by MedCom's
    conversion does (Flow4)."""
    header_id = str(new_id())
    sender = Organization(id=str(new_id()), sor=message.receiver.sor, gln=message.receiver.gln)
    receiver = Organization(id=str(new_id()), sor=message.sender.sor, gln=message.sender.gln)
    original = f"MessageHeader/{message.header_id}"
    bundle_id = str(new_id())
    provenances: list[Provenance] = []
    if sent_at is not None:
        provenances.append(
            Provenance(
                id=str(new_id()),
                target=original,
                activity="new-message",
                occurred=sent_at,
                recorded=sent_at,
                agent=f"Organization/{receiver.id}",
            )
        )
    provenances.append(
        Provenance(
            id=str(new_id()),
            target=f"MessageHeader/{header_id}",
            activity="acknowledgement",
            occurred=now,
            recorded=now,
            agent=f"Organization/{sender.id}",
            entity_references=(original,),
        )
    )
    return Acknowledgement(
        bundle_id=bundle_id,
        timestamp=now,
        header_id=header_id,
        response_identifier=message.header_id,
        code=code.value,
        sender=sender,
        receiver=receiver,
        source_endpoint=SOR_ENDPOINT + (sender.sor or ""),
        destination_endpoint=SOR_ENDPOINT + (receiver.sor or ""),
        details=details if code is not AckCode.OK else None,
        provenances=tuple(provenances),
    )


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message known by its MessageHeader.id and parties only (no bundle at hand)."""

    header_id: str
    sender: Organization
    receiver: Organization
