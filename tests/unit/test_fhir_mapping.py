"""The overview as FHIR (:mod:`coordinator.fhir.mapping`): pure functions, each answer parsed
by an independent FHIR library (``fhir.resources``, R4B models)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from coordinator.fhir import mapping
from coordinator.fhir.capability import CAPABILITY_STATEMENT
from coordinator.fhir.mapping import Kind
from coordinator.fhir.outcome import as_outcome
from coordinator.index.consent import Missing
from coordinator.index.store import Opener, Overview
from coordinator.problems import PROBLEM_CODE, problem
from wire.directory import Sector

CPR = "0101174123"
OWN, OTHER = "5790000020019", "5790000030018"
BASE = "https://hub.example/fhir/r4/"
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _org(gln: str, sector: str, sor: str | None) -> dict[str, Any]:
    return {"org_gln": gln, "org_name": f"Org {gln[-4:]}", "org_sector": sector, "org_sor": sor}


def _contact(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "contact_name": name,
        "contact_role": "psykolog",
        "contact_phone": extra.get("phone"),
        "contact_email": extra.get("email"),
    }


def _case(gln: str, sector: str, *, status: str = "active", sor: str | None = None) -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        ref="C-1",
        kind="ppr-assessment",
        status=status,
        opened_on=date(2026, 1, 5),
        closed_on=date(2026, 2, 1) if status == "closed" else None,
        title="Udredning",
        **_contact("Kim Jensen", phone="+45 99 31 31 31", email="kim@example.invalid"),
        **_org(gln, sector, sor),
    )


def _appointment(gln: str, sector: str, status: str = "booked") -> Any:
    return SimpleNamespace(
        id=uuid.uuid4(),
        ref="A-1",
        case_ref="C-1",
        starts_at=START,
        ends_at=START.replace(hour=10),
        status=status,
        location="Vesterbro 12, Aalborg",
        with_name="Kim Jensen",
        with_role="psykolog",
        **_org(gln, sector, None),
    )


def _overview() -> Overview:
    return Overview(
        age=9,
        caller_sector=Sector.PPR,
        verdicts={
            Sector.PPR: None,
            Sector.FAMILY: None,
            Sector.PSYCHIATRY: Missing.VERIFIED_CONSENT_NEEDED,
            Sector.GP: Missing.NO_CONSENT,
        },
        own_cases=[_case(OWN, "ppr", status="closed"), _case(OWN, "ppr", sor="123456789012345")],
        own_appointments=[_appointment(OWN, "ppr", "completed")],
        other_cases=[_case(OTHER, "family")],
        other_appointments=[_appointment(OTHER, "family", "no-show")],
        coordinator=SimpleNamespace(**_contact("Lene Holm"), **_org(OTHER, "family", None)),
        disclosed=[OTHER],
        opened_by=[
            Opener(
                relation="custodial-parent",
                verification="attested",
                valid_until=datetime(2027, 6, 1, tzinfo=UTC),
                sectors=frozenset({Sector.PPR, Sector.FAMILY}),
                recorded_by_you=True,
            )
        ],
    )


def _parsed(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` once it has parsed as FHIR, after a JSON round trip (as it travels)."""
    travelled: dict[str, Any] = json.loads(json.dumps(resource))
    get_fhir_model_class(travelled["resourceType"]).model_validate(travelled)
    return travelled


def test_a_case_is_an_episode_of_care_naming_the_child_by_its_cpr_identifier_only() -> None:
    closed, active = _overview().own_cases
    own = _parsed(mapping.episode_of_care(closed, cpr=CPR, own=True))
    assert own["patient"] == {
        "type": "Patient",
        "identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": CPR},
    }
    assert (own["status"], own["period"]) == (
        "finished",
        {"start": "2026-01-05", "end": "2026-02-01"},
    )
    assert own["identifier"][0]["value"] == "C-1"
    assert own["managingOrganization"] == {
        "reference": f"Organization/{OWN}",
        "display": "Org 0019",
    }
    [manager] = own["contained"]
    assert own["careManager"]["reference"] == f"#{manager['id']}"
    assert {t["system"] for t in manager["telecom"]} == {"phone", "email"}
    other = _parsed(mapping.episode_of_care(active, cpr=CPR, own=False))
    assert "identifier" not in other  # the local reference stays with its owner
    assert "Udredning" not in json.dumps(other)  # nor its title
    assert other["status"] == "active"


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ("booked", "booked"),
        ("cancelled", "cancelled"),
        ("completed", "fulfilled"),
        ("no-show", "noshow"),
    ],
)
def test_an_appointment_status_maps_to_fhirs(ours: str, theirs: str) -> None:
    resource = _parsed(mapping.appointment(_appointment(OTHER, "family", ours), cpr=CPR, own=False))
    assert resource["status"] == theirs
    assert resource["start"] == "2026-12-07T09:00:00+00:00"
    actors = [p["actor"].get("type") for p in resource["participant"]]
    assert actors == ["Patient", "Practitioner", "Location"]
    assert resource["extension"][0]["valueReference"]["reference"] == f"Organization/{OTHER}"
    assert "identifier" not in resource


def test_the_care_team_is_the_coordinator_then_the_active_cases_contacts() -> None:
    team = _parsed(mapping.care_team(_overview(), cpr=CPR))
    roles = [
        (p["role"][0]["coding"][0]["code"], p["onBehalfOf"]["reference"])
        for p in team["participant"]
    ]
    assert roles == [
        ("coordinator", f"Organization/{OTHER}"),
        ("case-contact", f"Organization/{OWN}"),  # the closed own case's contact is not there
        ("case-contact", f"Organization/{OTHER}"),
    ]
    contained = {c["id"] for c in team["contained"]}
    assert {p["member"]["reference"][1:] for p in team["participant"]} == contained
    assert team["managingOrganization"] == [
        {"reference": f"Organization/{OTHER}", "display": "Org 0018"}
    ]


def test_ids_are_stable_for_the_caller_and_say_nothing_of_the_child() -> None:
    result = _overview()
    first = [r["id"] for r in mapping.consents(result, cpr=CPR, caller_gln=OWN)]
    again = [r["id"] for r in mapping.consents(result, cpr="0202174123", caller_gln=OWN)]
    assert first == again  # derived from the caller's own case, not from the CPR number
    assert len(set(first)) == 4
    assert mapping.care_team(result, cpr=CPR)["id"] not in first
    assert all(CPR not in i for i in first)


def test_the_consent_state_is_one_consent_per_sector() -> None:
    found = [_parsed(r) for r in mapping.consents(_overview(), cpr=CPR, caller_gln=OWN)]
    state = {
        r["provision"]["code"][0]["coding"][0]["code"]: (
            r["status"],
            r["provision"]["type"],
            r["provision"]["code"][1]["coding"][0]["code"],
        )
        for r in found
    }
    assert state == {
        "ppr": ("active", "permit", "shared"),
        "family": ("active", "permit", "shared"),
        "psychiatry": ("inactive", "deny", "verified-consent-needed"),
        "gp": ("inactive", "deny", "no-consent"),
    }
    [family] = [r for r in found if r["provision"]["code"][0]["coding"][0]["code"] == "family"]
    assert family["provision"]["period"] == {"end": "2027-06-01T00:00:00+00:00"}
    assert family["verification"] == [{"verified": False}]


def test_an_organization_carries_its_gln_and_sor_identifiers() -> None:
    with_sor = _parsed(mapping.organization(OWN, "PPR Aalborg", "ppr", "123456789012345"))
    assert with_sor["identifier"] == [
        {"use": "official", "system": "urn:oid:1.3.88", "value": OWN},
        {"use": "official", "system": "urn:oid:1.2.208.176.1.1", "value": "123456789012345"},
    ]
    without = _parsed(mapping.organization(OTHER, "Familieafdelingen", "family", None))
    assert [i["system"] for i in without["identifier"]] == ["urn:oid:1.3.88"]


def test_the_overview_bundle_holds_every_kind_and_the_organisations_once() -> None:
    bundle = mapping.overview_bundle(_overview(), cpr=CPR, caller_gln=OWN, base=BASE)
    travelled = json.loads(json.dumps(bundle))
    Bundle.model_validate(travelled)
    entries = travelled["entry"]
    for entry in entries:
        _parsed(entry["resource"])
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{BASE}{resource['resourceType']}/{resource['id']}"
    matches = [e["resource"]["resourceType"] for e in entries if e["search"]["mode"] == "match"]
    assert matches == ["EpisodeOfCare"] * 3 + ["Appointment"] * 2 + ["CareTeam"] + ["Consent"] * 4
    assert travelled["total"] == len(matches)
    included = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "include"]
    assert included == [OWN, OTHER]
    assert "Patient" not in {e["resource"]["resourceType"] for e in entries}


def test_a_search_bundle_holds_its_kind_only() -> None:
    for kind in Kind:
        bundle = mapping.search(_overview(), kind, cpr=CPR, caller_gln=OWN, base=BASE)
        Bundle.model_validate(json.loads(json.dumps(bundle)))
        assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {kind.value}


@pytest.mark.parametrize(
    ("status", "code", "issue"),
    [
        (400, "invalid-cpr", "value"),
        (400, "invalid-search", "invalid"),
        (400, "on-behalf-of-missing", "required"),
        (401, "token-expired", "login"),
        (403, "no-active-case", "forbidden"),
        (404, "not-found", "not-found"),
        (429, "rate-limited", "throttled"),
        (503, "database-unavailable", "transient"),
        (502, "whatever", "exception"),
    ],
)
def test_a_problem_is_an_operation_outcome_with_its_code(
    status: int, code: str, issue: str
) -> None:
    outcome = mapping.operation_outcome(status, code, "why")
    OperationOutcome.model_validate(outcome)
    [only] = outcome["issue"]
    assert only["code"] == issue
    assert only["details"] == {
        "coding": [{"system": "https://samspil.dk/problems", "code": code}],
        "text": "why",
    }


def test_a_problem_answer_becomes_the_same_answer_as_an_operation_outcome() -> None:
    refused = problem(429, "rate-limited", "slow down", retry_after=3)
    converted = as_outcome(refused)
    assert (converted.status, converted.content_type) == (429, "application/fhir+json")
    assert converted.headers["Retry-After"] == "3"
    assert converted[PROBLEM_CODE] == "rate-limited"
    assert isinstance(converted.body, bytes)
    body = json.loads(converted.body)
    OperationOutcome.model_validate(body)
    assert body["issue"][0]["details"]["coding"][0]["code"] == "rate-limited"


def test_the_capability_statement_parses() -> None:
    CapabilityStatement.model_validate(json.loads(json.dumps(CAPABILITY_STATEMENT)))
