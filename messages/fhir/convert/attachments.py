"""Attachments (C9, C10): n FHIR attachments ⇄ one XBIN01 with n objects, described in the
XDIS91 by one ``Reference/BIN`` each.

The ObjectIdentifier is the payload identifier's UUID: with hyphens in the XBIN01 (its
schema requires a UUID), without them in the XDIS91 reference (MedCom's examples do both).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import datetime

from messages.fhir.model import MIME_FOR_EXTENSION, AttachmentPayload
from messages.medcom.model import BinaryObject, BinaryReference, Reference

__all__ = [
    "EXTENSION_FOR_MIME",
    "MIME_FOR_EXTENSION",
    "attachments_from",
    "binary_objects_for",
    "decoded_size",
    "object_code_for",
    "object_uuid",
    "references_for",
]

EXTENSION_FOR_MIME: dict[str, str] = {mime: ext for ext, mime in MIME_FOR_EXTENSION.items()}
EXTENSION_FOR_MIME["application/rtf"] = "rtf"


def object_code_for(mime: str | None) -> str:
    """C9: ObjectCode from the MIME type: ``image/*`` → ``billede``, ``application/pdf`` →
    ``vektor_grafik``; beyond MedCom's two (Samspil's choice): ``text/*`` → ``tekstfil``,
    audio and video → ``multimedie``, anything else → ``proprietaert_indhold``."""
    mime = (mime or "").lower()
    if mime.startswith("image/"):
        return "billede"
    if mime == "application/pdf":
        return "vektor_grafik"
    if mime.startswith("text/"):
        return "tekstfil"
    if mime.startswith(("audio/", "video/")):
        return "multimedie"
    return "proprietaert_indhold"


def decoded_size(data: str) -> int:
    """C9: OriginalObjectSize, the attachment's size in bytes (computed from its base64)."""
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return max(1, len(data) * 3 // 4)


def object_uuid(identifier: str, new_id: Callable[[], uuid.UUID]) -> uuid.UUID:
    """The UUID of a payload identifier (``urn:uuid:…``), or a fresh one for another id."""
    try:
        return uuid.UUID(identifier.removeprefix("urn:uuid:"))
    except ValueError:
        return new_id()


def binary_objects_for(
    attachments: tuple[AttachmentPayload, ...], new_id: Callable[[], uuid.UUID]
) -> tuple[BinaryObject, ...]:
    """C9, FHIR→OIOXML: one XBIN01 BinaryObject per attachment that carries data (an
    attachment without data has nothing to send)."""
    return tuple(
        BinaryObject(
            object_identifier=str(object_uuid(a.identifier, new_id)),
            object_code=object_code_for(a.content_type),
            extension_code=EXTENSION_FOR_MIME.get((a.content_type or "").lower(), "bin"),
            original_size=decoded_size(a.data),
            base64=a.data,
        )
        for a in attachments
        if a.data
    )


def references_for(objects: tuple[BinaryObject, ...]) -> tuple[Reference, ...]:
    """C9: the XDIS91's ``Reference/BIN`` for each object (identifier without hyphens)."""
    return tuple(
        Reference(
            description="BIN",
            binary=BinaryReference(
                object_identifier=o.object_identifier.replace("-", ""),
                object_code=o.object_code,
                extension_code=o.extension_code,
                original_size=o.original_size,
            ),
        )
        for o in objects
    )


def _key(identifier: str) -> str:
    return identifier.replace("-", "").lower()


def attachments_from(
    references: tuple[Reference, ...],
    objects: tuple[BinaryObject, ...] | None,
    *,
    moment: datetime | None,
    new_id: Callable[[], uuid.UUID],
) -> tuple[AttachmentPayload, ...]:
    """C9/C10, OIOXML→FHIR: one attachment per ``Reference/BIN``, its data from the XBIN01
    object with the same identifier. C10: when the XBIN01 has not come (``objects`` None)
    or lacks the object, the attachment goes without ``data`` and ``title``."""
    by_key = {_key(o.object_identifier): o for o in objects or ()}
    out: list[AttachmentPayload] = []
    for ref in references:
        if ref.binary is None:
            continue
        found = by_key.get(_key(ref.binary.object_identifier))
        mime = MIME_FOR_EXTENSION.get(ref.binary.extension_code, "application/octet-stream")
        out.append(
            AttachmentPayload(
                identifier=f"urn:uuid:{object_uuid(ref.binary.object_identifier, new_id)}",
                moment=moment,
                content_type=mime,
                data=found.base64 if found is not None else None,
                title=object_code_for(mime) if found is not None else None,
            )
        )
    return tuple(out)
