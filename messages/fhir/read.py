"""Read MedCom CareCommunication and Acknowledgement bundles (FHIR JSON or XML) into models.

The reader is tolerant of what the profile rules judge (a missing category, a wrong code:
:mod:`messages.fhir.rules` reports those, each with its code) and strict about what it
cannot read at all: a bundle whose references do not resolve, whose entries collide or
whose resources are of the wrong type is a :class:`~messages.errors.FhirStructureError`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from messages.errors import FhirStructureError
from messages.fhir.codec import Tree, every, first, parse_fhir
from messages.fhir.entries import Entries
from messages.fhir.model import (
    CONTACT_EXT,
    DATETIME_EXT,
    DESTINATION_USE_URL,
    EVENT_ACKNOWLEDGEMENT,
    EVENT_CARE_COMMUNICATION,
    GLN_SYSTEM,
    IDENTIFIER_EXT,
    PRACTITIONER_EXT,
    SENDER_EXT,
    SOR_SYSTEM,
    Acknowledgement,
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
from messages.xmlsafe import DEFAULT_MAX_BYTES

__all__ = [
    "FhirMessage",
    "read_acknowledgement",
    "read_care_communication",
    "read_fhir",
    "read_fhir_tree",
]

FhirMessage = CareCommunication | Acknowledgement


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _moment(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise FhirStructureError(
        f"{where} is not a dateTime with a time zone: {str(value)[:40]!r}",
        code="fhir-invalid-value",
        expression=where,
    )


def _profile(resource: Tree) -> str | None:
    return _str(first(first(resource, "meta"), "profile"))


def _extensions(node: Any, url: str) -> list[Tree]:
    return [e for e in every(node, "extension") if isinstance(e, dict) and e.get("url") == url]


def _extension(node: Any, url: str) -> Any:
    found = _extensions(node, url)
    return found[0] if found else None


def _organization(resource: Tree) -> Organization:
    sor = gln = None
    for identifier in every(resource, "identifier"):
        system = _str(first(identifier, "system"))
        if system == SOR_SYSTEM and sor is None:
            sor = _str(first(identifier, "value"))
        elif system == GLN_SYSTEM and gln is None:
            gln = _str(first(identifier, "value"))
    phone = next(
        (
            _str(first(t, "value"))
            for t in every(resource, "telecom")
            if first(t, "system") == "phone"
        ),
        None,
    )
    return Organization(
        id=_str(resource.get("id")) or "",
        sor=sor,
        gln=gln,
        name=_str(first(resource, "name")),
        phone=phone,
    )


def _official_name(resource: Tree) -> Tree | None:
    names = [n for n in every(resource, "name") if isinstance(n, dict)]
    return next((n for n in names if first(n, "use") == "official"), names[0] if names else None)


def _patient(resource: Tree) -> Patient:
    name = _official_name(resource)
    address = first(resource, "address")
    deceased = first(resource, "deceasedBoolean")
    return Patient(
        id=_str(resource.get("id")) or "",
        identifiers=tuple(
            PatientIdentifier(system=_str(first(i, "system")) or "", value=value)
            for i in every(resource, "identifier")
            if (value := _str(first(i, "value"))) is not None
        ),
        family=_str(first(name, "family")),
        given=tuple(g for g in every(name, "given") if isinstance(g, str)),
        street=_str(first(address, "line")),
        city=_str(first(address, "city")),
        postal_code=_str(first(address, "postalCode")),
        deceased=deceased is True or deceased == "true",
    )


def _author(entries: Entries, reference: Any, where: str) -> Practitioner:
    return _practitioner_role(entries, entries.resolve(reference, "PractitionerRole", where))


def _practitioner_role(entries: Entries, role: Tree) -> Practitioner:
    """A PractitionerRole read: its codes, and the name of the Practitioner it refers to."""
    practitioner_ref = first(role, "practitioner")
    person = (
        entries.resolve(practitioner_ref, "Practitioner", "PractitionerRole.practitioner")
        if practitioner_ref is not None
        else None
    )
    name = _official_name(person) if person is not None else None
    codes = every(role, "code")
    return Practitioner(
        role_id=_str(role.get("id")) or "",
        practitioner_id=_str(person.get("id")) if person is not None else None,
        role_code=next(
            (
                v
                for c in codes
                for coding in every(c, "coding")
                if (v := _str(first(coding, "code")))
            ),
            None,
        ),
        role_text=next((v for c in codes if (v := _str(first(c, "text")))), None),
        family=_str(first(name, "family")),
        given=tuple(g for g in every(name, "given") if isinstance(g, str)),
    )


def _participant(entries: Entries, reference: Any, where: str) -> Participant:
    """A specific sender or recipient and the organisations it belongs to."""
    resource = entries.resolve(reference, ("PractitionerRole", "CareTeam"), where)
    kind = resource["resourceType"]
    element = "managingOrganization" if kind == "CareTeam" else "organization"
    organizations = tuple(
        _organization(entries.resolve(o, "Organization", f"{kind}.{element}"))
        for o in every(resource, element)
    )
    id_ = _str(resource.get("id")) or ""
    if kind == "CareTeam":
        name = _str(first(resource, "name"))
        return Participant(kind=kind, id=id_, organizations=organizations, name=name)
    role = _practitioner_role(entries, resource)
    return Participant(
        kind=kind,
        id=id_,
        organizations=organizations,
        name=role.name or None,
        role_code=role.role_code,
        role_text=role.role_text,
    )


def _encounter(resource: Tree) -> Encounter:
    return Encounter(
        id=_str(resource.get("id")) or "",
        status=_str(first(resource, "status")),
        class_code=_str(first(first(resource, "class"), "code")),
        episode_identifiers=tuple(
            EpisodeIdentifier(system=_str(first(i, "system")), value=value)
            for eoc in every(resource, "episodeOfCare")
            for i in every(eoc, "identifier")
            if (value := _str(first(i, "value"))) is not None
        ),
        subject=_str(first(first(resource, "subject"), "reference")),
    )


def _provenance(resource: Tree) -> Provenance:
    what = [first(e, "what") for e in every(resource, "entity")]
    return Provenance(
        id=_str(resource.get("id")) or "",
        target=_str(first(first(resource, "target"), "reference")) or "",
        activity=_str(first(first(first(resource, "activity"), "coding"), "code")),
        occurred=_moment(first(resource, "occurredDateTime"), "Provenance.occurredDateTime"),
        recorded=_moment(first(resource, "recorded"), "Provenance.recorded"),
        agent=_str(first(first(first(resource, "agent"), "who"), "reference")),
        entity_identifiers=tuple(
            v for w in what if (v := _str(first(first(w, "identifier"), "value")))
        ),
        entity_references=tuple(v for w in what if (v := _str(first(w, "reference")))),
        unnamed_entities=sum(
            1
            for w in what
            if not _str(first(first(w, "identifier"), "value")) and not _str(first(w, "reference"))
        ),
    )


def _header(entries: Entries) -> Tree:
    headers = entries.of_type("MessageHeader")
    if not headers:
        raise FhirStructureError(
            "a MedCom message bundle has a MessageHeader",
            code="fhir-missing-element",
            expression="Bundle.entry",
        )
    return headers[0]


def _event(header: Tree) -> str | None:
    return _str(first(first(header, "eventCoding"), "code"))


def _payloads(
    entries: Entries, communication: Tree, authors: dict[str, Practitioner]
) -> tuple[list[TextPayload], list[AttachmentPayload]]:
    texts: list[TextPayload] = []
    attachments: list[AttachmentPayload] = []
    for index, payload in enumerate(every(communication, "payload")):
        where = f"Communication.payload[{index}]"
        moment = _moment(
            first(_extension(payload, DATETIME_EXT), "valueDateTime"), f"{where}.extension"
        )
        identifier = _str(
            first(first(_extension(payload, IDENTIFIER_EXT), "valueIdentifier"), "value")
        )
        role_ref = first(_extension(payload, PRACTITIONER_EXT), "valueReference")
        role_id = None
        if role_ref is not None:
            author = _author(entries, role_ref, f"{where}.extension")
            authors.setdefault(author.role_id, author)
            role_id = author.role_id
        attachment = first(payload, "contentAttachment")
        if isinstance(attachment, dict):
            attachments.append(
                AttachmentPayload(
                    identifier=identifier or "",
                    moment=moment,
                    content_type=_str(first(attachment, "contentType")),
                    data=_str(first(attachment, "data")),
                    title=_str(first(attachment, "title")),
                    url=_str(first(attachment, "url")),
                    author_role_id=role_id,
                )
            )
            continue
        text = _str(first(payload, "contentString"))
        if text is None:
            raise FhirStructureError(
                "a payload holds a text or an attachment",
                code="fhir-missing-element",
                expression=where,
            )
        contact = first(_extension(payload, CONTACT_EXT), "valueContactPoint")
        texts.append(
            TextPayload(
                text=text,
                identifier=identifier or "",
                moment=moment,
                author_role_id=role_id,
                contact_phone=_str(first(contact, "value")),
            )
        )
    return texts, attachments


def read_care_communication(bundle: Tree, entries: Entries | None = None) -> CareCommunication:
    """A CareCommunication bundle's tree as the model (FhirStructureError if unreadable)."""
    entries = entries or Entries(bundle)
    header = _header(entries)
    communication = entries.resolve(first(header, "focus"), "Communication", "MessageHeader.focus")
    destination = first(header, "destination")
    sender = entries.resolve(first(header, "sender"), "Organization", "MessageHeader.sender")
    receiver = entries.resolve(
        first(destination, "receiver"), "Organization", "MessageHeader.destination.receiver"
    )
    patient = entries.resolve(first(communication, "subject"), "Patient", "Communication.subject")
    encounter_ref = first(communication, "encounter")
    encounter = (
        _encounter(entries.resolve(encounter_ref, "Encounter", "Communication.encounter"))
        if encounter_ref is not None
        else None
    )
    authors: dict[str, Practitioner] = {}
    texts, attachments = _payloads(entries, communication, authors)
    category = first(first(communication, "category"), "coding")
    return CareCommunication(
        bundle_id=_str(bundle.get("id")) or "",
        timestamp=_moment(first(bundle, "timestamp"), "Bundle.timestamp"),
        profile=_profile(bundle),
        bundle_type=_str(first(bundle, "type")),
        header_id=_str(header.get("id")) or "",
        communication_id=_str(communication.get("id")) or "",
        identifier=_str(first(first(communication, "identifier"), "value")) or "",
        status=_str(first(communication, "status")),
        category=_str(first(category, "code")),
        topic=_str(first(first(communication, "topic"), "text")),
        priority=_str(first(communication, "priority")),
        texts=tuple(texts),
        attachments=tuple(attachments),
        patient=_patient(patient),
        sender=_organization(sender),
        receiver=_organization(receiver),
        source_endpoint=_str(first(first(header, "source"), "endpoint")),
        destination_endpoint=_str(first(destination, "endpoint")),
        destination_use=_str(
            first(
                first(
                    _extension(destination, DESTINATION_USE_URL),
                    "valueCoding",
                ),
                "code",
            )
        ),
        event=_event(header),
        definition=_str(first(header, "definition")),
        authors=tuple(authors.values()),
        encounter=encounter,
        provenances=tuple(_provenance(p) for p in entries.of_type("Provenance")),
        entry_types=tuple(entries.types),
        specific_senders=tuple(
            _participant(entries, first(e, "valueReference"), "Communication.extension")
            for e in _extensions(communication, SENDER_EXT)
        ),
        recipients=tuple(
            _participant(entries, r, "Communication.recipient")
            for r in every(communication, "recipient")
        ),
    )


def _outcome_text(entries: Entries, response: Any) -> str | None:
    details = first(response, "details")
    if details is None:
        return None
    outcome = entries.resolve(details, "OperationOutcome", "MessageHeader.response.details")
    texts = [
        t
        for issue in every(outcome, "issue")
        if (t := _str(first(first(issue, "details"), "text")) or _str(first(issue, "diagnostics")))
    ]
    return "\n".join(texts) or None


def read_acknowledgement(bundle: Tree, entries: Entries | None = None) -> Acknowledgement:
    """An Acknowledgement bundle's tree as the model (FhirStructureError if unreadable)."""
    entries = entries or Entries(bundle)
    header = _header(entries)
    response = first(header, "response")
    identifier = _str(first(response, "identifier"))
    code = _str(first(response, "code"))
    if identifier is None or code is None:
        raise FhirStructureError(
            "an Acknowledgement's MessageHeader.response has an identifier and a code",
            code="fhir-missing-element",
            expression="MessageHeader.response",
        )
    destination = first(header, "destination")
    return Acknowledgement(
        bundle_id=_str(bundle.get("id")) or "",
        timestamp=_moment(first(bundle, "timestamp"), "Bundle.timestamp"),
        profile=_profile(bundle),
        header_id=_str(header.get("id")) or "",
        response_identifier=identifier,
        code=code,
        sender=_organization(
            entries.resolve(first(header, "sender"), "Organization", "MessageHeader.sender")
        ),
        receiver=_organization(
            entries.resolve(
                first(destination, "receiver"), "Organization", "MessageHeader.destination.receiver"
            )
        ),
        source_endpoint=_str(first(first(header, "source"), "endpoint")),
        destination_endpoint=_str(first(destination, "endpoint")),
        event=_event(header),
        provenances=tuple(_provenance(p) for p in entries.of_type("Provenance")),
        details=_outcome_text(entries, response),
    )


def read_fhir_tree(bundle: Tree) -> FhirMessage:
    """The model of a MedCom message tree, chosen by ``MessageHeader.eventCoding``."""
    entries = Entries(bundle)
    event = _event(_header(entries))
    if event == EVENT_ACKNOWLEDGEMENT:
        return read_acknowledgement(bundle, entries)
    if event == EVENT_CARE_COMMUNICATION:
        return read_care_communication(bundle, entries)
    raise FhirStructureError(
        f"the event {event!r} is not one Samspil carries (care-communication-message, "
        "acknowledgement-message)",
        code="fhir-unsupported-event",
        expression="MessageHeader.eventCoding",
    )


def read_fhir(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> FhirMessage:
    """Read a MedCom FHIR message (JSON or XML bytes) into its model."""
    tree, _ = parse_fhir(data, max_bytes=max_bytes)
    return read_fhir_tree(tree)
