"""XDIS91 correspondence: build a :class:`Correspondence` into OIOXML and read it back.

:func:`new_correspondence` is how Samspil itself writes a letter: it fills in identifiers
and times, refuses a CPR with an impossible date and checks MedCom's limits (subject ≤ 70
characters, ≤ 10 text blocks, 31,150 characters of text).
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from messages.errors import IdentifierError, MessageError
from messages.identifiers import new_message_id, parse_cpr
from messages.medcom.model import (
    AckCode,
    BinaryReference,
    Correspondence,
    Envelope,
    LetterStatus,
    MessageType,
    Party,
    Patient,
    Priority,
    Reference,
)
from messages.medcom.parts import (
    read_letter_start,
    read_patient,
    write_binary_description,
    write_letter_start,
    write_patient,
)
from messages.medcom.text import FormattedText, from_plain, read_text, to_plain, write_text
from messages.medcom.xmlcodec import NS_XDIS91, Builder, Reader, local_minute, serialize

__all__ = [
    "MAX_TEXT_CHARS",
    "build_correspondence",
    "correspondence_to_element",
    "new_correspondence",
    "read_correspondence",
    "replied_to",
    "reply_reference",
]

MAX_TEXT_CHARS = 31_150
MAX_BLOCKS = 10
_B = Builder(NS_XDIS91)


def correspondence_to_element(letter: Correspondence) -> etree._Element:
    root, mail, head = write_letter_start(
        _B, letter, "ClinicalEmail", message_type=MessageType.XDIS91, status=letter.status.value
    )
    _B.opt(head, "EpisodeOfCareIdentifier", letter.episode_of_care_identifier)
    write_patient(_B, mail, letter.patient, full=True)
    if letter.priority is not None or letter.subject is not None or letter.additional_information:
        info = _B.el(mail, "AdditionalInformation")
        _B.opt(info, "Priority", letter.priority.value if letter.priority else None)
        _B.opt(info, "Subject", letter.subject)
    for block in letter.clinical_information:
        holder = _B.el(mail, "ClinicalInformation")
        write_text(_B.el(holder, "Text01"), block, NS_XDIS91)
    for ref in letter.references:
        _write_reference(mail, ref)
    return root


def _write_reference(parent: etree._Element, ref: Reference) -> None:
    holder = _B.el(parent, "Reference")
    _B.el(holder, "RefDescription", ref.description)
    if ref.url is not None:
        _B.el(holder, "URL", ref.url)
    elif ref.binary is not None:
        write_binary_description(_B, _B.el(holder, "BIN"), ref.binary)
    else:
        _B.el(holder, "SUP", "true")


def build_correspondence(letter: Correspondence, *, encoding: str = "ISO-8859-1") -> bytes:
    """The letter as OIOXML bytes (ISO-8859-1 by default, as MedCom receivers expect)."""
    return serialize(correspondence_to_element(letter), encoding)


def read_correspondence(root: etree._Element) -> Correspondence:
    """Read a schema-valid XDIS91 ``Emessage`` element."""
    r = Reader(root, NS_XDIS91)
    mail = r.child("ClinicalEmail")
    head = mail.child("Letter")
    info = mail.maybe("AdditionalInformation")
    priority = info.opt("Priority") if info else None
    subject = info.opt("Subject") if info else None
    return Correspondence(
        **read_letter_start(r, mail),
        status=LetterStatus(head.text("StatusCode")),
        episode_of_care_identifier=head.opt("EpisodeOfCareIdentifier"),
        patient=read_patient(mail.child("Patient")),
        priority=Priority(priority) if priority else None,
        subject=subject,
        additional_information=info is not None and priority is None and subject is None,
        clinical_information=tuple(
            read_text(block.child("Text01").element) for block in mail.all("ClinicalInformation")
        ),
        references=tuple(_read_reference(ref) for ref in mail.all("Reference")),
    )


def _read_reference(r: Reader) -> Reference:
    binary = r.maybe("BIN")
    return Reference(
        description=r.text("RefDescription"),
        url=r.opt("URL"),
        sup=r.maybe("SUP") is not None,
        binary=None
        if binary is None
        else BinaryReference(
            object_identifier=binary.text("ObjectIdentifier"),
            object_code=binary.text("ObjectCode"),
            extension_code=binary.text("ObjectExtensionCode"),
            original_size=int(binary.text("OriginalObjectSize")),
        ),
    )


def new_correspondence(
    *,
    sender: Party,
    receiver: Party,
    patient: Patient,
    subject: str,
    text: str | FormattedText | list[FormattedText],
    priority: Priority = Priority.ROUTINE,
    ask_for_receipt: bool = False,
    episode_of_care_identifier: str | None = None,
    references: tuple[Reference, ...] = (),
    status: LetterStatus = LetterStatus.NEW,
    now: datetime | None = None,
) -> Correspondence:
    """A new letter written by Samspil, with fresh envelope and letter identifiers.

    Raises :class:`IdentifierError` for a CPR with an impossible date and
    :class:`MessageError` (code ``letter-too-long`` / ``invalid-subject``) over MedCom's limits.
    """
    if patient.cpr is not None:
        parse_cpr(patient.cpr)  # strict where Samspil takes a CPR in
    elif not patient.alternative_identifier:
        raise IdentifierError("a letter needs the child's CPR number", kind="cpr")
    if not subject or len(subject) > 70:
        raise MessageError("a subject is 1 to 70 characters", code="invalid-subject")
    if isinstance(text, str):
        blocks: list[FormattedText] = [from_plain(text)]
    elif isinstance(text, list):
        blocks = text
    else:
        blocks = [text]
    if len(blocks) > MAX_BLOCKS:
        raise MessageError("a letter holds at most 10 text blocks", code="letter-too-long")
    length = sum(len(to_plain(block)) for block in blocks)
    if length > MAX_TEXT_CHARS:
        raise MessageError(
            f"the letter's text is {length:,} characters; MedCom's limit is {MAX_TEXT_CHARS:,}",
            code="letter-too-long",
        )
    moment = local_minute(now or datetime.now(UTC))
    return Correspondence(
        envelope=Envelope(
            identifier=new_message_id(),
            sent=moment,
            ack_code=AckCode.POSITIVE if ask_for_receipt else AckCode.NONE,
        ),
        letter_identifier=new_message_id(),
        authorised=moment,
        status=status,
        episode_of_care_identifier=episode_of_care_identifier,
        sender=sender,
        receiver=receiver,
        patient=patient,
        priority=priority,
        subject=subject,
        clinical_information=tuple(b for b in blocks if b),
        references=references,
    )


REPLY_URN = "urn:samspil:letter:"


def reply_reference(letter_identifier: str) -> Reference:
    """The ``Reference`` that marks a letter as a reply to ``letter_identifier``.

    XDIS91 has no in-reply-to element; Samspil threads replies by the episode-of-care
    identifier and this reference (``URL`` = ``urn:samspil:letter:<id>``), which any MedCom
    receiver shows as an ordinary reference.
    """
    return Reference(
        description=f"Svar på brev {letter_identifier}", url=REPLY_URN + letter_identifier
    )


def replied_to(letter: Correspondence) -> str | None:
    """The letter identifier this letter answers, if it is a Samspil reply."""
    for ref in letter.references:
        if ref.url and ref.url.startswith(REPLY_URN):
            return ref.url[len(REPLY_URN) :]
    return None
