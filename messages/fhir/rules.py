"""MedCom's profile rules for CareCommunication and Acknowledgement, one function each.

Every rule yields :class:`~messages.errors.FhirIssue` s with its own ``code``; its docstring
names the profile and invariant it states (``cc-n`` are the invariants
``medcom-careCommunication-n`` of MedCom's CareCommunication FSH profiles,
``medcomdk/dk-medcom-carecommunication``, ``input/fsh/``: cc-1 … cc-9, cc-11 … cc-15).
:func:`check_care_communication` and :func:`check_acknowledgement` run them all;
:func:`require_valid` raises :class:`~messages.errors.FhirProfileError` with every issue;
:func:`operation_outcome` answers the issues as a FHIR ``OperationOutcome``.

There is no cc-10: MedCom retired it (its ``status = 'unknown' or 'entered-in-error'`` is
commented out in the FSH since April 2024, when the profile fixed ``status``);
:func:`rule_status` states the status.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator

from messages.errors import FhirIssue, FhirProfileError
from messages.fhir.codec import Tree
from messages.fhir.model import (
    CATEGORY_DISPLAY,
    CC_DEFINITION_PREFIX,
    CPR_SYSTEM,
    EVENT_ACKNOWLEDGEMENT,
    EVENT_CARE_COMMUNICATION,
    MIME_FOR_EXTENSION,
    REPLACEMENT_CPR_OTHER_SYSTEM,
    REPLACEMENT_CPR_REGION_SYSTEM,
    Acknowledgement,
    CareCommunication,
    Organization,
    Participant,
)

__all__ = [
    "ALLOWED_MIME_TYPES",
    "CC_RULES",
    "ISSUE_SYSTEM",
    "check_acknowledgement",
    "check_care_communication",
    "is_urn_uuid4",
    "operation_outcome",
    "require_valid",
]

ISSUE_SYSTEM = "urn:samspil:fhir-rule"
CC = "MedComCareCommunicationMessage"
COMM = "MedComCareCommunication"
#: MIME types of the attachments MedCom's receivers show: those an XDIS91/XBIN01 can carry
ALLOWED_MIME_TYPES = frozenset(MIME_FOR_EXTENSION.values()) | {"application/rtf"}
#: medcom-messaging-activityCodes a CareCommunication's Provenance may carry
CC_ACTIVITIES = frozenset(
    {"new-message", "reply-message", "forward-message", "modified-message", "retract-message"}
)
_DEFINITION = re.compile(re.escape(CC_DEFINITION_PREFIX) + r"5\.\d+$")

Rule = Callable[[CareCommunication], Iterator[FhirIssue]]


def is_urn_uuid4(value: str | None) -> bool:
    """``urn:uuid:`` followed by a lower-case, hyphenated UUID of version 4."""
    if not value or not value.startswith("urn:uuid:") or len(value) != 45:
        return False
    try:
        parsed = uuid.UUID(value[9:])
    except ValueError:
        return False
    return parsed.version == 4 and str(parsed) == value[9:]


def _issue(code: str, message: str, expression: str, rule: str) -> FhirIssue:
    return FhirIssue(code=code, message=message, expression=expression, rule=rule)


def rule_cc1_header_first(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-1: entry[0] is the MessageHeader."""
    if not m.entry_types or m.entry_types[0] != "MessageHeader":
        yield _issue(
            "cc-1", "the first entry must be the MessageHeader", "Bundle.entry[0]", f"{CC} cc-1"
        )


def rule_cc2_one_patient(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-2: exactly one Patient in the bundle."""
    count = m.entry_types.count("Patient")
    if count != 1:
        yield _issue(
            "cc-2",
            f"the bundle holds {count} Patients; exactly one is allowed",
            "Bundle.entry",
            f"{CC} cc-2",
        )


def rule_cc3_provenance(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-3: a CareCommunication Provenance for the message
    (its target is this MessageHeader, its activity one of medcom-messaging-activityCodes)."""
    mine = [p for p in m.provenances if p.target.endswith(f"MessageHeader/{m.header_id}")]
    if not mine:
        yield _issue(
            "cc-3",
            "no Provenance has this MessageHeader as its target",
            "Bundle.entry",
            f"{CC} cc-3",
        )
    for p in mine:
        if p.activity not in CC_ACTIVITIES:
            yield _issue(
                "medcom-activity",
                f"Provenance.activity {p.activity!r} is not a CareCommunication activity",
                "Provenance.activity",
                "MedComCareCommunicationProvenance activity (medcom-messaging-activityCodes)",
            )


def rule_cc4_practitioner_names(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication cc-4/cc-8/cc-13: each payload author is a PractitionerRole
    referring to a Practitioner with a name (family or given)."""
    for author in m.authors:
        if author.practitioner_id is None:
            yield _issue(
                "cc-13",
                "the author's PractitionerRole refers to no Practitioner",
                "PractitionerRole.practitioner",
                f"{COMM} cc-13",
            )
        elif not author.family and not author.given:
            yield _issue(
                "cc-4",
                "the author's Practitioner has no name",
                "Practitioner.name",
                f"{COMM} cc-4/cc-8",
            )
    for index, text in enumerate(m.texts):
        if text.author_role_id is None:
            yield _issue(
                "cc-8",
                "the message text has no author",
                f"Communication.payload[{index}].extension",
                f"{COMM} cc-8",
            )


def rule_cc5_priority_only_referral(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication cc-5: ``priority`` only with category ``regarding-referral``."""
    if m.priority is not None and m.category != "regarding-referral":
        yield _issue(
            "cc-5",
            "a priority is allowed only on category regarding-referral",
            "Communication.priority",
            f"{COMM} cc-5",
        )


def rule_cc6_topic_with_other(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication cc-6: ``topic`` is required with category ``other``."""
    if m.category == "other" and not m.topic:
        yield _issue("cc-6", "category other needs a topic", "Communication.topic", f"{COMM} cc-6")


def rule_cc7_author_role(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication cc-7: a payload author's PractitionerRole names its role by
    a code or by a text, not both (``payload.extension(medcom-core-practitioner-extension)
    .value.resolve().all(code.coding.code.exists() xor code.text.exists())``)."""
    for author in m.authors:
        coded, worded = author.role_code is not None, author.role_text is not None
        if coded != worded:
            continue
        yield _issue(
            "cc-7",
            "the author's PractitionerRole names its role both by a code and by a text"
            if coded
            else "the author's PractitionerRole names no role (code.coding.code or code.text)",
            f"PractitionerRole/{author.role_id}.code",
            f"{COMM} cc-7",
        )


def rule_cc9_episode_identifier(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-9: an Encounter has ``episodeOfCare.identifier``."""
    if m.encounter is not None and not m.encounter.episode_identifiers:
        yield _issue(
            "cc-9",
            "the Encounter has no episode-of-care identifier",
            "Encounter.episodeOfCare",
            f"{CC} cc-9",
        )


def _belongs_to(parties: tuple[Participant, ...], org: Organization) -> bool:
    """FHIRPath's ``parties.managingOrganization.reference.resolve() = org or
    parties.organization.reference.resolve() = org``: ``=`` compares collections, so the
    organisations the CareTeams (or the PractitionerRoles) name must be ``org`` alone."""
    managing = tuple(o for p in parties if p.kind == "CareTeam" for o in p.organizations)
    own = tuple(o for p in parties if p.kind == "PractitionerRole" for o in p.organizations)
    return (org,) in (managing, own)


def _party_issues(
    parties: tuple[Participant, ...], org: Organization, code: str, party: str, where: str
) -> Iterator[FhirIssue]:
    if parties and not _belongs_to(parties, org):
        side = "sending" if party == "sender" else "receiving"
        message = f"the specific {party} does not belong to the {side} organisation"
        yield _issue(code, message, where, f"{CC} {code}")


def rule_cc11_specific_sender(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-11: a specific sender (the Communication's
    ``medcom-core-sender-extension``) belongs to ``MessageHeader.sender``: its
    ``CareTeam.managingOrganization`` or ``PractitionerRole.organization`` is that
    Organization. No specific sender: not evaluated."""
    return _party_issues(m.specific_senders, m.sender, "cc-11", "sender", "Communication.extension")


def rule_cc12_specific_recipient(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-12: a specific recipient (``Communication.recipient``)
    belongs to ``MessageHeader.destination.receiver``: its ``CareTeam.managingOrganization``
    or ``PractitionerRole.organization`` is that Organization. No recipient: not evaluated."""
    return _party_issues(m.recipients, m.receiver, "cc-12", "recipient", "Communication.recipient")


def rule_cc14_previous_message_named(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationProvenance cc-14: each entity (the previous message) has a
    ``what.reference`` or a ``what.identifier``."""
    for p in m.provenances:
        if p.unnamed_entities:
            yield _issue(
                "cc-14",
                "a Provenance entity names its message by neither reference nor identifier",
                "Provenance.entity.what",
                "MedComCareCommunicationProvenance cc-14",
            )


def rule_cc15_encounter_referenced(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessage cc-15: an Encounter is in the bundle exactly when
    ``Communication.encounter`` refers to it."""
    if ("Encounter" in m.entry_types) != (m.encounter is not None):
        yield _issue(
            "cc-15",
            "an Encounter is present exactly when Communication.encounter refers to it",
            "Communication.encounter",
            f"{CC} cc-15",
        )


def rule_identifiers_uuid4(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication: ``Communication.identifier`` and each payload's identifier
    are ``urn:uuid:`` + UUID v4."""
    if not is_urn_uuid4(m.identifier):
        yield _issue(
            "medcom-communication-identifier",
            "Communication.identifier must be urn:uuid: + a UUID v4",
            "Communication.identifier",
            f"{COMM} identifier",
        )
    identifiers = [t.identifier for t in m.texts] + [a.identifier for a in m.attachments]
    for index, identifier in enumerate(identifiers):
        if not is_urn_uuid4(identifier):
            yield _issue(
                "medcom-payload-identifier",
                "a payload's identifier must be urn:uuid: + a UUID v4",
                f"Communication.payload[{index}]",
                f"{COMM} payload identifier",
            )


def rule_definition(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessageHeader: ``definition`` is
    ``…MedComCareCommunicationMessageDefinition|5.<n>``."""
    if m.definition is None or not _DEFINITION.match(m.definition):
        yield _issue(
            "medcom-definition",
            "MessageHeader.definition must name CareCommunication 5.x",
            "MessageHeader.definition",
            "MedComCareCommunicationMessageHeader definition",
        )


def rule_status(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication: ``status`` is ``unknown`` (``entered-in-error`` on retraction;
    the retired cc-10 allowed both)."""
    retracting = any(p.activity == "retract-message" for p in m.provenances)
    allowed = {"unknown", "entered-in-error"} if retracting else {"unknown"}
    if m.status not in allowed:
        yield _issue(
            "medcom-status",
            f"Communication.status must be {' or '.join(sorted(allowed))}",
            "Communication.status",
            f"{COMM} status",
        )


def rule_category(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication: ``category`` is a code of medcom-careCommunication-categoryCodes."""
    if m.category not in CATEGORY_DISPLAY:
        yield _issue(
            "medcom-category",
            f"the category {m.category!r} is not a MedCom category code",
            "Communication.category",
            f"{COMM} category",
        )


def rule_event(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunicationMessageHeader: ``eventCoding`` is ``care-communication-message``
    and the one destination's use is ``primary`` (no carbon copy)."""
    if m.event != EVENT_CARE_COMMUNICATION:
        yield _issue(
            "medcom-event",
            "MessageHeader.eventCoding must be care-communication-message",
            "MessageHeader.eventCoding",
            "MedComCareCommunicationMessageHeader eventCoding",
        )
    if m.destination_use != "primary":
        yield _issue(
            "medcom-destination-use",
            "the destination's use must be primary",
            "MessageHeader.destination.extension",
            "MedComCareCommunicationMessageHeader destination use",
        )


def rule_mime_types(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication: an attachment's ``contentType`` is one of MedCom's MIME types."""
    for index, attachment in enumerate(m.attachments):
        if attachment.content_type not in ALLOWED_MIME_TYPES:
            yield _issue(
                "medcom-mime-type",
                f"the attachment's type {attachment.content_type!r} is not one MedCom allows",
                f"Communication.payload[{len(m.texts) + index}].contentAttachment.contentType",
                f"{COMM} attachment contentType",
            )


def _org_issues(org: Organization, role: str) -> Iterator[FhirIssue]:
    if not org.sor:
        yield _issue(
            "medcom-sor-missing",
            f"the {role} organisation has no SOR identifier",
            f"Organization/{org.id}.identifier",
            "MedComMessagingOrganization identifier:SOR-ID",
        )
    if not org.gln:
        yield _issue(
            "medcom-gln-missing",
            f"the {role} organisation has no GLN (EAN location number)",
            f"Organization/{org.id}.identifier",
            "MedComMessagingOrganization identifier:EAN-ID",
        )


def rule_sor_and_gln(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComMessagingOrganization: sender and receiver each carry a SOR code and a GLN."""
    yield from _org_issues(m.sender, "sender")
    yield from _org_issues(m.receiver, "receiver")


def rule_patient_identifier(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCorePatient: an identifier that is a CPR or a replacement CPR."""
    systems = {i.system for i in m.patient.identifiers}
    if not systems & {CPR_SYSTEM, REPLACEMENT_CPR_REGION_SYSTEM, REPLACEMENT_CPR_OTHER_SYSTEM}:
        yield _issue(
            "medcom-patient-identifier",
            "the patient has no CPR or replacement CPR",
            "Patient.identifier",
            "MedComCorePatient identifier",
        )


def rule_text_present(m: CareCommunication) -> Iterator[FhirIssue]:
    """MedComCareCommunication: at least one payload with the message text (a FHIR string
    is never empty)."""
    if not m.texts or any(not t.text for t in m.texts):
        yield _issue(
            "medcom-text-missing",
            "the message has no text",
            "Communication.payload",
            f"{COMM} payload:string",
        )


CC_RULES: tuple[Rule, ...] = (
    rule_cc1_header_first,
    rule_cc2_one_patient,
    rule_cc3_provenance,
    rule_cc4_practitioner_names,
    rule_cc5_priority_only_referral,
    rule_cc6_topic_with_other,
    rule_cc7_author_role,
    rule_cc9_episode_identifier,
    rule_cc11_specific_sender,
    rule_cc12_specific_recipient,
    rule_cc14_previous_message_named,
    rule_cc15_encounter_referenced,
    rule_identifiers_uuid4,
    rule_definition,
    rule_status,
    rule_category,
    rule_event,
    rule_mime_types,
    rule_sor_and_gln,
    rule_patient_identifier,
    rule_text_present,
)


def check_care_communication(m: CareCommunication) -> tuple[FhirIssue, ...]:
    """Every profile rule the CareCommunication breaks (empty when it follows them all)."""
    return tuple(issue for rule in CC_RULES for issue in rule(m))


def check_acknowledgement(ack: Acknowledgement) -> tuple[FhirIssue, ...]:
    """MedComAcknowledgementMessage: event ``acknowledgement-message``, a response to a
    MessageHeader id, a code (the list is open: any non-empty code is read), SOR and GLN."""
    issues: list[FhirIssue] = []
    if ack.event != EVENT_ACKNOWLEDGEMENT:
        issues.append(
            _issue(
                "medcom-event",
                "MessageHeader.eventCoding must be acknowledgement-message",
                "MessageHeader.eventCoding",
                "MedComAcknowledgementMessageHeader eventCoding",
            )
        )
    if not ack.response_identifier:
        issues.append(
            _issue(
                "medcom-response-identifier",
                "the response names no MessageHeader",
                "MessageHeader.response.identifier",
                "MedComAcknowledgementMessageHeader response",
            )
        )
    issues.extend(_org_issues(ack.sender, "sender"))
    issues.extend(_org_issues(ack.receiver, "receiver"))
    return tuple(issues)


def require_valid(message: CareCommunication | Acknowledgement) -> None:
    """Raise FhirProfileError with every issue, if the message breaks any rule."""
    issues = (
        check_care_communication(message)
        if isinstance(message, CareCommunication)
        else check_acknowledgement(message)
    )
    if issues:
        raise FhirProfileError(issues)


def operation_outcome(issues: tuple[FhirIssue, ...] | list[FhirIssue]) -> Tree:
    """The issues as a FHIR ``OperationOutcome`` (each issue's code in ``details.coding``)."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "invariant" if i.code.startswith("cc-") else "business-rule",
                "details": {
                    "coding": [{"system": ISSUE_SYSTEM, "code": i.code}],
                    "text": i.message,
                },
                **({"expression": [i.expression]} if i.expression else {}),
            }
            for i in issues
        ],
    }
