"""What a conversion keeps: the FHIR message and the OIOXML letters it was converted from
or into, so that receipts can be converted later (C11: kept three months)."""

from __future__ import annotations

from dataclasses import dataclass

from messages.fhir.model import CareCommunication
from messages.medcom.model import BinaryLetter, Correspondence

__all__ = ["ConversionRecord"]


@dataclass(frozen=True, slots=True)
class ConversionRecord:
    """One letter's conversion: ``message`` on the FHIR side; ``letter`` (XDIS91) and
    ``binary`` (its XBIN01, when it had attachments) on the OIOXML side."""

    message: CareCommunication
    letter: Correspondence
    binary: BinaryLetter | None = None
