"""MedCom's profile rules: a valid CareCommunication passes them all; each broken rule is
reported with its own code, all of them together in a FhirProfileError, and as an
OperationOutcome an independent FHIR library reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from messages.errors import FhirProfileError, FhirStructureError
from messages.fhir.build import care_communication_tree
from messages.fhir.model import (
    PRACTITIONER_EXT,
    REPLACEMENT_CPR_REGION_SYSTEM,
    AttachmentPayload,
    CareCommunication,
    Encounter,
    Organization,
    Participant,
    PatientIdentifier,
)
from messages.fhir.read import read_care_communication
from messages.fhir.rules import (
    CC_RULES,
    check_acknowledgement,
    check_care_communication,
    is_urn_uuid4,
    operation_outcome,
    require_valid,
)
from tests.fhir_samples import sample_care_communication, with_specific_parties
from tests.unit.test_fhir_read_build import ACK

VALID = sample_care_communication()
R = dataclasses.replace


def _drop_author(m: CareCommunication) -> CareCommunication:
    return R(m, authors=(R(m.authors[0], family=None, given=()),))


BROKEN: list[tuple[str, Callable[[CareCommunication], CareCommunication]]] = [
    ("cc-1", lambda m: R(m, entry_types=(*m.entry_types[1:], m.entry_types[0]))),
    ("cc-2", lambda m: R(m, entry_types=(*m.entry_types, "Patient"))),
    ("cc-3", lambda m: R(m, provenances=())),
    ("medcom-activity", lambda m: R(m, provenances=(R(m.provenances[0], activity="x"),))),
    ("cc-4", _drop_author),
    ("cc-13", lambda m: R(m, authors=(R(m.authors[0], practitioner_id=None),))),
    ("cc-8", lambda m: R(m, texts=(R(m.texts[0], author_role_id=None),))),
    ("cc-5", lambda m: R(m, priority="asap")),
    ("cc-6", lambda m: R(m, topic=None)),
    ("cc-7", lambda m: R(m, authors=(R(m.authors[0], role_code=None),))),  # no role
    ("cc-7", lambda m: R(m, authors=(R(m.authors[0], role_text="Sygeplejerske"),))),  # both
    (
        "cc-11",  # the specific sender is the receiver's
        lambda m: R(m, specific_senders=(Participant("PractitionerRole", "r", (m.receiver,)),)),
    ),
    ("cc-11", lambda m: R(m, specific_senders=(Participant("PractitionerRole", "r"),))),
    ("cc-12", lambda m: R(m, recipients=(Participant("CareTeam", "t", (m.sender,)),))),
    (
        "cc-12",  # FHIRPath's = compares collections: the receiver and another is not it
        lambda m: R(m, recipients=(Participant("CareTeam", "t", (m.receiver, m.sender)),)),
    ),
    ("cc-9", lambda m: R(m, encounter=R(m.encounter or Encounter(id="e"), episode_identifiers=()))),
    ("cc-14", lambda m: R(m, provenances=(R(m.provenances[0], unnamed_entities=1),))),
    ("cc-15", lambda m: R(m, entry_types=tuple(t for t in m.entry_types if t != "Encounter"))),
    ("medcom-communication-identifier", lambda m: R(m, identifier="urn:uuid:not-a-uuid")),
    (
        "medcom-communication-identifier",  # a UUID, but version 1
        lambda m: R(m, identifier="urn:uuid:a8098c1a-f86e-11da-bd1a-00112444be1e"),
    ),
    ("medcom-payload-identifier", lambda m: R(m, texts=(R(m.texts[0], identifier="42"),))),
    (
        "medcom-definition",
        lambda m: R(m, definition=m.definition.replace("|5.0", "|4.0") if m.definition else None),
    ),
    ("medcom-status", lambda m: R(m, status="completed")),
    ("medcom-category", lambda m: R(m, category="gossip")),
    ("medcom-event", lambda m: R(m, event="acknowledgement-message")),
    ("medcom-destination-use", lambda m: R(m, destination_use="cc")),
    (
        "medcom-mime-type",
        lambda m: R(m, attachments=(R(m.attachments[0], content_type="application/x-msdownload"),)),
    ),
    ("medcom-sor-missing", lambda m: R(m, sender=R(m.sender, sor=None))),
    ("medcom-gln-missing", lambda m: R(m, receiver=R(m.receiver, gln=None))),
    ("medcom-patient-identifier", lambda m: R(m, patient=R(m.patient, identifiers=()))),
    ("medcom-text-missing", lambda m: R(m, texts=())),
]


def test_the_sample_follows_every_rule() -> None:
    assert check_care_communication(VALID) == ()
    require_valid(VALID)
    assert check_acknowledgement(ACK) == ()


@pytest.mark.parametrize(
    ("code", "damage"), BROKEN, ids=[f"{c}-{i}" for i, (c, _) in enumerate(BROKEN)]
)
def test_each_broken_rule_has_its_code(
    code: str, damage: Callable[[CareCommunication], CareCommunication]
) -> None:
    codes = [issue.code for issue in check_care_communication(damage(VALID))]
    assert codes == [code]
    with pytest.raises(FhirProfileError) as caught:
        require_valid(damage(VALID))
    assert [issue.code for issue in caught.value.issues] == [code]
    assert caught.value.code == code


def test_every_rule_cites_its_profile() -> None:
    for rule in CC_RULES:
        assert "MedCom" in (rule.__doc__ or ""), rule.__name__


def test_a_replacement_cpr_is_a_patient_identifier() -> None:
    patient = R(
        VALID.patient,
        identifiers=(PatientIdentifier(REPLACEMENT_CPR_REGION_SYSTEM, "010180K001"),),
    )
    assert check_care_communication(R(VALID, patient=patient)) == ()


def test_entered_in_error_only_on_retraction() -> None:
    retracting = R(
        VALID,
        status="entered-in-error",
        provenances=(R(VALID.provenances[0], activity="retract-message"),),
    )
    assert check_care_communication(retracting) == ()


def test_urn_uuid4() -> None:
    assert is_urn_uuid4("urn:uuid:da1edb7c-6e7c-4af8-bdd1-94f4aa99908a")
    assert not is_urn_uuid4("da1edb7c-6e7c-4af8-bdd1-94f4aa99908a")
    assert not is_urn_uuid4("urn:uuid:DA1EDB7C-6E7C-4AF8-BDD1-94F4AA99908A")
    assert not is_urn_uuid4(None)


def test_acknowledgement_rules() -> None:
    codes = [i.code for i in check_acknowledgement(R(ACK, sender=Organization(id="x"), event="x"))]
    assert codes == ["medcom-event", "medcom-sor-missing", "medcom-gln-missing"]


def test_issues_become_an_operation_outcome() -> None:
    broken = R(
        VALID, category="other", topic=None, attachments=(AttachmentPayload("1", None, "x/y"),)
    )
    issues = check_care_communication(broken)
    outcome = operation_outcome(issues)
    parsed = OperationOutcome.model_validate(outcome)
    codes = [i.details.coding[0].code for i in parsed.issue if i.details and i.details.coding]
    assert codes == [i.code for i in issues]
    assert {"cc-6", "medcom-payload-identifier", "medcom-mime-type"} <= set(codes)
    assert all(i.severity == "error" for i in parsed.issue)
    stray = R(VALID, recipients=(Participant("CareTeam", "t"),))  # a team of no organisation
    outcome = operation_outcome(check_care_communication(stray))
    assert [
        (i.code, i.details.coding[0].code)
        for i in OperationOutcome.model_validate(outcome).issue
        if i.details and i.details.coding
    ] == [("invariant", "cc-12")]


def test_cc14_read_from_a_bundle() -> None:
    tree = care_communication_tree(VALID)
    provenance = next(
        e["resource"] for e in tree["entry"] if e["resource"]["resourceType"] == "Provenance"
    )
    provenance["entity"].append({"role": "source", "what": {"display": "the letter before"}})
    codes = [i.code for i in check_care_communication(read_care_communication(tree))]
    assert codes == ["cc-14"]


def test_a_specific_sender_and_recipient_of_their_organisations_pass() -> None:
    role = Participant("PractitionerRole", "r", (VALID.sender,))
    team = Participant("CareTeam", "t", (VALID.receiver,))
    assert check_care_communication(R(VALID, specific_senders=(role,), recipients=(team,))) == ()
    team_as_sender = Participant("CareTeam", "t", (VALID.sender,))
    gp = Participant("PractitionerRole", "g", (VALID.receiver,))  # a named GP
    passing = R(VALID, specific_senders=(team_as_sender,), recipients=(gp,))
    assert check_care_communication(passing) == ()


def test_a_role_in_words_alone_passes_cc7() -> None:
    worded = R(VALID, authors=(R(VALID.authors[0], role_code=None, role_text="Sundhedsplejerske"),))
    assert check_care_communication(worded) == ()


def _resources(tree: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in tree["entry"] if e["resource"]["resourceType"] == kind]


def _parties_tree(sender_org: str, recipient_org: str) -> dict[str, Any]:
    return with_specific_parties(
        care_communication_tree(VALID), sender_org=sender_org, recipient_org=recipient_org
    )


def test_cc11_cc12_read_from_a_bundle() -> None:
    message = read_care_communication(_parties_tree(VALID.sender.id, VALID.receiver.id))
    assert [(p.kind, p.organizations) for p in message.specific_senders] == [
        ("PractitionerRole", (VALID.sender,))
    ]
    assert [(p.kind, p.organizations) for p in message.recipients] == [
        ("CareTeam", (VALID.receiver,))
    ]
    [author] = VALID.authors  # the specific sender's PractitionerRole: name and role read
    assert [(p.name, p.role_code) for p in message.specific_senders] == [
        (author.name, author.role_code)
    ]
    assert [p.name for p in message.recipients] == ["Team 1"]
    assert check_care_communication(message) == ()

    swapped = read_care_communication(_parties_tree(VALID.receiver.id, VALID.sender.id))
    assert [i.code for i in check_care_communication(swapped)] == ["cc-11", "cc-12"]


def test_cc12_a_care_team_of_a_third_organisation() -> None:
    tree = _parties_tree(VALID.sender.id, "33153a8a-97c8-4f55-b7ad-bbedee8bd0e1")
    third = {"resourceType": "Organization", "id": "33153a8a-97c8-4f55-b7ad-bbedee8bd0e1"}
    tree["entry"].append(
        {"fullUrl": "urn:uuid:33153a8a-97c8-4f55-b7ad-bbedee8bd0e1", "resource": third}
    )
    codes = [i.code for i in check_care_communication(read_care_communication(tree))]
    assert codes == ["cc-12"]


def test_a_recipient_must_be_a_practitioner_role_or_care_team() -> None:
    tree = _parties_tree(VALID.sender.id, VALID.receiver.id)
    [communication] = _resources(tree, "Communication")
    communication["recipient"] = [communication["subject"]]  # the Patient
    with pytest.raises(FhirStructureError) as caught:
        read_care_communication(tree)
    assert caught.value.code == "fhir-wrong-resource-type"


def test_cc7_read_from_a_bundle() -> None:
    tree = care_communication_tree(VALID)
    [role] = _resources(tree, "PractitionerRole")
    role["code"][0]["text"] = "Overlæge"
    codes = [i.code for i in check_care_communication(read_care_communication(tree))]
    assert codes == ["cc-7"]
    role["code"] = [{"text": "Overlæge"}]
    assert check_care_communication(read_care_communication(tree)) == ()


def test_cc7_holds_for_an_attachments_author_too() -> None:
    tree = care_communication_tree(VALID)
    [role] = _resources(tree, "PractitionerRole")
    uncoded = {**role, "id": "5d2a0f63-2f52-4a1c-9d0e-6c1f3b7e8a90"}
    del uncoded["code"]
    tree["entry"].append({"fullUrl": f"urn:uuid:{uncoded['id']}", "resource": uncoded})
    [communication] = _resources(tree, "Communication")
    attachment = next(p for p in communication["payload"] if "contentAttachment" in p)
    attachment["extension"].append(
        {
            "url": PRACTITIONER_EXT,
            "valueReference": {"reference": f"PractitionerRole/{uncoded['id']}"},
        }
    )
    message = read_care_communication(tree)
    assert message.attachments[0].author_role_id == uncoded["id"]
    assert [i.code for i in check_care_communication(message)] == ["cc-7"]
