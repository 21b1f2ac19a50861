"""A FHIR receiver's answer: the Acknowledgement of a CareCommunication it received."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from messages.fhir.model import (
    SOR_ENDPOINT,
    AckCode,
    Acknowledgement,
    CareCommunication,
    Organization,
    Provenance,
)

__all__ = ["acknowledgement_answering", "acknowledgement_for"]


def acknowledgement_for(
    message: CareCommunication,
    *,
    now: datetime,
    code: AckCode = AckCode.OK,
    details: str | None = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Acknowledgement:
    """The Acknowledgement the receiver of ``message`` sends back (``details``: the reason
    of a negative one)."""
    return acknowledgement_answering(
        message.header_id,
        sender=message.receiver,
        receiver=message.sender,
        now=now,
        code=code,
        details=details,
        new_id=new_id,
    )


def acknowledgement_answering(
    header_id: str,
    *,
    sender: Organization,
    receiver: Organization,
    now: datetime,
    code: AckCode = AckCode.OK,
    details: str | None = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> Acknowledgement:
    """The Acknowledgement ``sender`` (the organisation a message was for) sends
    ``receiver`` (the message's sender) for the message whose MessageHeader.id is
    ``header_id`` (``details``: the reason of a negative one)."""
    own_id = str(new_id())
    sender = Organization(id=str(new_id()), sor=sender.sor, gln=sender.gln)
    receiver = Organization(id=str(new_id()), sor=receiver.sor, gln=receiver.gln)
    original = f"MessageHeader/{header_id}"
    return Acknowledgement(
        bundle_id=str(new_id()),
        timestamp=now,
        header_id=own_id,
        response_identifier=header_id,
        code=code.value,
        sender=sender,
        receiver=receiver,
        source_endpoint=SOR_ENDPOINT + (sender.sor or ""),
        destination_endpoint=SOR_ENDPOINT + (receiver.sor or ""),
        details=details if code is not AckCode.OK else None,
        provenances=(
            Provenance(
                id=str(new_id()),
                target=f"MessageHeader/{own_id}",
                activity="acknowledgement",
                occurred=now,
                recorded=now,
                agent=f"Organization/{sender.id}",
                entity_references=(original,),
            ),
        ),
    )
