"""What the hub needs to route a message, read fast from the bytes it was given.

:func:`read_routing` is the hub's hot path: one hardened parse, one compiled-schema
validation, then a handful of ``find`` calls — no full model is built. The hub stores the
original bytes untouched and routes on the :class:`Routing` it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from messages.errors import RefuseCode
from messages.identifiers import cpr_warning, gln_warning
from messages.medcom.model import AckCode, MessageType
from messages.medcom.receipts import ROOT_ELEMENTS
from messages.medcom.registry import SchemaRegistry
from messages.medcom.xmlcodec import NS_XBIN01, NS_XCTL, NS_XDIS91
from messages.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["OriginalRef", "Routing", "read_routing", "routing_of"]

_BODY = {
    MessageType.XDIS91: (NS_XDIS91, "ClinicalEmail"),
    MessageType.XBIN01: (NS_XBIN01, "BinaryLetter"),
    **{kind: (NS_XCTL, name) for kind, name in ROOT_ELEMENTS.items()},
}


@dataclass(frozen=True, slots=True)
class OriginalRef:
    """What a receipt refers to."""

    envelope_identifier: str
    sender_gln: str  # the original letter's sender (= the receipt's receiver)
    receiver_gln: str
    letter_identifiers: tuple[str, ...]
    refuse_code: RefuseCode | None


@dataclass(frozen=True, slots=True)
class Routing:
    """The routing facts of one MedCom message. Holds no CPR and no letter text."""

    type: MessageType
    envelope_identifier: str
    letter_identifier: str
    sender_gln: str
    receiver_gln: str
    ack_requested: bool  # AcknowledgementCode == pluspositivkvitt
    episode_of_care_identifier: str | None
    original: OriginalRef | None  # set for XCTL01/02/03
    warnings: tuple[str, ...]  # oddities worth logging that do not stop transport


def read_routing(
    data: bytes, *, registry: SchemaRegistry, max_bytes: int = DEFAULT_MAX_BYTES
) -> Routing:
    """Parse, validate and read the routing facts of an OIOXML ``Emessage``.

    Raises a :class:`~messages.errors.MessageError` (with ``code`` and ``line``) for anything
    that is not a well-formed, valid MedCom message of a type Samspil carries.
    """
    root = parse_xml(data, max_bytes=max_bytes)
    kind = registry.validate(root)
    return routing_of(root, kind)


def _text(element: etree._Element | None, path: str) -> str:
    if element is None:
        return ""
    found = element.find(path)
    return "" if found is None or found.text is None else found.text.strip()


def routing_of(root: etree._Element, kind: MessageType) -> Routing:
    """The routing facts of a validated ``Emessage`` of type ``kind``."""
    ns, body_name = _BODY[kind]
    q = "{" + ns + "}"
    envelope = root.find(q + "Envelope")
    body = root.find(q + body_name)
    warnings: list[str] = []
    original: OriginalRef | None = None
    sender = _text(body, f"{q}Sender/{q}EANIdentifier")
    receiver = _text(body, f"{q}Receiver/{q}EANIdentifier")
    episode: str | None = None
    if kind.is_receipt:
        orig = body.find(q + "OriginalEmessage") if body is not None else None
        letters = (
            tuple(_text(e, q + "OriginalLetterIdentifier") for e in orig.iter(q + "OriginalLetter"))
            if orig is not None
            else ()
        )
        code = _text(orig, q + "RefuseCode") or _text(orig, f"{q}OriginalLetter/{q}RefuseCode")
        original = OriginalRef(
            envelope_identifier=_text(orig, q + "OriginalEnvelopeIdentifier"),
            sender_gln=_text(orig, f"{q}OriginalSender/{q}EANIdentifier"),
            receiver_gln=_text(orig, f"{q}OriginalReceiver/{q}EANIdentifier"),
            letter_identifiers=letters,
            refuse_code=RefuseCode(code) if code else None,
        )
    else:
        episode = _text(body, f"{q}Letter/{q}EpisodeOfCareIdentifier") or None
        cpr = _text(body, f"{q}Patient/{q}CivilRegistrationNumber")
        if cpr and cpr_warning(cpr):
            warnings.append("the patient's CPR number has no real date part (carried as it is)")
    for role, gln in (("sender", sender), ("receiver", receiver)):
        if gln and (problem := gln_warning(gln)):
            warnings.append(f"{role}: {problem}")
    return Routing(
        type=kind,
        envelope_identifier=_text(envelope, q + "Identifier"),
        letter_identifier=_text(body, f"{q}Letter/{q}Identifier"),
        sender_gln=sender,
        receiver_gln=receiver,
        ack_requested=_text(envelope, q + "AcknowledgementCode") == AckCode.POSITIVE.value,
        episode_of_care_identifier=episode,
        original=original,
        warnings=tuple(warnings),
    )
