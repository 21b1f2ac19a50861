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
from messages.medcom.model import MessageType
from messages.medcom.receipts import ROOT_ELEMENTS
from messages.medcom.registry import SchemaRegistry
from messages.medcom.xmlcodec import NS_XBIN01, NS_XCTL, NS_XDIS91
from messages.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["OriginalRef", "Routing", "read_routing", "routing_of"]


@dataclass(frozen=True, slots=True)
class _Tags:
    """The full ``{namespace}name`` tags routing reads, made once per message type."""

    envelope: str
    body: str
    letter: str
    identifier: str
    ack: str
    sender: str
    receiver: str
    ean: str
    episode: str
    patient: str
    cpr: str
    original: str
    original_envelope: str
    original_sender: str
    original_receiver: str
    original_letter: str
    original_letter_id: str
    refuse_code: str

    @classmethod
    def make(cls, ns: str, body: str) -> _Tags:
        q = "{" + ns + "}"
        return cls(
            envelope=q + "Envelope",
            body=q + body,
            letter=q + "Letter",
            identifier=q + "Identifier",
            ack=q + "AcknowledgementCode",
            sender=q + "Sender",
            receiver=q + "Receiver",
            ean=q + "EANIdentifier",
            episode=q + "EpisodeOfCareIdentifier",
            patient=q + "Patient",
            cpr=q + "CivilRegistrationNumber",
            original=q + "OriginalEmessage",
            original_envelope=q + "OriginalEnvelopeIdentifier",
            original_sender=q + "OriginalSender",
            original_receiver=q + "OriginalReceiver",
            original_letter=q + "OriginalLetter",
            original_letter_id=q + "OriginalLetterIdentifier",
            refuse_code=q + "RefuseCode",
        )


_TAGS = {
    MessageType.XDIS91: _Tags.make(NS_XDIS91, "ClinicalEmail"),
    MessageType.XBIN01: _Tags.make(NS_XBIN01, "BinaryLetter"),
    **{kind: _Tags.make(NS_XCTL, name) for kind, name in ROOT_ELEMENTS.items()},
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


def _first(element: etree._Element | None, tag: str) -> etree._Element | None:
    """The first child of ``element`` with ``tag`` (a full ``{ns}name``), or None."""
    if element is not None:
        for child in element.iterchildren(tag):
            return child
    return None


def _at(element: etree._Element | None, index: int, tag: str) -> etree._Element | None:
    """The child with ``tag`` that a schema-valid document has at ``index``.

    Positional access is the fast path; comments or processing instructions (which the
    schema allows anywhere) shift positions, and then the child is searched for by tag.
    """
    if element is None:
        return None
    if index < len(element):
        child = element[index]
        if child.tag == tag:
            return child
    return _first(element, tag)


def _text(element: etree._Element | None) -> str:
    """The element's text exactly as carried (``xs:string`` preserves whitespace, and an
    identifier is compared as the sender wrote it)."""
    text = element.text if element is not None else None
    return text or ""


def routing_of(root: etree._Element, kind: MessageType) -> Routing:
    """The routing facts of a validated ``Emessage`` of type ``kind``."""
    t = _TAGS[kind]
    envelope = _at(root, 0, t.envelope)
    body = _at(root, 1, t.body)
    letter = _at(body, 0, t.letter)
    sender = _text(_at(_at(body, 1, t.sender), 0, t.ean))
    receiver = _text(_at(_at(body, 2, t.receiver), 0, t.ean))
    warnings: list[str] = []
    original: OriginalRef | None = None
    episode: str | None = None
    if kind.is_receipt:
        orig = _at(body, 3, t.original)
        letters = (
            tuple(
                _text(_at(e, 0, t.original_letter_id)) for e in orig.iterchildren(t.original_letter)
            )
            if orig is not None
            else ()
        )
        code = _text(_first(orig, t.refuse_code)) or _text(
            _first(_first(orig, t.original_letter), t.refuse_code)
        )
        original = OriginalRef(
            envelope_identifier=_text(_at(orig, 0, t.original_envelope)),
            sender_gln=_text(_at(_at(orig, 1, t.original_sender), 0, t.ean)),
            receiver_gln=_text(_at(_at(orig, 2, t.original_receiver), 0, t.ean)),
            letter_identifiers=letters,
            refuse_code=RefuseCode(code) if code else None,
        )
    else:
        episode = _text(_at(letter, 6, t.episode)) or None
        if kind is MessageType.XDIS91 or _first(body, t.patient) is not None:
            cpr = _text(_at(_at(body, 3, t.patient), 0, t.cpr))
            if cpr and cpr_warning(cpr):
                warnings.append("the patient's CPR number has no real date part (carried as it is)")
    if sender and (problem := gln_warning(sender)):
        warnings.append(f"sender: {problem}")
    if receiver and (problem := gln_warning(receiver)):
        warnings.append(f"receiver: {problem}")
    return Routing(
        type=kind,
        envelope_identifier=_text(_at(envelope, 1, t.identifier)),
        letter_identifier=_text(_at(letter, 0, t.identifier)),
        sender_gln=sender,
        receiver_gln=receiver,
        ack_requested=_text(_at(envelope, 2, t.ack)) == "pluspositivkvitt",
        episode_of_care_identifier=episode,
        original=original,
        warnings=tuple(warnings),
    )
