"""A GP's letter to PPR about a child, for the message tests: the same two parties each time,
with the subject, text and options a test cares about."""

from __future__ import annotations

from typing import Any

from messages.medcom.correspondence import new_correspondence
from messages.medcom.model import Correspondence, Party, Patient

GP = Party("5790000120314", "5790000120314", "lokationsnummer", "Lægehuset Vestbyen")
PPR = Party("5790000121441", "5790000121441", "lokationsnummer", "PPR Aalborg")


def gp_letter(
    subject: str,
    text: str = "Tekst",
    *,
    cpr: str = "1203164321",
    given_name: str | None = None,
    **options: Any,
) -> Correspondence:
    """The GP's letter to PPR about the child Jensen (``cpr``); ``options``: the rest of
    :func:`~messages.medcom.correspondence.new_correspondence`'s."""
    patient = Patient(cpr=cpr, surname="Jensen", given_name=given_name)
    return new_correspondence(
        sender=GP, receiver=PPR, patient=patient, subject=subject, text=text, **options
    )
