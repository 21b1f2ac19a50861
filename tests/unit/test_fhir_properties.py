"""Generated letters cross both ways and keep every mapped field.

* OIOXML → FHIR (bytes) → OIOXML: the XDIS91's and XBIN01's mapped fields come back; the
  Subject as C7 writes it ("<category>, <topic>"), and high priority on a letter that is not
  a referral as C3's sentence at the start of the text.
* FHIR → OIOXML (bytes) → FHIR: the CareCommunication's mapped fields come back; the text
  with the author and any specific sender and recipient appended (C7: XDIS91 has no place
  for them, so the author comes back as C4's fallback and the specific sender and recipient
  come back as text only, not as ``Communication`` participants). Samspil's own bundles
  name no specific parties, so the bytes leg is checked without them.

Every bundle passes MedCom's profile rules and is read by fhir.resources; every OIOXML the
project's schemas (and, where present, MedCom's official XSDs) accept.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from messages.fhir.build import build_fhir
from messages.fhir.convert.attachments import EXTENSION_FOR_MIME, object_code_for
from messages.fhir.convert.letter import (
    SorEntry,
    care_communication_from_oioxml,
    oioxml_from_care_communication,
)
from messages.fhir.convert.people import FALLBACK_PHONE
from messages.fhir.convert.subject import category_and_topic
from messages.fhir.convert.text import (
    EMPTY_TEXT,
    HIGH_PRIORITY_SENTENCE,
    append_author,
    append_specific_parties,
)
from messages.fhir.model import (
    CATEGORY_DISPLAY,
    CC_BUNDLE_PROFILE,
    CC_DEFINITION,
    CPR_SYSTEM,
    MIME_FOR_EXTENSION,
    REPLACEMENT_CPR_OTHER_SYSTEM,
    SOR_ENDPOINT,
    AttachmentPayload,
    CareCommunication,
    Encounter,
    EpisodeIdentifier,
    Organization,
    Participant,
    Patient,
    PatientIdentifier,
    Practitioner,
    Provenance,
    TextPayload,
)
from messages.fhir.read import read_fhir
from messages.fhir.rules import check_care_communication
from messages.medcom import model as oio
from messages.medcom.documents import build_message, parse_message
from messages.medcom.registry import SchemaRegistry
from messages.medcom.text import from_plain, to_plain
from messages.timezone import COPENHAGEN
from tests.fhir_samples import GP_GLN, PPR_GLN, counting_ids
from tests.medcom_paths import OFFICIAL, official_schema

REGISTRY = SchemaRegistry()
SENDER_SOR, RECEIVER_SOR = "1017421000016003", "385391000016002"
DIRECTORY = {GP_GLN: SorEntry(sor=SENDER_SOR), PPR_GLN: SorEntry(sor=RECEIVER_SOR)}
OFFICIAL_DATES = {
    oio.MessageType.XDIS91: "2006/07/01",
    oio.MessageType.XBIN01: "2012/03/28",
}

_ALPHABET = st.characters(
    whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="æøåÆØÅé-.'", max_codepoint=0x2FF
)
word = st.text(_ALPHABET, min_size=1, max_size=12)


def words(max_words: int, max_size: int) -> st.SearchStrategy[str]:
    return (
        st.lists(word, min_size=1, max_size=max_words)
        .map(lambda w: " ".join(w)[:max_size].strip())
        .filter(bool)
    )


line = st.text(
    st.characters(whitelist_categories=("Lu", "Ll", "Nd", "Zs", "Po"), max_codepoint=0x2FF),
    max_size=40,
)
text = st.lists(line, min_size=1, max_size=6).map("\n".join).filter(lambda t: t.strip() != "")
minute = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0, tzinfo=COPENHAGEN)
)
cpr = st.from_regex(r"[0-3][0-9][01][0-9][0-9]{6}", fullmatch=True)
blob = st.binary(min_size=1, max_size=300).map(lambda b: base64.b64encode(b).decode("ascii"))
mime = st.sampled_from(sorted(set(MIME_FOR_EXTENSION.values())))


# ---- OIOXML → FHIR → OIOXML -----------------------------------------------------------


@st.composite
def letters(draw: Any) -> tuple[oio.Correspondence, oio.BinaryLetter | None]:
    moment = draw(minute)
    episode = draw(st.none() | st.uuids(version=4).map(lambda u: u.hex))
    status = draw(
        st.sampled_from(
            ["inaktiv", "indlagt", "ambulant", "doed"] if episode else ["inaktiv", "doed"]
        )
    )
    use_cpr = draw(st.booleans())
    patient = oio.Patient(
        surname=draw(words(3, 70)),
        cpr=draw(cpr) if use_cpr else None,
        alternative_identifier=None
        if use_cpr
        else draw(st.from_regex(r"[0-9]{6}[A-Z0-9]{4}", fullmatch=True)),
        given_name=draw(st.none() | words(3, 70)),
        address=oio.Address(
            street=draw(st.none() | words(3, 35)),
            district=draw(st.none() | words(2, 35)),
            post_code=draw(st.none() | st.from_regex(r"[0-9]{4}", fullmatch=True)),
        ),
        episode_of_care_status=status,
    )
    sender = oio.Party(
        ean=GP_GLN,
        identifier=GP_GLN,
        identifier_code="lokationsnummer",
        organisation_name=draw(words(3, 35)),
        telephone=draw(st.none() | st.from_regex(r"[0-9]{8}", fullmatch=True)),
    )
    receiver = oio.Party(
        ean=PPR_GLN,
        identifier=PPR_GLN,
        identifier_code="lokationsnummer",
        organisation_name=draw(st.none() | words(3, 35)),
    )
    objects = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(mime)
        data = draw(blob)
        objects.append(
            oio.BinaryObject(
                object_identifier=str(draw(st.uuids(version=4))),
                object_code=object_code_for(kind),
                extension_code=EXTENSION_FOR_MIME[kind],
                original_size=len(base64.b64decode(data)),
                base64=data,
            )
        )
    references = tuple(
        oio.Reference(
            description="BIN",
            binary=oio.BinaryReference(
                object_identifier=o.object_identifier.replace("-", ""),
                object_code=o.object_code,
                extension_code=o.extension_code,
                original_size=o.original_size,
            ),
        )
        for o in objects
    )
    subject = draw(
        st.none()
        | words(6, 70)
        | st.sampled_from(sorted(CATEGORY_DISPLAY.values())).flatmap(
            lambda d: words(3, 70 - len(d) - 2).map(lambda t: f"{d}, {t}")
        )
    )
    body = draw(st.none() | text)
    envelope = oio.Envelope(identifier="ENV1", sent=moment, ack_code=oio.AckCode.POSITIVE)
    letter = oio.Correspondence(
        envelope=envelope,
        letter_identifier="LET1",
        authorised=moment,
        sender=sender,
        receiver=receiver,
        patient=patient,
        episode_of_care_identifier=episode,
        priority=draw(st.none() | st.sampled_from(list(oio.Priority))),
        subject=subject,
        clinical_information=(from_plain(body),) if body else (),
        references=references,
    )
    binary = None
    if objects:
        binary = oio.BinaryLetter(
            envelope=oio.Envelope(identifier="ENV2", sent=moment),
            letter_identifier="LET2",
            authorised=moment,
            sender=sender,
            receiver=receiver,
            objects=tuple(objects),
            patient=oio.Patient(
                surname=patient.surname,
                cpr=patient.cpr,
                alternative_identifier=patient.alternative_identifier,
            ),
        )
    return letter, binary


@dataclass(frozen=True)
class LetterFields:
    """The XDIS91/XBIN01 fields the conversion maps (both ways)."""

    parties: tuple[Any, ...]
    patient: tuple[Any, ...]
    episode: tuple[Any, ...]
    subject: str | None
    priority: oio.Priority | None
    text: str
    attachments: tuple[tuple[Any, ...], ...]
    authorised: datetime


def _letter_fields(letter: oio.Correspondence, binary: oio.BinaryLetter | None) -> LetterFields:
    p = letter.patient
    return LetterFields(
        parties=(
            letter.sender.ean,
            letter.sender.organisation_name,
            letter.sender.telephone,
            letter.receiver.ean,
            letter.receiver.organisation_name,
        ),
        patient=(
            p.cpr,
            p.alternative_identifier,
            p.surname,
            p.given_name,
            p.address.street,
            p.address.district,
            p.address.post_code,
        ),
        episode=(p.episode_of_care_status, letter.episode_of_care_identifier),
        subject=letter.subject,
        priority=letter.priority if letter.priority is oio.Priority.HIGH else None,
        text="\n".join(to_plain(b) for b in letter.clinical_information),
        attachments=tuple(
            (
                o.object_identifier.lower(),
                o.object_code,
                o.extension_code,
                o.original_size,
                o.base64,
            )
            for o in (binary.objects if binary else ())
        ),
        authorised=letter.authorised,
    )


def _expected_after_crossing(fields: LetterFields) -> LetterFields:
    """C2/C7 for the Subject; C3 for high priority on a letter that is not a referral."""
    category, topic = category_and_topic(fields.subject)
    referral = category == "regarding-referral"
    text = fields.text
    if fields.priority is oio.Priority.HIGH and not referral:
        text = f"{HIGH_PRIORITY_SENTENCE} {text}" if text else HIGH_PRIORITY_SENTENCE
    text = text or EMPTY_TEXT
    return LetterFields(
        parties=fields.parties,
        patient=fields.patient,
        episode=fields.episode,
        subject=f"{CATEGORY_DISPLAY[category]}, {topic}"[:70].rstrip(),
        priority=fields.priority if referral else None,
        text=text,
        attachments=fields.attachments,
        authorised=fields.authorised,
    )


def _to_oioxml(
    message: CareCommunication,
) -> tuple[oio.Correspondence, oio.BinaryLetter | None, list[bytes]]:
    letter, binary = oioxml_from_care_communication(message)
    documents = [build_message(letter)] + ([build_message(binary)] if binary else [])
    parsed = [parse_message(d, registry=REGISTRY) for d in documents]  # the project's schemas
    read_letter = parsed[0]
    assert isinstance(read_letter, oio.Correspondence)
    read_binary = parsed[1] if binary else None
    assert read_binary is None or isinstance(read_binary, oio.BinaryLetter)
    return read_letter, read_binary, documents


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(letters())
def test_oioxml_to_fhir_to_oioxml_keeps_every_mapped_field(
    pair: tuple[oio.Correspondence, oio.BinaryLetter | None],
) -> None:
    letter, binary = pair
    message = care_communication_from_oioxml(letter, binary, directory=DIRECTORY)
    assert check_care_communication(message) == ()
    data = build_fhir(message)
    Bundle.model_validate_json(data)
    assert read_fhir(data) == message
    back, back_binary, _ = _to_oioxml(message)
    assert _letter_fields(back, back_binary) == _expected_after_crossing(
        _letter_fields(letter, binary)
    )
    assert back.sender.identifier == SENDER_SOR  # the SOR code, C9
    assert back.sender.identifier_code == "sorkode"


# ---- FHIR → OIOXML → FHIR -------------------------------------------------------------

_STATES = [
    ("IMP", "in-progress", False),
    ("AMB", "in-progress", False),
    ("other", "unknown", False),
    ("other", "finished", True),
]


_ROLES = ["sygeplejerske", "overlaege", "laege", "psykolog"]


def participants(org: Organization) -> st.SearchStrategy[tuple[Participant, ...]]:
    """None or one specific party of ``org`` (cc-11, cc-12): a named or unnamed
    PractitionerRole with or without a role, or a CareTeam."""
    kind = st.sampled_from(["PractitionerRole", "CareTeam"])
    party = st.builds(
        Participant,
        kind=kind,
        id=st.uuids(version=4).map(str),
        organizations=st.just((org,)),
        name=st.none() | words(4, 60),
        role_code=st.none() | st.sampled_from([*_ROLES, "ukendt"]),
    ).map(lambda p: replace(p, role_code=None) if p.kind == "CareTeam" else p)
    return st.just(()) | party.map(lambda p: (p,))


@st.composite
def care_communications(draw: Any) -> CareCommunication:
    ids = counting_ids()

    def nid() -> str:
        return str(ids())

    moment = draw(minute)
    category = draw(st.sampled_from(sorted(CATEGORY_DISPLAY)))
    room = 70 - len(CATEGORY_DISPLAY[category]) - 2
    topic = draw(words(4, room))
    sender = Organization(id=nid(), sor=SENDER_SOR, gln=GP_GLN, name=draw(words(3, 35)))
    receiver = Organization(
        id=nid(), sor=RECEIVER_SOR, gln=PPR_GLN, name=draw(st.none() | words(3, 35))
    )
    with_encounter = draw(st.booleans())
    class_code, status, deceased = (
        draw(st.sampled_from(_STATES)) if with_encounter else (None, None, draw(st.booleans()))
    )
    identifier = (
        PatientIdentifier(CPR_SYSTEM, draw(cpr))
        if draw(st.booleans())
        else PatientIdentifier(
            REPLACEMENT_CPR_OTHER_SYSTEM,
            draw(st.from_regex(r"[0-9]{6}[02-68-9A-Z][A-Z0-9]{3}", fullmatch=True)),
        )
    )
    patient = Patient(
        id=nid(),
        identifiers=(identifier,),
        family=draw(words(3, 70)),
        given=tuple(draw(st.lists(word, max_size=3))),
        street=draw(st.none() | words(3, 35)),
        city=draw(st.none() | words(2, 35)),
        postal_code=draw(st.none() | st.from_regex(r"[0-9]{4}", fullmatch=True)),
        deceased=deceased,
    )
    author = Practitioner(
        role_id=nid(),
        practitioner_id=nid(),
        role_code=draw(st.sampled_from(_ROLES)),
        family=draw(word),
        given=tuple(draw(st.lists(word, max_size=2))),
    )
    body = TextPayload(
        text=draw(text),
        identifier=f"urn:uuid:{ids()}",
        moment=moment,
        author_role_id=author.role_id,
        contact_phone=draw(st.from_regex(r"[0-9]{8}", fullmatch=True) | st.just(FALLBACK_PHONE)),
    )
    attachments = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(mime)
        attachments.append(
            AttachmentPayload(
                identifier=f"urn:uuid:{draw(st.uuids(version=4))}",
                moment=moment,
                content_type=kind,
                data=draw(blob),
                title=object_code_for(kind),
            )
        )
    encounter = None
    if with_encounter:
        encounter = Encounter(
            id=nid(),
            status=status,
            class_code=class_code,
            episode_identifiers=(
                EpisodeIdentifier(
                    SOR_ENDPOINT + SENDER_SOR, f"urn:uuid:{draw(st.uuids(version=4))}"
                ),
            ),
            subject=f"Patient/{patient.id}",
        )
    header_id = nid()
    message = CareCommunication(
        bundle_id=nid(),
        timestamp=moment + timedelta(minutes=1),
        profile=CC_BUNDLE_PROFILE,
        bundle_type="message",
        header_id=header_id,
        communication_id=nid(),
        identifier=f"urn:uuid:{ids()}",
        status="unknown",
        category=category,
        topic=topic,
        priority=draw(st.none() | st.just("asap")) if category == "regarding-referral" else None,
        texts=(body,),
        attachments=tuple(attachments),
        patient=patient,
        sender=sender,
        receiver=receiver,
        source_endpoint=SOR_ENDPOINT + SENDER_SOR,
        destination_endpoint=SOR_ENDPOINT + RECEIVER_SOR,
        destination_use="primary",
        event="care-communication-message",
        definition=CC_DEFINITION,
        authors=(author,),
        encounter=encounter,
        provenances=(
            Provenance(
                id=nid(),
                target=f"MessageHeader/{header_id}",
                activity="new-message",
                occurred=moment,
                recorded=moment,
                agent=f"Organization/{sender.id}",
                entity_identifiers=(body.identifier, *(a.identifier for a in attachments)),
            ),
        ),
        specific_senders=draw(participants(sender)),
        recipients=draw(participants(receiver)),
    )
    from messages.fhir.build import entry_layout

    return replace(message, entry_types=entry_layout(message))


def _fhir_fields(m: CareCommunication) -> tuple[Any, ...]:
    p = m.patient
    e = m.encounter
    return (
        (p.identifiers, p.family, p.given, p.street, p.city, p.postal_code, p.deceased),
        (m.category, m.topic, m.priority, m.status),
        m.texts[0].contact_phone,
        m.texts[0].moment,
        tuple((a.identifier, a.content_type, a.data, a.title) for a in m.attachments),
        None if e is None else (e.class_code, e.status, [i.value for i in e.episode_identifiers]),
        tuple((o.gln, o.sor, o.name) for o in (m.sender, m.receiver)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(care_communications())
def test_fhir_to_oioxml_to_fhir_keeps_every_mapped_field(message: CareCommunication) -> None:
    assert check_care_communication(message) == ()
    unnamed = replace(message, specific_senders=(), recipients=())  # as Samspil writes it
    assert read_fhir(build_fhir(unnamed, fmt="xml")) == unnamed
    letter, binary, _ = _to_oioxml(message)
    back = care_communication_from_oioxml(letter, binary, directory={})  # SOR rides along
    assert check_care_communication(back) == ()
    assert _fhir_fields(back) == _fhir_fields(message)
    assert (back.specific_senders, back.recipients) == ((), ())  # text only, below
    author = message.authors[0]
    assert back.texts[0].text == append_specific_parties(
        append_author(message.texts[0].text, name=author.name, role_code=author.role_code),
        message.specific_senders,
        message.recipients,
    )
    Bundle.model_validate_json(build_fhir(back))


@pytest.mark.official
@pytest.mark.skipif(
    not (OFFICIAL / "xsd").is_dir(), reason="MedCom's official XSDs are not at hand"
)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(care_communications())
def test_every_oioxml_written_is_valid_against_the_official_xsds(
    message: CareCommunication,
) -> None:
    letter, binary, documents = _to_oioxml(message)
    kinds = [letter.type] + ([binary.type] if binary else [])
    for kind, document in zip(kinds, documents, strict=True):
        schema = official_schema(OFFICIAL_DATES[kind])
        assert schema.validate(etree.fromstring(document)), schema.error_log


def test_uuid_strategy_is_version_4() -> None:
    assert uuid.UUID(str(counting_ids()())).version == 4
