"""``/fhir/r4/metadata``: what the hub's FHIR door does, as a ``CapabilityStatement``."""

from __future__ import annotations

from typing import Any

from coordinator.fhir.mapping import CPR_SYSTEM, Kind

FHIR_JSON = "application/fhir+json"
PATIENT_IDENTIFIER = "patient:identifier"
OVERVIEW_OPERATION = "Patient/$overview"
STATEMENT_DATE = "2026-12-06"  # when this statement last changed

_SEARCH_DOC = (
    f"The child, by its CPR identifier only: {PATIENT_IDENTIFIER}={CPR_SYSTEM}|<CPR number>. "
    "Needs an active case of the caller's own organisation for the child (403 no-active-case, "
    "the same answer whether or not the child is known); other organisations' entries only "
    "where consent opens them; a look that shows them is logged once, naming the person."
)


def _resource(kind: Kind, profile_doc: str) -> dict[str, Any]:
    return {
        "type": kind.value,
        "documentation": profile_doc,
        "interaction": [{"code": "search-type"}],
        "searchParam": [
            {
                "name": "patient",
                "type": "reference",
                "documentation": _SEARCH_DOC,
            }
        ],
    }


CAPABILITY_STATEMENT: dict[str, Any] = {
    "resourceType": "CapabilityStatement",
    "status": "active",
    "date": STATEMENT_DATE,
    "publisher": "Samspil",
    "kind": "instance",
    "software": {"name": "Samspil hub"},
    "implementation": {"description": "Samspil's shared index, read as FHIR R4"},
    "fhirVersion": "4.0.1",
    "format": [FHIR_JSON],
    "rest": [
        {
            "mode": "server",
            "documentation": "Read only. Every search names one child by its CPR identifier; "
            "the child is never a Patient resource (resources name it by a logical "
            "reference: identifier system urn:oid:1.2.208.176.1.2). Errors are "
            "OperationOutcome with the hub's problem code in issue.details.coding "
            "(system https://samspil.dk/problems) and the /v1 API's HTTP statuses.",
            "security": {
                "description": "Authorization: Bearer <token> (or a client certificate), as "
                "for /v1; a system token names the person it asks for in X-On-Behalf-Of "
                "(every look that shows other organisations' entries is logged with who "
                "looked)."
            },
            "resource": [
                _resource(Kind.EPISODE_OF_CARE, "The child's cases."),
                _resource(Kind.APPOINTMENT, "Upcoming and recent appointments."),
                _resource(Kind.CARE_TEAM, "The coordinator (tovholder) and case contacts."),
                _resource(Kind.CONSENT, "The consent state, one Consent per sector."),
                {
                    "type": "Organization",
                    "documentation": "Included in the overview: GLN (urn:oid:1.3.88) and SOR "
                    "(urn:oid:1.2.208.176.1.1) identifiers.",
                },
                {
                    "type": "Patient",
                    "documentation": "No Patient resource is served; only the overview "
                    "operation, by the child's CPR identifier.",
                    "operation": [
                        {
                            "name": "overview",
                            "definition": "https://samspil.dk/fhir/OperationDefinition/"
                            "Patient-overview",
                            "documentation": "GET /fhir/r4/Patient/$overview?identifier="
                            f"{CPR_SYSTEM}|<CPR number>: the whole overview as one searchset "
                            "Bundle (EpisodeOfCare, Appointment, CareTeam and Consent as "
                            "matches, the Organizations they name as includes); one look, "
                            "logged once.",
                        }
                    ],
                },
            ],
        }
    ],
}
