"""Text rules: line breaks (C1), the high-priority sentence (C3), the author, a specific
sender and recipient and a reply/forward note appended (C7) and further CPR numbers (C8)."""

from __future__ import annotations

from messages.fhir.convert.people import UNKNOWN_ROLE
from messages.fhir.model import Participant
from messages.medcom.text import FormattedText, from_plain, to_plain

__all__ = [
    "EMPTY_TEXT",
    "EXTRA_CPR_SENTENCE",
    "HIGH_PRIORITY_SENTENCE",
    "ROLE_DISPLAY",
    "SPECIFIC_RECIPIENT",
    "SPECIFIC_SENDER",
    "append_author",
    "append_extra_cprs",
    "append_history_note",
    "append_specific_parties",
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
#: Samspil's labels for C7's specific sender and recipient (MedCom publishes no wording): a
#: line each, "Specifik afsender: <name>, <role>" for a PractitionerRole (the Practitioner's
#: name, the role in Danish), "Specifik modtager: <name>, <organisation>" for a CareTeam
SPECIFIC_SENDER = "Specifik afsender"
SPECIFIC_RECIPIENT = "Specifik modtager"
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


def _party_words(party: Participant) -> str:
    """The words after the label: "<name>, <role>" (PractitionerRole) or "<name>,
    <organisation>" (CareTeam), leaving out what is missing (and the role ``ukendt``, which
    names nothing); a line feed in a name becomes a space, so each party keeps one line."""
    if party.kind == "CareTeam":
        detail = next((o.name for o in party.organizations if o.name), None)
    elif party.role_text:
        detail = party.role_text
    elif party.role_code and party.role_code != UNKNOWN_ROLE:
        detail = role_display(party.role_code)
    else:
        detail = None
    parts = (" ".join(p.split()) for p in (party.name, detail) if p)
    return ", ".join(p for p in parts if p)


def append_specific_parties(
    text: str, senders: tuple[Participant, ...], recipients: tuple[Participant, ...]
) -> str:
    """C7, FHIR→OIOXML: a specific sender (``medcom-core-sender-extension``) and a specific
    recipient (``Communication.recipient``) are appended to the text, a line each, in
    Samspil's wording (:data:`SPECIFIC_SENDER`, :data:`SPECIFIC_RECIPIENT`; MedCom's is
    unpublished). XDIS91 has no place for them, so they cross only as text; a party with
    neither a name nor a role or organisation gets no line."""
    lines = [
        f"{label}: {words}"
        for label, parties in ((SPECIFIC_SENDER, senders), (SPECIFIC_RECIPIENT, recipients))
        for party in parties
        if (words := _party_words(party))
    ]
    if not lines:
        return text
    lead = text if not text or text.endswith("\n") else text + "\n"
    return lead + "\n".join(lines) + "\n"
