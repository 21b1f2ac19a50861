"""Build MedCom CareCommunication and Acknowledgement bundles from their models.

The tree is made in FHIR's element order with MedCom's profiles in ``meta.profile``; each
entry's fullUrl is ``https://medcomfhir.dk/ig/carecommunication/<Type>/<id>`` and references
are relative (``Type/id``), as in MedCom's examples. :func:`build_fhir` gives the bytes in
FHIR JSON (the default) or XML.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from messages.fhir.codec import Tree, dump_json, dump_xml
from messages.fhir.model import (
    ACK_HEADER_PROFILE,
    ACTIVITY_SYSTEM,
    CATEGORY_SYSTEM,
    CC_COMMUNICATION_PROFILE,
    CC_HEADER_PROFILE,
    CC_PROVENANCE_PROFILE,
    CONTACT_EXT,
    DATETIME_EXT,
    DESTINATION_USE_SYSTEM,
    DESTINATION_USE_URL,
    ENCOUNTER_CLASS_SYSTEM,
    ENCOUNTER_PROFILE,
    EVENT_SYSTEM,
    FULL_URL_BASE,
    GLN_SYSTEM,
    IDENTIFIER_EXT,
    MESSAGING_PROVENANCE_PROFILE,
    ORGANIZATION_PROFILE,
    PATIENT_PROFILE,
    PRACTITIONER_EXT,
    PRACTITIONER_PROFILE,
    PRACTITIONER_ROLE_PROFILE,
    ROLE_SYSTEM,
    SOR_SYSTEM,
    Acknowledgement,
    AttachmentPayload,
    CareCommunication,
    Encounter,
    Organization,
    Patient,
    Practitioner,
    Provenance,
    TextPayload,
)

__all__ = ["acknowledgement_tree", "build_fhir", "care_communication_tree", "entry_layout"]


def _when(moment: datetime) -> str:
    return moment.isoformat()


def _meta(profile: str | None) -> dict[str, Any]:
    return {"meta": {"profile": [profile]}} if profile else {}


def _entry(resource: Tree) -> Tree:
    return {
        "fullUrl": f"{FULL_URL_BASE}{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def _ref(kind: str, rid: str) -> Tree:
    return {"reference": f"{kind}/{rid}"}


def _organization(org: Organization) -> Tree:
    identifiers = []
    if org.gln is not None:
        identifiers.append({"system": GLN_SYSTEM, "value": org.gln})
    if org.sor is not None:
        identifiers.append({"system": SOR_SYSTEM, "value": org.sor})
    tree: Tree = {"resourceType": "Organization", "id": org.id, **_meta(ORGANIZATION_PROFILE)}
    if identifiers:
        tree["identifier"] = identifiers
    if org.name is not None:
        tree["name"] = org.name
    if org.phone is not None:
        tree["telecom"] = [{"system": "phone", "value": org.phone, "use": "work"}]
    return tree


def _patient(patient: Patient) -> Tree:
    tree: Tree = {"resourceType": "Patient", "id": patient.id, **_meta(PATIENT_PROFILE)}
    if patient.identifiers:
        tree["identifier"] = [{"system": i.system, "value": i.value} for i in patient.identifiers]
    name: Tree = {"use": "official"}
    if patient.family is not None:
        name["family"] = patient.family
    if patient.given:
        name["given"] = list(patient.given)
    tree["name"] = [name]
    if patient.deceased:
        tree["deceasedBoolean"] = True
    address: Tree = {}
    if patient.street is not None:
        address["line"] = [patient.street]
    if patient.city is not None:
        address["city"] = patient.city
    if patient.postal_code is not None:
        address["postalCode"] = patient.postal_code
    if address:
        tree["address"] = [address]
    return tree


def _author_resources(author: Practitioner) -> list[Tree]:
    role: Tree = {
        "resourceType": "PractitionerRole",
        "id": author.role_id,
        **_meta(PRACTITIONER_ROLE_PROFILE),
    }
    resources = [role]
    if author.practitioner_id is not None:
        role["practitioner"] = _ref("Practitioner", author.practitioner_id)
        name: Tree = {}
        if author.family is not None:
            name["family"] = author.family
        if author.given:
            name["given"] = list(author.given)
        person: Tree = {
            "resourceType": "Practitioner",
            "id": author.practitioner_id,
            **_meta(PRACTITIONER_PROFILE),
        }
        if name:
            person["name"] = [name]
        resources.append(person)
    code: Tree = {}
    if author.role_code is not None:
        code["coding"] = [{"system": ROLE_SYSTEM, "code": author.role_code}]
    if author.role_text is not None:
        code["text"] = author.role_text
    if code:
        role["code"] = [code]
    return resources


def _encounter(encounter: Encounter, patient_id: str) -> Tree:
    tree: Tree = {"resourceType": "Encounter", "id": encounter.id, **_meta(ENCOUNTER_PROFILE)}
    if encounter.status is not None:
        tree["status"] = encounter.status
    if encounter.class_code is not None:
        tree["class"] = {"system": ENCOUNTER_CLASS_SYSTEM, "code": encounter.class_code}
    tree["subject"] = _ref("Patient", patient_id)
    if encounter.episode_identifiers:
        tree["episodeOfCare"] = [
            {
                "identifier": {"system": i.system, "value": i.value}
                if i.system
                else {"value": i.value}
            }
            for i in encounter.episode_identifiers
        ]
    return tree


def _payload_head(
    moment: datetime | None, identifier: str, sender_id: str, author_role_id: str | None
) -> list[Tree]:
    extensions: list[Tree] = []
    if moment is not None:
        extensions.append({"url": DATETIME_EXT, "valueDateTime": _when(moment)})
    extensions.append(
        {
            "url": IDENTIFIER_EXT,
            "valueIdentifier": {"value": identifier, "assigner": _ref("Organization", sender_id)},
        }
    )
    if author_role_id is not None:
        extensions.append(
            {"url": PRACTITIONER_EXT, "valueReference": _ref("PractitionerRole", author_role_id)}
        )
    return extensions


def _text_payload(payload: TextPayload, sender_id: str) -> Tree:
    extensions = _payload_head(
        payload.moment, payload.identifier, sender_id, payload.author_role_id
    )
    if payload.contact_phone is not None:
        extensions.append(
            {
                "url": CONTACT_EXT,
                "valueContactPoint": {"system": "phone", "value": payload.contact_phone},
            }
        )
    return {"extension": extensions, "contentString": payload.text}


def _attachment_payload(payload: AttachmentPayload, sender_id: str) -> Tree:
    attachment: Tree = {}
    if payload.content_type is not None:
        attachment["contentType"] = payload.content_type
    if payload.data is not None:
        attachment["data"] = payload.data
    if payload.url is not None:
        attachment["url"] = payload.url
    if payload.title is not None:
        attachment["title"] = payload.title
    return {
        "extension": _payload_head(
            payload.moment, payload.identifier, sender_id, payload.author_role_id
        ),
        "contentAttachment": attachment,
    }


def _communication(message: CareCommunication) -> Tree:
    tree: Tree = {
        "resourceType": "Communication",
        "id": message.communication_id,
        **_meta(CC_COMMUNICATION_PROFILE),
        "identifier": [{"value": message.identifier}],
    }
    if message.status is not None:
        tree["status"] = message.status
    if message.category is not None:
        tree["category"] = [{"coding": [{"system": CATEGORY_SYSTEM, "code": message.category}]}]
    if message.priority is not None:
        tree["priority"] = message.priority
    tree["subject"] = _ref("Patient", message.patient.id)
    if message.topic is not None:
        tree["topic"] = {"text": message.topic}
    if message.encounter is not None:
        tree["encounter"] = _ref("Encounter", message.encounter.id)
    tree["payload"] = [_text_payload(t, message.sender.id) for t in message.texts] + [
        _attachment_payload(a, message.sender.id) for a in message.attachments
    ]
    return tree


def _provenance(provenance: Provenance, profile: str) -> Tree:
    tree: Tree = {
        "resourceType": "Provenance",
        "id": provenance.id,
        **_meta(profile),
        "target": [{"reference": provenance.target}],
    }
    if provenance.occurred is not None:
        tree["occurredDateTime"] = _when(provenance.occurred)
    if provenance.recorded is not None:
        tree["recorded"] = _when(provenance.recorded)
    if provenance.activity is not None:
        tree["activity"] = {"coding": [{"system": ACTIVITY_SYSTEM, "code": provenance.activity}]}
    if provenance.agent is not None:
        tree["agent"] = [{"who": {"reference": provenance.agent}}]
    entities = [
        {"role": "source", "what": {"identifier": {"value": v}}}
        for v in provenance.entity_identifiers
    ] + [{"role": "revision", "what": {"reference": r}} for r in provenance.entity_references]
    if entities:
        tree["entity"] = entities
    return tree


def _header(
    *,
    header_id: str,
    profile: str,
    event: str | None,
    destination_use: str | None,
    destination_endpoint: str | None,
    receiver_id: str,
    sender_id: str,
    source_endpoint: str | None,
) -> Tree:
    destination: Tree = {}
    if destination_use is not None:
        destination["extension"] = [
            {
                "url": DESTINATION_USE_URL,
                "valueCoding": {"system": DESTINATION_USE_SYSTEM, "code": destination_use},
            }
        ]
    destination["endpoint"] = destination_endpoint or ""
    destination["receiver"] = _ref("Organization", receiver_id)
    return {
        "resourceType": "MessageHeader",
        "id": header_id,
        **_meta(profile),
        "eventCoding": {"system": EVENT_SYSTEM, "code": event or ""},
        "destination": [destination],
        "sender": _ref("Organization", sender_id),
        "source": {"endpoint": source_endpoint or ""},
    }


def _bundle(
    bundle_id: str, profile: str | None, timestamp: datetime | None, entries: list[Tree]
) -> Tree:
    tree: Tree = {"resourceType": "Bundle", "id": bundle_id, **_meta(profile), "type": "message"}
    if timestamp is not None:
        tree["timestamp"] = _when(timestamp)
    tree["entry"] = entries
    return tree


def entry_layout(message: CareCommunication) -> tuple[str, ...]:
    """The resource types of the entries :func:`care_communication_tree` writes, in order
    (what :attr:`CareCommunication.entry_types` holds for a bundle read back)."""
    types = ["MessageHeader", "Patient", "Communication"]
    for author in message.authors:
        types.append("PractitionerRole")
        if author.practitioner_id is not None:
            types.append("Practitioner")
    if message.encounter is not None:
        types.append("Encounter")
    types.append("Organization")
    if message.sender.id != message.receiver.id:
        types.append("Organization")
    types.extend("Provenance" for _ in message.provenances)
    return tuple(types)


def care_communication_tree(message: CareCommunication) -> Tree:
    """The CareCommunication's bundle as a FHIR JSON tree."""
    header = _header(
        header_id=message.header_id,
        profile=CC_HEADER_PROFILE,
        event=message.event,
        destination_use=message.destination_use,
        destination_endpoint=message.destination_endpoint,
        receiver_id=message.receiver.id,
        sender_id=message.sender.id,
        source_endpoint=message.source_endpoint,
    )
    header["focus"] = [_ref("Communication", message.communication_id)]
    if message.definition is not None:
        header["definition"] = message.definition
    resources = [header, _patient(message.patient), _communication(message)]
    for author in message.authors:
        resources.extend(_author_resources(author))
    if message.encounter is not None:
        resources.append(_encounter(message.encounter, message.patient.id))
    resources.append(_organization(message.receiver))
    if message.sender.id != message.receiver.id:
        resources.append(_organization(message.sender))
    resources.extend(_provenance(p, CC_PROVENANCE_PROFILE) for p in message.provenances)
    return _bundle(
        message.bundle_id, message.profile, message.timestamp, [_entry(r) for r in resources]
    )


def acknowledgement_tree(ack: Acknowledgement) -> Tree:
    """The Acknowledgement's bundle as a FHIR JSON tree (with an OperationOutcome holding
    ``details`` when it has them)."""
    header = _header(
        header_id=ack.header_id,
        profile=ACK_HEADER_PROFILE,
        event=ack.event,
        destination_use="primary",
        destination_endpoint=ack.destination_endpoint,
        receiver_id=ack.receiver.id,
        sender_id=ack.sender.id,
        source_endpoint=ack.source_endpoint,
    )
    response: Tree = {"identifier": ack.response_identifier, "code": ack.code}
    resources = [header]
    resources.extend(_provenance(p, MESSAGING_PROVENANCE_PROFILE) for p in ack.provenances)
    if ack.details is not None:
        outcome_id = f"{ack.header_id}-outcome"[:64]
        response["details"] = _ref("OperationOutcome", outcome_id)
        resources.append(
            {
                "resourceType": "OperationOutcome",
                "id": outcome_id,
                "issue": [
                    {
                        "severity": "error",
                        "code": "processing",
                        "details": {"text": ack.details},
                    }
                ],
            }
        )
    header["response"] = response
    resources.append(_organization(ack.receiver))
    if ack.sender.id != ack.receiver.id:
        resources.append(_organization(ack.sender))
    return _bundle(ack.bundle_id, ack.profile, ack.timestamp, [_entry(r) for r in resources])


def build_fhir(
    message: CareCommunication | Acknowledgement, *, fmt: Literal["json", "xml"] = "json"
) -> bytes:
    """The message as FHIR JSON (default) or XML bytes, UTF-8."""
    tree = (
        care_communication_tree(message)
        if isinstance(message, CareCommunication)
        else acknowledgement_tree(message)
    )
    return dump_json(tree) if fmt == "json" else dump_xml(tree)
