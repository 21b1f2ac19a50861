"""XBIN01 binary letters (attachments that accompany an XDIS91): build and read."""

from __future__ import annotations

from lxml import etree

from messages.medcom.model import BinaryLetter, BinaryObject, MessageType
from messages.medcom.parts import (
    read_envelope,
    read_party,
    read_patient,
    write_binary_description,
    write_envelope,
    write_letter_head,
    write_party,
    write_patient,
)
from messages.medcom.xmlcodec import NS_XBIN01, Builder, Reader, serialize

__all__ = ["binary_letter_to_element", "build_binary_letter", "read_binary_letter"]

_B = Builder(NS_XBIN01)


def binary_letter_to_element(letter: BinaryLetter) -> etree._Element:
    root = _B.root("Emessage")
    write_envelope(_B, root, letter.envelope)
    body = _B.el(root, "BinaryLetter")
    write_letter_head(
        _B,
        body,
        message_type=MessageType.XBIN01,
        identifier=letter.letter_identifier,
        statistical_code=letter.statistical_code,
        authorised=letter.authorised,
        status="nytbrev",
    )
    write_party(_B, body, "Sender", letter.sender)
    write_party(_B, body, "Receiver", letter.receiver)
    if letter.patient is not None:
        write_patient(_B, body, letter.patient, full=False)
    else:
        _B.el(body, "SystemInformation", "true")
        _B.opt(body, "Contents", letter.contents)
    for obj in letter.objects:
        holder = _B.el(body, "BinaryObject")
        write_binary_description(_B, holder, obj)
        _B.el(holder, "Object_Base64Encoded", obj.base64)
    return root


def build_binary_letter(letter: BinaryLetter, *, encoding: str = "ISO-8859-1") -> bytes:
    return serialize(binary_letter_to_element(letter), encoding)


def read_binary_letter(root: etree._Element) -> BinaryLetter:
    """Read a schema-valid XBIN01 ``Emessage`` element."""
    r = Reader(root, NS_XBIN01)
    body = r.child("BinaryLetter")
    head = body.child("Letter")
    patient = body.maybe("Patient")
    return BinaryLetter(
        envelope=read_envelope(r),
        letter_identifier=head.text("Identifier"),
        authorised=head.moment("Authorisation"),
        statistical_code=head.text("StatisticalCode"),
        sender=read_party(body.child("Sender")),
        receiver=read_party(body.child("Receiver")),
        patient=read_patient(patient) if patient is not None else None,
        system_information=body.maybe("SystemInformation") is not None,
        contents=body.opt("Contents"),
        objects=tuple(
            BinaryObject(
                object_identifier=obj.text("ObjectIdentifier"),
                object_code=obj.text("ObjectCode"),
                extension_code=obj.text("ObjectExtensionCode"),
                original_size=int(obj.text("OriginalObjectSize")),
                base64=obj.text("Object_Base64Encoded"),
            )
            for obj in body.all("BinaryObject")
        ),
    )
