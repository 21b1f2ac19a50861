"""Whole MedCom documents: bytes ⇄ typed models, for every type Samspil carries.

:func:`parse_message` is the strict reader (hardened parse, schema validation, typed model);
:func:`build_message` writes any model back to bytes. ``parse_message(build_message(m))``
equals ``m`` for every model Samspil builds.
"""

from __future__ import annotations

from messages.medcom.binary import build_binary_letter, read_binary_letter
from messages.medcom.correspondence import build_correspondence, read_correspondence
from messages.medcom.model import BinaryLetter, Correspondence, MessageType, Receipt
from messages.medcom.receipts import build_receipt, read_receipt
from messages.medcom.registry import SchemaRegistry
from messages.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = ["MedcomMessage", "build_message", "parse_message"]

MedcomMessage = Correspondence | Receipt | BinaryLetter


def parse_message(
    data: bytes, *, registry: SchemaRegistry, max_bytes: int = DEFAULT_MAX_BYTES
) -> MedcomMessage:
    """Parse and validate an OIOXML ``Emessage`` into its typed model."""
    root = parse_xml(data, max_bytes=max_bytes)
    kind = registry.validate(root)
    if kind is MessageType.XDIS91:
        return read_correspondence(root)
    if kind is MessageType.XBIN01:
        return read_binary_letter(root)
    return read_receipt(root)


def build_message(message: MedcomMessage, *, encoding: str = "ISO-8859-1") -> bytes:
    """The model as OIOXML bytes (ISO-8859-1 by default; ``encoding="UTF-8"`` available)."""
    if isinstance(message, Correspondence):
        return build_correspondence(message, encoding=encoding)
    if isinstance(message, BinaryLetter):
        return build_binary_letter(message, encoding=encoding)
    return build_receipt(message, encoding=encoding)
