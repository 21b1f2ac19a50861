"""A whole letter both ways: XDIS91 (+ XBIN01) ⇄ CareCommunication, composed of the rule
functions of this package.

OIOXML names organisations by GLN; FHIR by SOR code and GLN. A party whose XDIS91
``IdentifierCode`` is ``sorkode`` carries its SOR code; for any other, the SOR code (and
name and phone, for C4) comes from a :data:`Directory` (GLN → :class:`SorEntry`), which the
caller fills from SOR. Identifiers and times come from ``new_id`` and ``now`` so that a
conversion can be repeated exactly in tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from messages.errors import ConversionError
from messages.fhir.build import entry_layout
from messages.fhir.convert.attachments import (
    attachments_from,
    binary_objects_for,
    references_for,
)
from messages.fhir.convert.episode import (
    encounter_state,
    episode_id_for_fhir,
    episode_id_for_oioxml,
    status_code_from,
)
from messages.fhir.convert.people import (
    FALLBACK_PHONE,
    UNKNOWN_ROLE,
    contact_phone,
    fallback_author_name,
    replacement_cpr_system,
    split_cprs,
)
from messages.fhir.convert.subject import category_and_topic, subject_from
from messages.fhir.convert.text import (
    append_author,
    append_extra_cprs,
    append_history_note,
    append_specific_parties,
    breaks_to_newlines,
    newlines_to_breaks,
    prefix_high_priority,
    text_or_placeholder,
)
from messages.fhir.model import (
    CC_BUNDLE_PROFILE,
    CC_DEFINITION,
    CPR_SYSTEM,
    EVENT_CARE_COMMUNICATION,
    SOR_ENDPOINT,
    CareCommunication,
    Encounter,
    EpisodeIdentifier,
    Organization,
    Patient,
    PatientIdentifier,
    Practitioner,
    Provenance,
    TextPayload,
)
from messages.identifiers import new_message_id
from messages.medcom import model as oio
from messages.medcom.xmlcodec import local_minute

__all__ = [
    "REFERRAL_PRIORITY",
    "Directory",
    "SorEntry",
    "care_communication_from_oioxml",
    "oioxml_from_care_communication",
]

#: Communication.priority written for a high-priority referral (read: any priority but
#: ``routine`` on a referral is high)
REFERRAL_PRIORITY = "asap"


@dataclass(frozen=True, slots=True)
class SorEntry:
    """What SOR says about an organisation with a GLN."""

    sor: str
    name: str | None = None
    phone: str | None = None


Directory = Mapping[str, SorEntry]


def _sor_entry(party: oio.Party, directory: Directory, role: str) -> SorEntry:
    entry = directory.get(party.ean)
    if party.identifier_code == "sorkode" and party.identifier:
        return SorEntry(
            sor=party.identifier,
            name=entry.name if entry else None,
            phone=entry.phone if entry else None,
        )
    if entry is None:
        raise ConversionError(
            f"the {role}'s GLN is not in SOR: its SOR code is unknown",
            code="conversion-unknown-organisation",
        )
    return entry


def _fhir_patient(patient: oio.Patient, pid: str) -> Patient:
    identifiers: list[PatientIdentifier] = []
    if patient.cpr is not None:
        identifiers.append(PatientIdentifier(system=CPR_SYSTEM, value=patient.cpr))
    elif patient.alternative_identifier:
        identifiers.append(
            PatientIdentifier(
                system=replacement_cpr_system(patient.alternative_identifier),
                value=patient.alternative_identifier,
            )
        )
    _, _, deceased = encounter_state(patient.episode_of_care_status)
    return Patient(
        id=pid,
        identifiers=tuple(identifiers),
        family=patient.surname,
        given=tuple((patient.given_name or "").split()),
        street=patient.address.street,
        city=patient.address.district,
        postal_code=patient.address.post_code,
        deceased=deceased,
    )


def care_communication_from_oioxml(
    letter: oio.Correspondence,
    binary: oio.BinaryLetter | None = None,
    *,
    directory: Directory,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> CareCommunication:
    """The CareCommunication for an XDIS91 and (when it came) its XBIN01."""

    def nid() -> str:
        return str(new_id())

    sender_sor = _sor_entry(letter.sender, directory, "sender")
    receiver_sor = _sor_entry(letter.receiver, directory, "receiver")
    sender = Organization(
        id=nid(),
        sor=sender_sor.sor,
        gln=letter.sender.ean,
        name=sender_sor.name or letter.sender.organisation_name,
    )
    receiver = Organization(
        id=nid(),
        sor=receiver_sor.sor,
        gln=letter.receiver.ean,
        name=receiver_sor.name or letter.receiver.organisation_name,
    )
    category, topic = category_and_topic(letter.subject)
    referral = category == "regarding-referral"
    high = letter.priority is oio.Priority.HIGH
    author = Practitioner(
        role_id=nid(),
        practitioner_id=nid(),
        role_code=UNKNOWN_ROLE,
        family=fallback_author_name(sender.name, sender_sor.name),
    )
    text = TextPayload(
        text=text_or_placeholder(
            prefix_high_priority(
                breaks_to_newlines(letter.clinical_information),
                high_priority=high,
                referral=referral,
            )
        ),
        identifier=f"urn:uuid:{nid()}",
        moment=letter.authorised,
        author_role_id=author.role_id,
        contact_phone=contact_phone(letter.sender.telephone, sender_sor.phone),
    )
    attachments = attachments_from(
        letter.references,
        binary.objects if binary is not None else None,
        moment=letter.authorised,
        new_id=new_id,
    )
    patient = _fhir_patient(letter.patient, nid())
    encounter = None
    if letter.episode_of_care_identifier:
        class_code, status, _ = encounter_state(letter.patient.episode_of_care_status)
        encounter = Encounter(
            id=nid(),
            status=status,
            class_code=class_code,
            episode_identifiers=(
                EpisodeIdentifier(
                    system=SOR_ENDPOINT + sender_sor.sor,
                    value=episode_id_for_fhir(letter.episode_of_care_identifier),
                ),
            ),
            subject=f"Patient/{patient.id}",
        )
    header_id = nid()
    message = CareCommunication(
        bundle_id=nid(),
        timestamp=letter.envelope.sent,
        profile=CC_BUNDLE_PROFILE,
        bundle_type="message",
        header_id=header_id,
        communication_id=nid(),
        identifier=f"urn:uuid:{nid()}",
        status="unknown",
        category=category,
        topic=topic,
        priority=REFERRAL_PRIORITY if high and referral else None,
        texts=(text,),
        attachments=attachments,
        patient=patient,
        sender=sender,
        receiver=receiver,
        source_endpoint=SOR_ENDPOINT + sender_sor.sor,
        destination_endpoint=SOR_ENDPOINT + receiver_sor.sor,
        destination_use="primary",
        event=EVENT_CARE_COMMUNICATION,
        definition=CC_DEFINITION,
        authors=(author,),
        encounter=encounter,
        provenances=(
            Provenance(
                id=nid(),
                target=f"MessageHeader/{header_id}",
                activity="new-message",
                occurred=letter.authorised,
                recorded=letter.authorised,
                agent=f"Organization/{sender.id}",
                entity_identifiers=(text.identifier, *(a.identifier for a in attachments)),
            ),
        ),
    )
    return _with_layout(message)


def _with_layout(message: CareCommunication) -> CareCommunication:
    return replace(message, entry_types=entry_layout(message))


def _party(org: Organization, *, sender: bool, phone: str | None) -> oio.Party:
    if not org.gln:
        raise ConversionError(
            "an organisation without a GLN cannot be addressed in OIOXML",
            code="conversion-no-gln",
        )
    name = (org.name or "")[:35] or None
    return oio.Party(
        ean=org.gln,
        identifier=(org.sor or org.gln)[:17],
        identifier_code="sorkode" if org.sor else "lokationsnummer",
        organisation_name=name if name or not sender else "Ukendt",
        telephone=phone[:25] if phone else None,
    )


def _letter_text(message: CareCommunication, extra_cprs: tuple[str, ...]) -> str:
    parts: list[str] = []
    for payload in message.texts:
        text = payload.text
        author = message.author(payload.author_role_id)
        fallback = author is not None and (
            author.role_code == UNKNOWN_ROLE and author.name == (message.sender.name or "")
        )
        if author is not None and not fallback:
            text = append_author(text, name=author.name, role_code=author.role_code)
        parts.append(text)
    own = f"MessageHeader/{message.header_id}"
    activity = next((p.activity for p in message.provenances if p.target.endswith(own)), None)
    text = append_specific_parties("\n".join(parts), message.specific_senders, message.recipients)
    return append_extra_cprs(append_history_note(text, activity), extra_cprs)


def oioxml_from_care_communication(
    message: CareCommunication,
    *,
    now: datetime | None = None,
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> tuple[oio.Correspondence, oio.BinaryLetter | None]:
    """The XDIS91 (and, with attachments, the one XBIN01) for a CareCommunication."""
    first_text = message.texts[0] if message.texts else None
    moment = local_minute(
        (first_text.moment if first_text else None) or message.timestamp or now or datetime.now(UTC)
    )
    phone = first_text.contact_phone if first_text else None
    sender = _party(message.sender, sender=True, phone=None if phone == FALLBACK_PHONE else phone)
    receiver = _party(message.receiver, sender=False, phone=None)
    cpr, alternative, extra = split_cprs(message.patient.identifiers)
    if cpr is None and alternative is None:
        raise ConversionError(
            "the patient has neither a CPR number nor a replacement CPR",
            code="conversion-no-cpr",
        )
    encounter = message.encounter
    status = status_code_from(
        encounter.class_code if encounter else None,
        encounter.status if encounter else None,
        deceased=message.patient.deceased,
    )
    p = message.patient
    patient = oio.Patient(
        surname=(p.family or "Ukendt")[:70],
        cpr=cpr,
        alternative_identifier=alternative,
        given_name=" ".join(p.given)[:70] or None,
        address=oio.Address(street=p.street, district=p.city, post_code=p.postal_code),
        episode_of_care_status=status,
    )
    objects = binary_objects_for(message.attachments, new_id)
    text = _letter_text(message, extra)
    referral = message.category == "regarding-referral"
    high = referral and message.priority not in (None, "routine")
    letter = oio.Correspondence(
        envelope=oio.Envelope(
            identifier=new_message_id(), sent=moment, ack_code=oio.AckCode.POSITIVE
        ),
        letter_identifier=new_message_id(),
        authorised=moment,
        sender=sender,
        receiver=receiver,
        patient=patient,
        episode_of_care_identifier=(
            episode_id_for_oioxml(encounter.episode_identifiers) if encounter else None
        ),
        priority=oio.Priority.HIGH if high else None,
        subject=subject_from(message.category, message.topic),
        clinical_information=(newlines_to_breaks(text),) if text else (),
        references=references_for(objects),
    )
    binary = None
    if objects:
        binary = oio.BinaryLetter(
            envelope=oio.Envelope(
                identifier=new_message_id(), sent=moment, ack_code=oio.AckCode.POSITIVE
            ),
            letter_identifier=new_message_id(),
            authorised=moment,
            sender=sender,
            receiver=receiver,
            objects=objects,
            patient=oio.Patient(
                surname=patient.surname,
                cpr=cpr,
                alternative_identifier=alternative,
                given_name=patient.given_name,
            ),
        )
    return letter, binary
