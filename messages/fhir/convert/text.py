"""Text rules: line breaks (C1), the high-priority sentence (C3), the author appended
(C7) and further CPR numbers (C8)."""

from __future__ import annotations

from messages.medcom.text import FormattedText, from_plain, to_plain

__all__ = [
    "EMPTY_TEXT",
    "EXTRA_CPR_SENTENCE",
    "HIGH_PRIORITY_SENTENCE",
    "ROLE_DISPLAY",
    "append_author",
    "append_extra_cprs",
    "append_history_note",
    "breaks_to_newlines",
    "newlines_to_breaks",
    "prefix_high_priority",
    "role_display",
    "text_or_placeholder",
]

HIGH_PRIORITY_SENTENCE = "Denne meddelelse har høj prioritet."
EXTRA_CPR_SENTENCE = (
    "Der er modtaget flere end et CPR-nummer i korrespondancemeddelelsen. "
    "Derfor er de resterende medsendte CPR-numre indsat her"
)
#: Samspil's wording of C7's reply/forward note (MedCom publishes none)
HISTORY_NOTES: dict[str, str] = {
    "reply-message": "Denne meddelelse er et svar på en tidligere meddelelse.",
    "forward-message": "Denne meddelelse er videresendt.",
}
#: Samspil's sentence for an XDIS91 without text (MedCom publishes none): a FHIR string is
#: never empty, and a CareCommunication always has a text
EMPTY_TEXT = "Meddelelsen har ingen tekst."
#: medcom-core-PractitionerRolesSKSadministrativ: the codes Samspil names in Danish
ROLE_DISPLAY: dict[str, str] = {
    "overlaege": "Overlæge",
    "laege": "Læge",
    "sygeplejerske": "Sygeplejerske",
    "jordemoder": "Jordemoder",
    "fysioterapeut": "Fysioterapeut",
    "ergoterapeut": "Ergoterapeut",
    "psykolog": "Psykolog",
    "sekretaer": "Sekretær",
    "social-og-sundhedsassistent": "Social- og sundhedsassistent",
    "ukendt": "Ukendt",
}


def breaks_to_newlines(blocks: tuple[FormattedText, ...]) -> str:
    """C1, OIOXML→FHIR: ``<Break/>`` becomes a line feed; styles are dropped (no other
    formatting survives); several ``ClinicalInformation`` blocks are joined by a line feed."""
    return "\n".join(to_plain(block) for block in blocks)


def newlines_to_breaks(text: str) -> FormattedText:
    """C1, FHIR→OIOXML: each line feed (CR LF and CR too) becomes a ``<Break/>``."""
    return from_plain(text)


def prefix_high_priority(text: str, *, high_priority: bool, referral: bool) -> str:
    """C3, OIOXML→FHIR: high priority on a letter that is not a referral becomes the
    sentence "Denne meddelelse har høj prioritet." at the start of the text."""
    if not high_priority or referral:
        return text
    return f"{HIGH_PRIORITY_SENTENCE} {text}" if text else HIGH_PRIORITY_SENTENCE


def role_display(code: str | None) -> str:
    """The Danish name of an author's role code (the code itself when Samspil has none)."""
    if not code:
        return ROLE_DISPLAY["ukendt"]
    return ROLE_DISPLAY.get(code, code[:1].upper() + code[1:].replace("-", " "))


def append_author(text: str, *, name: str, role_code: str | None) -> str:
    """C7, FHIR→OIOXML: the author's name and role are appended to the text, each on a
    line of its own ("Forfatter: …", "Stilling: …"), as in MedCom's Flow3 example."""
    lead = text if not text or text.endswith("\n") else text + "\n"
    return f"{lead}Forfatter: {name}\nStilling: {role_display(role_code)}\n"


def append_extra_cprs(text: str, cprs: tuple[str, ...]) -> str:
    """C8, FHIR→OIOXML: CPR numbers beyond the first go into the text, after MedCom's
    sentence (one per line)."""
    if not cprs:
        return text
    lead = text if not text or text.endswith("\n") else text + "\n"
    return lead + EXTRA_CPR_SENTENCE + ":\n" + "\n".join(cprs) + "\n"


def text_or_placeholder(text: str) -> str:
    """OIOXML→FHIR: an XDIS91 without text (no ``ClinicalInformation``, or only empty ones)
    gets :data:`EMPTY_TEXT` (Samspil's choice: the profile requires a text)."""
    return text if text else EMPTY_TEXT


def append_history_note(text: str, activity: str | None) -> str:
    """C7, FHIR→OIOXML: a reply or a forward (the message's Provenance activity) is noted at
    the end of the text, in Samspil's wording (:data:`HISTORY_NOTES`; MedCom's is
    unpublished). A new message gets no note."""
    note = HISTORY_NOTES.get(activity or "")
    if note is None:
        return text
    lead = text if not text or text.endswith("\n") else text + "\n"
    return f"{lead}{note}\n"
