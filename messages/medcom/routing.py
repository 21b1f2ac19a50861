"""What the hub needs to route a message, read fast from the bytes it was given.

:func:`read_routing` is the hub's hot path: one hardened parse, one compiled-schema
validation, then a handful of ``find`` calls — no full model is built. The hub stores the
original bytes untouched and routes on the :class:`Routing` it gets back.

:func:`read_letter` is the same read plus the :class:`LetterFacts` the hub keeps beside a
letter for the receiver's inbox: the subject, and whom it is about (the child's CPR). They
are kept apart from :class:`Routing`, which holds no CPR and whose fields are logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import NamedTuple

from lxml import etree

from messages.errors import RefuseCode, SchemaError
from messages.identifiers import cpr_warning, gln_warning
from messages.medcom.correspondence import REPLY_URN
from messages.medcom.model import MessageType
from messages.medcom.receipts import ROOT_ELEMENTS
from messages.medcom.registry import SchemaRegistry
from messages.medcom.xmlcodec import NS_XBIN01, NS_XCTL, NS_XDIS91
from messages.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = [
    "NO_LETTER_FACTS",
    "LetterFacts",
    "OriginalRef",
    "Routing",
    "letter_facts_of",
    "read_letter",
    "read_routing",
    "routing_of",
]


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
    additional: str
    subject: str
    reference: str
    url: str
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
            additional=q + "AdditionalInformation",
            subject=q + "Subject",
            reference=q + "Reference",
            url=q + "URL",
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


class OriginalRef(NamedTuple):
    """What a receipt refers to."""

    envelope_identifier: str
    sender_gln: str  # the original letter's sender (= the receipt's receiver)
    receiver_gln: str
    letter_identifiers: tuple[str, ...]
    refuse_code: RefuseCode | None


class Routing(NamedTuple):
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


@dataclass(frozen=True, slots=True)
class LetterFacts:
    """What the receiver's inbox shows of an XDIS91 beyond its routing, and whom it is about.

    ``patient_cpr`` is set only for a real CPR number (not an ``AlternativeIdentifier``, not a
    carried CPR without a real date): the index can hold a case for it. Neither it nor the
    subject is in ``repr``, so no traceback or log line can carry the CPR or the subject.
    ``in_reply_to`` is the letter identifier a Samspil reply answers (the first ``Reference``
    whose ``URL`` is ``urn:samspil:letter:<id>``, with an identifier of 1-14 characters, as
    ``Letter/Identifier`` has), for threading the inbox.
    """

    patient_cpr: str | None = field(default=None, repr=False)
    subject: str | None = field(default=None, repr=False)  # AdditionalInformation/Subject
    in_reply_to: str | None = None


NO_LETTER_FACTS = LetterFacts()
"""The facts of a receipt or an XBIN01: none."""


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


def read_letter(
    data: bytes, *, registry: SchemaRegistry, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[Routing, LetterFacts]:
    """:func:`read_routing` and :func:`letter_facts_of` from one parse and one validation."""
    root = parse_xml(data, max_bytes=max_bytes)
    kind = registry.validate(root)
    return routing_of(root, kind), letter_facts_of(root, kind)


def letter_facts_of(root: etree._Element, kind: MessageType) -> LetterFacts:
    """The :class:`LetterFacts` of an ``Emessage`` that :meth:`SchemaRegistry.validate`
    accepted as ``kind`` (:data:`NO_LETTER_FACTS` for anything but an XDIS91), read by
    position as :func:`routing_of` reads its facts."""
    if kind is not MessageType.XDIS91:
        return NO_LETTER_FACTS
    try:
        return _read_letter_facts(root, _TAGS[kind])
    except (IndexError, KeyError, ValueError) as exc:
        raise SchemaError(
            f"the {kind} does not have the structure MedCom's schema gives it"
        ) from exc


def _read_letter_facts(root: etree._Element, t: _Tags) -> LetterFacts:
    body = root[1]
    patient = body[3]
    if body.tag != t.body or patient.tag != t.patient:
        raise KeyError("ClinicalEmail/Patient")
    cpr: str | None = None
    if patient[0].tag == t.cpr:  # else an AlternativeIdentifier: no CPR to offer a case for
        cpr = _text(patient[0])
        if not cpr or cpr_warning(cpr) is not None:
            cpr = None
    subject: str | None = None
    if len(body) > 4 and body[4].tag == t.additional and len(body[4]):
        last = body[4][-1]  # Subject follows the optional Priority
        if last.tag == t.subject:
            subject = _text(last) or None
    return LetterFacts(patient_cpr=cpr, subject=subject, in_reply_to=_replied_to(body, t))


MAX_LETTER_IDENTIFIER = 14
"""``Letter/Identifier`` is 1-14 characters (``Text1to14``)."""


def _replied_to(body: etree._Element, t: _Tags) -> str | None:
    """The letter identifier of the first Samspil reply reference. The ``Reference``
    elements close the ``ClinicalEmail``, so they are read from its end."""
    answered: str | None = None
    for child in reversed(body):
        if child.tag != t.reference:
            break
        url = child[1]  # after RefDescription: URL, SUP or BIN
        if url.tag != t.url:
            continue
        text = _text(url)
        if text.startswith(REPLY_URN) and 0 < len(text) - len(REPLY_URN) <= MAX_LETTER_IDENTIFIER:
            answered = text[len(REPLY_URN) :]
    return answered


def _text(element: etree._Element | None) -> str:
    """The element's text exactly as carried (``xs:string`` preserves whitespace, and an
    identifier is compared as the sender wrote it)."""
    text = element.text if element is not None else None
    return text or ""


def routing_of(root: etree._Element, kind: MessageType) -> Routing:
    """The routing facts of an ``Emessage`` that :meth:`SchemaRegistry.validate` accepted
    as ``kind``.

    The schema fixes where each fact sits, and :func:`~messages.xmlsafe.parse_xml` drops
    comments and processing instructions, so the facts are read by position: the hub's
    hot path does no searching. A tree that was not validated is refused, not misread.
    """
    try:
        return _read_routing_facts(root, kind)
    except (IndexError, KeyError, ValueError) as exc:
        raise SchemaError(
            f"the {kind} does not have the structure MedCom's schema gives it"
        ) from exc


def _read_routing_facts(root: etree._Element, kind: MessageType) -> Routing:
    t = _TAGS[kind]
    envelope, body = root[0], root[1]
    if envelope.tag != t.envelope or body.tag != t.body:
        raise KeyError("Envelope/letter")
    letter = body[0]
    sender = _text(body[1][0])
    receiver = _text(body[2][0])
    warnings: list[str] = []
    original: OriginalRef | None = None
    episode: str | None = None
    if kind.is_receipt:
        orig = body[3]
        letters: list[str] = []
        code = ""
        for child in islice(orig, 3, None):
            if child.tag == t.original_letter:
                letters.append(_text(child[0]))
                if not code and len(child) > 2 and child[2].tag == t.refuse_code:
                    code = _text(child[2])
            elif child.tag == t.refuse_code:
                code = _text(child)
        original = OriginalRef(
            envelope_identifier=_text(orig[0]),
            sender_gln=_text(orig[1][0]),
            receiver_gln=_text(orig[2][0]),
            letter_identifiers=tuple(letters),
            refuse_code=RefuseCode(code) if code else None,
        )
    else:
        if len(letter) > 6:
            episode = _text(letter[6]) or None
        patient = body[3]
        if patient.tag == t.patient and patient[0].tag == t.cpr:
            cpr = _text(patient[0])
            if cpr and cpr_warning(cpr):
                warnings.append("the patient's CPR number has no real date part (carried as it is)")
    if sender and (problem := gln_warning(sender)):
        warnings.append(f"sender: {problem}")
    if receiver and (problem := gln_warning(receiver)):
        warnings.append(f"receiver: {problem}")
    return Routing(
        type=kind,
        envelope_identifier=_text(envelope[1]),
        letter_identifier=_text(letter[0]),
        sender_gln=sender,
        receiver_gln=receiver,
        ack_requested=envelope[2].text == "pluspositivkvitt",
        episode_of_care_identifier=episode,
        original=original,
        warnings=tuple(warnings),
    )
