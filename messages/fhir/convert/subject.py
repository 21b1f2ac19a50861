"""The subject: a missing one (C2), and the XDIS91 Subject from category and topic (C7)."""

from __future__ import annotations

from messages.fhir.model import CATEGORY_DISPLAY

__all__ = ["MAX_SUBJECT", "UNKNOWN_SUBJECT", "category_and_topic", "subject_from"]

UNKNOWN_SUBJECT = "Ukendt emne"
MAX_SUBJECT = 70
_BY_PREFIX = {f"{display}, ": code for code, display in CATEGORY_DISPLAY.items()}


def category_and_topic(subject: str | None) -> tuple[str, str]:
    """C2, OIOXML→FHIR: (category, topic) for an XDIS91 Subject. A missing (or blank)
    Subject becomes topic "Ukendt emne", category ``other``.

    Samspil's addition (MedCom publishes no reverse of C7): a Subject that starts with a
    category's Danish name and ", " — as C7 writes it — gives that category back, so that a
    CareCommunication that crossed to OIOXML and back keeps its category."""
    if subject is None or not subject.strip():
        return "other", UNKNOWN_SUBJECT
    for prefix, code in _BY_PREFIX.items():
        if subject.startswith(prefix) and len(subject) > len(prefix):
            return code, subject[len(prefix) :]
    return "other", subject


def subject_from(category: str | None, topic: str | None) -> str:
    """C7, FHIR→OIOXML: Subject = "<category display>, <topic>", at most 70 characters
    (the category alone without a topic)."""
    display = CATEGORY_DISPLAY.get(category or "", category or CATEGORY_DISPLAY["other"])
    subject = f"{display}, {topic}" if topic else display
    return subject[:MAX_SUBJECT].rstrip() or display[:MAX_SUBJECT]
