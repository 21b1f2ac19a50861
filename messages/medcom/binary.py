"""XBIN01 binary letters (attachments that accompany an XDIS91): build and read."""

from __future__ import annotations

from lxml import etree

from messages.medcom.model import BinaryLetter, BinaryObject, MessageType
from messages.medcom.parts import (
    read_letter_start,
    read_patient,
    write_binary_description,
    write_letter_start,
    write_patient,
)
from messages.medcom.xmlcodec import NS_XBIN01, Builder, Reader, serialize

__all__ = ["binary_letter_to_element", "build_binary_letter", "read_binary_letter"]

_B = Builder(NS_XBIN01)


def binary_letter_to_element(letter: BinaryLetter) -> etree._Element:
    root, body, _ = write_letter_start(
        _B, letter, "BinaryLetter", message_type=MessageType.XBIN01, status="nytbrev"
    )
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
    patient = body.maybe("Patient")
    return BinaryLetter(
        **read_letter_start(r, body),
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
