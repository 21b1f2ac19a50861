"""MedCom's profile rules: a valid CareCommunication passes them all; each broken rule is
reported with its own code, all of them together in a FhirProfileError, and as an
OperationOutcome an independent FHIR library reads."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from messages.errors import FhirProfileError
from messages.fhir.build import care_communication_tree
from messages.fhir.model import (
    REPLACEMENT_CPR_REGION_SYSTEM,
    AttachmentPayload,
    CareCommunication,
    Encounter,
    Organization,
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
from tests.fhir_samples import sample_care_communication
from tests.unit.test_fhir_read_build import ACK

VALID = sample_care_communication()
R = dataclasses.replace


def _drop_author(m: CareCommunication) -> CareCommunication:
    return R(m, authors=(R(m.authors[0], family=None, given=()),))


BROKEN: list[tuple[str, Callable[[CareCommunication], CareCommunication]]] = [
    ("cc-1", lambda m: R(m, entry_types=("Patient", *m.entry_types[1:]))),
    ("cc-2", lambda m: R(m, entry_types=(*m.entry_types, "Patient"))),
    ("cc-3", lambda m: R(m, provenances=())),
    ("medcom-activity", lambda m: R(m, provenances=(R(m.provenances[0], activity="x"),))),
    ("cc-4", _drop_author),
    ("cc-13", lambda m: R(m, authors=(R(m.authors[0], practitioner_id=None),))),
    ("cc-8", lambda m: R(m, texts=(R(m.texts[0], author_role_id=None),))),
    ("cc-5", lambda m: R(m, priority="asap")),
    ("cc-6", lambda m: R(m, topic=None)),
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
    assert code in codes
    with pytest.raises(FhirProfileError) as caught:
        require_valid(damage(VALID))
    assert code in [issue.code for issue in caught.value.issues]


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


def test_cc14_read_from_a_bundle() -> None:
    tree = care_communication_tree(VALID)
    provenance = next(
        e["resource"] for e in tree["entry"] if e["resource"]["resourceType"] == "Provenance"
    )
    provenance["entity"].append({"role": "source", "what": {"display": "the letter before"}})
    codes = [i.code for i in check_care_communication(read_care_communication(tree))]
    assert codes == ["cc-14"]
