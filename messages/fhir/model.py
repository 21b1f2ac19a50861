"""Typed models of MedCom's FHIR messages: CareCommunication 5.x and Acknowledgement.

A model holds what Samspil reads and writes, by FHIR's names; the bundle's own resource ids
are kept so that a read-then-built bundle references the same resources. The canonical URLs,
code systems and identifier systems are constants here, one place for the whole package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ACK_BUNDLE_PROFILE",
    "CATEGORY_DISPLAY",
    "CC_BUNDLE_PROFILE",
    "CPR_SYSTEM",
    "GLN_SYSTEM",
    "MIME_FOR_EXTENSION",
    "SOR_SYSTEM",
    "AckCode",
    "Acknowledgement",
    "AttachmentPayload",
    "CareCommunication",
    "Encounter",
    "EpisodeIdentifier",
    "Organization",
    "Participant",
    "Patient",
    "PatientIdentifier",
    "Practitioner",
    "Provenance",
    "TextPayload",
]

IG = "http://medcomfhir.dk/ig"
CC_BUNDLE_PROFILE = f"{IG}/carecommunication/StructureDefinition/medcom-careCommunication-message"
CC_HEADER_PROFILE = (
    f"{IG}/carecommunication/StructureDefinition/medcom-careCommunication-messageHeader"
)
CC_COMMUNICATION_PROFILE = (
    f"{IG}/carecommunication/StructureDefinition/medcom-careCommunication-communication"
)
CC_PROVENANCE_PROFILE = (
    f"{IG}/carecommunication/StructureDefinition/medcom-careCommunication-provenance"
)
ACK_BUNDLE_PROFILE = f"{IG}/acknowledgement/StructureDefinition/medcom-messaging-acknowledgement"
ACK_HEADER_PROFILE = (
    f"{IG}/acknowledgement/StructureDefinition/medcom-messaging-acknowledgementHeader"
)
MESSAGING_PROVENANCE_PROFILE = f"{IG}/messaging/StructureDefinition/medcom-messaging-provenance"
ORGANIZATION_PROFILE = f"{IG}/messaging/StructureDefinition/medcom-messaging-organization"
PATIENT_PROFILE = f"{IG}/core/StructureDefinition/medcom-core-patient"
PRACTITIONER_PROFILE = f"{IG}/core/StructureDefinition/medcom-core-practitioner"
PRACTITIONER_ROLE_PROFILE = f"{IG}/core/StructureDefinition/medcom-core-practitionerrole"
ENCOUNTER_PROFILE = f"{IG}/core/StructureDefinition/medcom-core-encounter"

DESTINATION_USE_URL = f"{IG}/messaging/StructureDefinition/medcom-messaging-destinationUseExtension"
DESTINATION_USE_SYSTEM = f"{IG}/terminology/CodeSystem/medcom-messaging-destinationUse"
EVENT_SYSTEM = f"{IG}/terminology/CodeSystem/medcom-messaging-eventCodes"
ACTIVITY_SYSTEM = f"{IG}/terminology/CodeSystem/medcom-messaging-activityCodes"
CATEGORY_SYSTEM = f"{IG}/terminology/CodeSystem/medcom-careCommunication-categoryCodes"
ROLE_SYSTEM = f"{IG}/terminology/CodeSystem/medcom-core-PractitionerRolesSKSadministrativ"
DATETIME_EXT = f"{IG}/core/StructureDefinition/medcom-core-datetime-extension"
IDENTIFIER_EXT = f"{IG}/core/StructureDefinition/medcom-core-identifier-extension"
PRACTITIONER_EXT = f"{IG}/core/StructureDefinition/medcom-core-practitioner-extension"
CONTACT_EXT = f"{IG}/core/StructureDefinition/medcom-core-contact-extension"
#: Communication's specific sender (a PractitionerRole or CareTeam)
SENDER_EXT = f"{IG}/core/StructureDefinition/medcom-core-sender-extension"
CC_DEFINITION_PREFIX = (
    f"{IG}/messagedefinitions/MessageDefinition/MedComCareCommunicationMessageDefinition|"
)
CC_DEFINITION = CC_DEFINITION_PREFIX + "5.0"
ENCOUNTER_CLASS_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
FULL_URL_BASE = "https://medcomfhir.dk/ig/carecommunication/"
SOR_ENDPOINT = "https://sor2.sum.dsdn.dk/#id="

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
#: replacement CPR ("erstatnings-CPR") issued by a region: 7th character 1 or 7 (C5)
REPLACEMENT_CPR_REGION_SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
#: any other replacement CPR (C5)
REPLACEMENT_CPR_OTHER_SYSTEM = "urn:oid:1.2.208.176.1.6.1.3"
SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
GLN_SYSTEM = "https://www.gs1.org/gln"

EVENT_CARE_COMMUNICATION = "care-communication-message"
EVENT_ACKNOWLEDGEMENT = "acknowledgement-message"

#: MedCom's category codes (medcom-careCommunication-categoryCodes) and their Danish
#: designations, which make the XDIS91 Subject (C7). The list is MedCom's; it grows.
CATEGORY_DISPLAY: dict[str, str] = {
    "alcohol-and-drug-treatment": "Rusmiddelbehandling",
    "assistive-devices": "Hjælpemidler",
    "carecoordination": "Forløbskoordinering",
    "decease": "Dødsfald",
    "discharge": "Udskrivelse",
    "examination-results": "Undersøgelsessvar",
    "healthcare": "Sundhedspleje",
    "home-care-assessment": "Visitation",
    "medicine": "Medicin",
    "nursing": "Sygepleje",
    "outpatient": "Ambulant",
    "psychiatry-social-disability": "Psykiatri, social, handicap",
    "regarding-referral": "Vedr. henvisning",
    "telemedicine": "Telemedicin",
    "training": "Træning",
    "acute-ambulant": "Akut ambulant",
    "extended-care-responsibility": "Udvidet behandlingsansvar",
    "other": "Andet",
}


#: ObjectExtensionCode → MIME type (the MIME types MedCom's attachments may have)
MIME_FOR_EXTENSION: dict[str, str] = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "tiff": "image/tiff",
    "bmp": "image/bmp",
    "txt": "text/plain",
    "rtf": "text/rtf",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "wav": "audio/wav",
    "avi": "video/x-msvideo",
    "mpg": "video/mpeg",
    "dcm": "application/dicom",
}


class AckCode(StrEnum):
    """``MessageHeader.response.code``. Samspil reads any code (the list is open: an
    unknown one is kept as a string); these are the three FHIR defines."""

    OK = "ok"  # HL7 v2 AA
    TRANSIENT_ERROR = "transient-error"  # AR: retry
    FATAL_ERROR = "fatal-error"  # AE: do not resend unchanged


@dataclass(frozen=True, slots=True)
class Organization:
    """A ``MedComMessagingOrganization``: SOR code and GLN (both required by the profile)."""

    id: str
    sor: str | None = None
    gln: str | None = None
    name: str | None = None
    phone: str | None = None  # telecom (system phone)


@dataclass(frozen=True, slots=True)
class PatientIdentifier:
    system: str
    value: str

    def __repr__(self) -> str:  # CPR numbers stay out of reprs and logs
        return f"PatientIdentifier(system={self.system!r}, value=***)"


@dataclass(frozen=True, slots=True)
class Patient:
    """``MedComCorePatient``: identifiers (CPR or replacement), the official name."""

    id: str
    identifiers: tuple[PatientIdentifier, ...] = ()
    family: str | None = None
    given: tuple[str, ...] = ()
    street: str | None = None  # address.line[0]
    city: str | None = None  # address.city
    postal_code: str | None = None  # address.postalCode
    deceased: bool = False  # deceasedBoolean

    def __repr__(self) -> str:
        return f"Patient(id={self.id!r}, identifiers={len(self.identifiers)})"

    @property
    def cprs(self) -> tuple[str, ...]:
        return tuple(i.value for i in self.identifiers if i.system == CPR_SYSTEM)


@dataclass(frozen=True, slots=True)
class Practitioner:
    """The author: a ``PractitionerRole`` (its code) and its ``Practitioner`` (the name)."""

    role_id: str
    practitioner_id: str | None
    role_code: str | None = None  # code.coding.code (medcom-core-PractitionerRolesSKSadministrativ)
    family: str | None = None
    given: tuple[str, ...] = ()
    role_text: str | None = None  # code.text: the role in words, instead of a code (cc-7)

    @property
    def name(self) -> str:
        return " ".join([*self.given, *([self.family] if self.family else [])])


@dataclass(frozen=True, slots=True)
class Participant:
    """A specific sender (Communication's ``medcom-core-sender-extension``) or recipient
    (``Communication.recipient``): a ``PractitionerRole`` or a ``CareTeam``, and the
    organisations it belongs to (``PractitionerRole.organization``,
    ``CareTeam.managingOrganization``), which cc-11 and cc-12 compare with the message's;
    its name and role, which C7 writes into an XDIS91's text."""

    kind: str  # "PractitionerRole" or "CareTeam"
    id: str
    organizations: tuple[Organization, ...] = ()
    name: str | None = None  # CareTeam.name, or the PractitionerRole's Practitioner's name
    role_code: str | None = None  # PractitionerRole.code.coding.code
    role_text: str | None = None  # PractitionerRole.code.text


@dataclass(frozen=True, slots=True)
class EpisodeIdentifier:
    system: str | None
    value: str


@dataclass(frozen=True, slots=True)
class Encounter:
    """``MedComCoreEncounter``: status, class and the episode-of-care identifiers."""

    id: str
    status: str | None = None
    class_code: str | None = None
    episode_identifiers: tuple[EpisodeIdentifier, ...] = ()
    subject: str | None = None  # the Patient resource id


@dataclass(frozen=True, slots=True)
class TextPayload:
    """A message segment with the text: date, identifier, author and contact. The text is
    kept out of the repr (a letter's body never reaches a log through a traceback)."""

    text: str = field(repr=False)
    identifier: str  # urn:uuid:…
    moment: datetime | None
    author_role_id: str | None = None  # the PractitionerRole's id
    contact_phone: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentPayload:
    """A message segment with an attachment (``contentAttachment``)."""

    identifier: str  # urn:uuid:…
    moment: datetime | None
    content_type: str | None
    data: str | None = field(default=None, repr=False)  # base64, as carried
    title: str | None = None
    url: str | None = None
    author_role_id: str | None = None  # the PractitionerRole's id (optional on an attachment)


@dataclass(frozen=True, slots=True)
class Provenance:
    id: str
    target: str  # the reference, e.g. MessageHeader/<id>
    activity: str | None
    occurred: datetime | None
    recorded: datetime | None
    agent: str | None  # the Organization resource id
    entity_identifiers: tuple[str, ...] = ()  # entity.what.identifier.value
    entity_references: tuple[str, ...] = ()  # entity.what.reference
    unnamed_entities: int = 0  # entities whose ``what`` has neither (cc-14 forbids them)


@dataclass(frozen=True, slots=True)
class CareCommunication:
    """A MedCom CareCommunication message bundle."""

    bundle_id: str
    timestamp: datetime | None
    header_id: str
    communication_id: str
    identifier: str  # Communication.identifier.value: urn:uuid + UUID v4
    status: str | None
    category: str | None
    topic: str | None
    priority: str | None
    texts: tuple[TextPayload, ...]
    attachments: tuple[AttachmentPayload, ...]
    patient: Patient
    sender: Organization
    receiver: Organization
    source_endpoint: str | None
    destination_endpoint: str | None
    destination_use: str | None
    event: str | None
    definition: str | None
    authors: tuple[Practitioner, ...] = ()
    encounter: Encounter | None = None
    provenances: tuple[Provenance, ...] = ()
    #: every entry's resource type, in bundle order (cc-1, cc-2 look at these)
    entry_types: tuple[str, ...] = ()
    profile: str | None = None
    bundle_type: str | None = None
    #: a more specific sender and recipient than the organisations (cc-11, cc-12). Read for
    #: the rules and for C7 (an XDIS91 carries them as text only); Samspil's own bundles
    #: name none, and :mod:`~messages.fhir.build` writes none
    specific_senders: tuple[Participant, ...] = ()
    recipients: tuple[Participant, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(t.text for t in self.texts)

    def author(self, role_id: str | None) -> Practitioner | None:
        return next((a for a in self.authors if a.role_id == role_id), None)


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A MedCom Acknowledgement: the answer to one message's MessageHeader."""

    bundle_id: str
    timestamp: datetime | None
    header_id: str
    response_identifier: str  # the acknowledged MessageHeader's id
    code: str  # AckCode value, or any other code (the list is open)
    sender: Organization
    receiver: Organization
    source_endpoint: str | None
    destination_endpoint: str | None
    event: str | None = EVENT_ACKNOWLEDGEMENT
    provenances: tuple[Provenance, ...] = ()
    details: str | None = None  # response.details → OperationOutcome text, when negative
    profile: str | None = ACK_BUNDLE_PROFILE

    @property
    def positive(self) -> bool:
        return self.code == AckCode.OK
