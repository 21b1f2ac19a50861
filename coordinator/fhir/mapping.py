"""The overview as FHIR R4 resources: pure functions from what
:func:`coordinator.index.disclosure.disclose_overview` returned to JSON-ready dicts.

What maps to what (the integrator guide, ``docs/integrators.md``, says it for callers):

* a case → ``EpisodeOfCare``: ``managingOrganization`` the owner, ``status`` active/finished,
  ``period`` opened/closed, ``careManager`` the case's contact (a contained
  ``Practitioner`` with phone, e-mail and role), ``type`` the case's kind; the owner's own
  reference as an ``identifier`` on the caller's own cases only;
* an appointment → ``Appointment``: ``status``, ``start``/``end``, participants (the child,
  the professional, the place), the owner in the extension :data:`OWNER_EXTENSION`;
* the coordinator (tovholder) and the contacts of the active cases shown → one ``CareTeam``;
* the consent state → one ``Consent`` per sector: ``permit`` (active) when the sector's
  entries are shared with the caller, ``deny`` (inactive) with the reason when they are
  withheld (it says nothing about whether any exist);
* each organisation named → ``Organization`` with its GLN and SOR identifiers.

The child is never a ``Patient`` resource: every resource names it by a logical reference,
its CPR identifier (:func:`patient_reference`). Ids are the index's own (UUIDs, never derived
from a CPR number): a case's and an appointment's row id, an organisation's GLN; the care
team's and the consents' ids are derived from the caller's own active case, stable for the
caller and this child.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from coordinator.index.consent import Missing
from coordinator.index.store import Overview
from wire.directory import Sector

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
GLN_SYSTEM = "urn:oid:1.3.88"
SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
SAMSPIL = "https://samspil.dk/fhir"
OWNER_EXTENSION = f"{SAMSPIL}/StructureDefinition/owner-organization"
SECTOR_SYSTEM = f"{SAMSPIL}/CodeSystem/sector"
CASE_KIND_SYSTEM = f"{SAMSPIL}/CodeSystem/case-kind"
CARE_TEAM_ROLE_SYSTEM = f"{SAMSPIL}/CodeSystem/care-team-role"
VERDICT_SYSTEM = f"{SAMSPIL}/CodeSystem/consent-verdict"
POLICY_SYSTEM = f"{SAMSPIL}/CodeSystem/consent-policy"
PROBLEM_SYSTEM = "https://samspil.dk/problems"

SECTOR_NAMES = {
    Sector.PPR: "Pædagogisk-psykologisk rådgivning",
    Sector.FAMILY: "Familieafdeling",
    Sector.PSYCHIATRY: "Børne- og ungdomspsykiatri",
    Sector.GP: "Almen praksis",
}

_EPISODE_STATUS = {"active": "active", "closed": "finished"}
_APPOINTMENT_STATUS = {
    "booked": "booked",
    "cancelled": "cancelled",
    "completed": "fulfilled",
    "no-show": "noshow",
}


class Kind(StrEnum):
    """The resource types a search returns (the overview operation returns them all)."""

    EPISODE_OF_CARE = "EpisodeOfCare"
    APPOINTMENT = "Appointment"
    CARE_TEAM = "CareTeam"
    CONSENT = "Consent"


# --- small parts ---------------------------------------------------------------------------


def patient_reference(cpr: str) -> dict[str, Any]:
    """The child as a logical reference: its CPR identifier, never a Patient resource."""
    return {"type": "Patient", "identifier": {"system": CPR_SYSTEM, "value": cpr}}


def organization_reference(gln: str, name: str | None) -> dict[str, Any]:
    reference: dict[str, Any] = {"reference": f"Organization/{gln}"}
    if name:
        reference["display"] = name
    return reference


def _time(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _id(value: Any) -> str:
    return str(value) if isinstance(value, uuid.UUID) else str(uuid.UUID(str(value)))


def _sector_coding(sector: str) -> dict[str, Any]:
    return {"system": SECTOR_SYSTEM, "code": sector, "display": SECTOR_NAMES[Sector(sector)]}


def _practitioner(
    local_id: str, name: str, role: str | None, phone: str | None, email: str | None
) -> dict[str, Any]:
    """A contact as a contained Practitioner: name, phone and e-mail, role as text."""
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": local_id,
        "name": [{"text": name}],
    }
    telecom = [
        {"system": system, "value": value, "use": "work"}
        for system, value in (("phone", phone), ("email", email))
        if value
    ]
    if telecom:
        practitioner["telecom"] = telecom
    if role:
        practitioner["qualification"] = [{"code": {"text": role}}]
    return practitioner


# --- resources -----------------------------------------------------------------------------


def episode_of_care(row: Any, *, cpr: str, own: bool) -> dict[str, Any]:
    """A case as ``EpisodeOfCare``; ``own``: the caller's own case (its reference shown)."""
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": _id(row.id),
        "contained": [
            _practitioner(
                "contact", row.contact_name, row.contact_role, row.contact_phone, row.contact_email
            )
        ],
        "status": _EPISODE_STATUS.get(row.status, "active"),
        "type": [{"coding": [{"system": CASE_KIND_SYSTEM, "code": row.kind}], "text": row.kind}],
        "patient": patient_reference(cpr),
        "managingOrganization": organization_reference(row.org_gln, row.org_name),
        "period": {"start": _time(row.opened_on)},
        "careManager": {"reference": "#contact", "display": row.contact_name},
    }
    if row.closed_on is not None:
        resource["period"]["end"] = _time(row.closed_on)
    if own:  # the local reference stays with its owner
        resource["identifier"] = [
            {"system": f"{SAMSPIL}/sid/case-ref/{row.org_gln}", "value": row.ref}
        ]
    return resource


def appointment(row: Any, *, cpr: str, own: bool) -> dict[str, Any]:
    """An appointment as ``Appointment``: the child, the professional and the place as
    participants, the owner in :data:`OWNER_EXTENSION`."""
    participants: list[dict[str, Any]] = [
        {"actor": patient_reference(cpr), "required": "required", "status": "accepted"},
        {
            "type": [{"text": row.with_role}],
            "actor": {"type": "Practitioner", "display": row.with_name},
            "required": "required",
            "status": "accepted",
        },
    ]
    if row.location:
        participants.append(
            {"actor": {"type": "Location", "display": row.location}, "status": "accepted"}
        )
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": _id(row.id),
        "extension": [
            {
                "url": OWNER_EXTENSION,
                "valueReference": organization_reference(row.org_gln, row.org_name),
            }
        ],
        "status": _APPOINTMENT_STATUS.get(row.status, "booked"),
        "start": _time(row.starts_at),
        "end": _time(row.ends_at),
        "participant": participants,
    }
    if own:
        resource["identifier"] = [
            {"system": f"{SAMSPIL}/sid/appointment-ref/{row.org_gln}", "value": row.ref}
        ]
    return resource


def anchor_of(result: Overview) -> uuid.UUID:
    """The caller's first own active case's id: the care team's and consents' ids derive
    from it (stable for the caller and the child, and nothing in them says who the child is)."""
    for case in result.own_cases:
        if case.status == "active":
            return uuid.UUID(_id(case.id))
    raise ValueError("an overview always holds an own active case")


def care_team(result: Overview, *, cpr: str) -> dict[str, Any]:
    """The coordinator (tovholder) and the contacts of the active cases shown, one
    ``CareTeam``; each member a contained ``Practitioner``, on behalf of its organisation."""
    contained: list[dict[str, Any]] = []
    participants: list[dict[str, Any]] = []
    resource: dict[str, Any] = {
        "resourceType": "CareTeam",
        "id": str(uuid.uuid5(anchor_of(result), "care-team")),
        "status": "active",
        "name": "Samspil",
        "subject": patient_reference(cpr),
    }

    def member(row: Any, code: str, display: str) -> None:
        local_id = f"p{len(contained) + 1}"
        contained.append(
            _practitioner(
                local_id, row.contact_name, row.contact_role, row.contact_phone, row.contact_email
            )
        )
        role: dict[str, Any] = {"coding": [{"system": CARE_TEAM_ROLE_SYSTEM, "code": code}]}
        role["coding"][0]["display"] = display
        role["text"] = row.contact_role
        participants.append(
            {
                "role": [role],
                "member": {"reference": f"#{local_id}", "display": row.contact_name},
                "onBehalfOf": organization_reference(row.org_gln, row.org_name),
            }
        )

    coordinator = result.coordinator
    if coordinator is not None:
        member(coordinator, "coordinator", "Tovholder")
        resource["managingOrganization"] = [
            organization_reference(coordinator.org_gln, coordinator.org_name)
        ]
    seen: set[tuple[str, str, str]] = set()
    for case in [*result.own_cases, *result.other_cases]:
        key = (case.org_gln, case.contact_name, case.contact_role)
        if case.status != "active" or key in seen:
            continue
        seen.add(key)
        member(case, "case-contact", "Kontaktperson")
    resource["contained"] = contained
    resource["participant"] = participants
    return resource


def _reason(missing: Missing) -> str:
    return {
        Missing.NO_CONSENT: "no active consent covers your organisation and theirs",
        Missing.OWN_CONSENT_NEEDED: "the young person's own consent is needed",
        Missing.PARENT_CONSENT_NEEDED: "a custodial parent's (or guardian's) consent is needed",
        Missing.VERIFIED_CONSENT_NEEDED: "their data opens only under a verified consent",
        Missing.DISPUTED: "they disputed the consent that would open their data",
    }[missing]


def consents(result: Overview, *, cpr: str, caller_gln: str) -> list[dict[str, Any]]:
    """The consent state as one ``Consent`` per sector: whether that sector's entries are
    shared with the caller (``permit``, with the consents that open it: verified or not, and
    until when) or withheld (``deny``, with the reason as a code)."""
    anchor = anchor_of(result)
    resources = []
    for sector, missing in result.verdicts.items():
        openers = [o for o in result.opened_by if sector in o.sectors]
        verdict = "shared" if missing is None else missing.value
        text = "shared with you" if missing is None else _reason(missing)
        provision: dict[str, Any] = {
            "type": "permit" if missing is None else "deny",
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass",
                                "code": "CUST",
                                "display": "custodian",
                            }
                        ],
                        "text": "the sector whose entries this is about",
                    },
                    "reference": {"display": SECTOR_NAMES[Sector(sector)]},
                },
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                                "display": "information recipient",
                            }
                        ]
                    },
                    "reference": {
                        "type": "Organization",
                        "identifier": {"system": GLN_SYSTEM, "value": caller_gln},
                    },
                },
            ],
            "code": [
                {"coding": [_sector_coding(sector)]},
                {"coding": [{"system": VERDICT_SYSTEM, "code": verdict}], "text": text},
            ],
        }
        if openers:
            ends = [o.valid_until for o in openers]
            if all(end is not None for end in ends):
                provision["period"] = {"end": _time(max(e for e in ends if e is not None))}
        resource: dict[str, Any] = {
            "resourceType": "Consent",
            "id": str(uuid.uuid5(anchor, f"consent/{sector}")),
            "status": "active" if missing is None else "inactive",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "patient-privacy",
                    }
                ]
            },
            "category": [
                {"coding": [{"system": "http://loinc.org", "code": "59284-0"}], "text": "Consent"}
            ],
            "patient": patient_reference(cpr),
            "policyRule": {
                "coding": [{"system": POLICY_SYSTEM, "code": "shared-index"}],
                "text": "Samspil's shared index: entries shared across sectors under consent, "
                "judged per owner organisation on every call",
            },
            "provision": provision,
        }
        if openers:
            resource["verification"] = [{"verified": o.verification == "verified"} for o in openers]
        resources.append(resource)
    return resources


def organization(gln: str, name: str | None, sector: str | None, sor: str | None) -> dict[str, Any]:
    """An organisation with its GLN (``urn:oid:1.3.88``) and SOR (``urn:oid:1.2.208.176.1.1``)
    identifiers and its sector as its type."""
    identifiers = [{"use": "official", "system": GLN_SYSTEM, "value": gln}]
    if sor:
        identifiers.append({"use": "official", "system": SOR_SYSTEM, "value": sor})
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": gln,
        "identifier": identifiers,
        "active": True,
    }
    if sector:
        resource["type"] = [{"coding": [_sector_coding(sector)]}]
    if name:
        resource["name"] = name
    return resource


def organizations(rows: Iterable[Any]) -> list[dict[str, Any]]:
    """Each organisation owning one of ``rows`` once, in the order they first appear."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.org_gln not in found:
            found[row.org_gln] = organization(
                row.org_gln, row.org_name, row.org_sector, row.org_sor
            )
    return list(found.values())


# --- answers -------------------------------------------------------------------------------


def matches(result: Overview, kind: Kind, *, cpr: str, caller_gln: str) -> list[dict[str, Any]]:
    """The resources of ``kind`` the overview shows."""
    if kind is Kind.EPISODE_OF_CARE:
        return [episode_of_care(c, cpr=cpr, own=True) for c in result.own_cases] + [
            episode_of_care(c, cpr=cpr, own=False) for c in result.other_cases
        ]
    if kind is Kind.APPOINTMENT:
        return [appointment(a, cpr=cpr, own=True) for a in result.own_appointments] + [
            appointment(a, cpr=cpr, own=False) for a in result.other_appointments
        ]
    if kind is Kind.CARE_TEAM:
        return [care_team(result, cpr=cpr)]
    return consents(result, cpr=cpr, caller_gln=caller_gln)


def search_bundle(
    found: list[dict[str, Any]], base: str, included: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A ``searchset`` Bundle: ``found`` as matches, ``included`` as includes; ``base`` the
    server's FHIR base (``https://hub.example/fhir/r4/``) for the entries' full URLs."""
    entries = [
        {
            "fullUrl": f"{base}{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": mode},
        }
        for mode, resources in (("match", found), ("include", included or []))
        for resource in resources
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(found), "entry": entries}


def search(result: Overview, kind: Kind, *, cpr: str, caller_gln: str, base: str) -> dict[str, Any]:
    """One resource type's search answer."""
    return search_bundle(matches(result, kind, cpr=cpr, caller_gln=caller_gln), base)


def overview_bundle(result: Overview, *, cpr: str, caller_gln: str, base: str) -> dict[str, Any]:
    """The whole overview as one ``searchset`` Bundle: every kind as matches, and the
    organisations they name as includes."""
    found = [
        resource
        for kind in Kind
        for resource in matches(result, kind, cpr=cpr, caller_gln=caller_gln)
    ]
    rows: list[Any] = [
        *result.own_cases,
        *result.other_cases,
        *result.own_appointments,
        *result.other_appointments,
    ]
    if result.coordinator is not None:
        rows.append(result.coordinator)
    return search_bundle(found, base, organizations(rows))


# --- errors --------------------------------------------------------------------------------

_ISSUE_BY_STATUS = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    409: "conflict",
    410: "deleted",
    413: "too-long",
    415: "not-supported",
    422: "processing",
    429: "throttled",
    500: "exception",
    503: "transient",
    504: "timeout",
}
_ISSUE_BY_CODE = {
    "invalid-cpr": "value",
    "invalid-on-behalf-of": "value",
    "on-behalf-of-missing": "required",
    "no-active-case": "forbidden",
}


def issue_code(status: int, code: str) -> str:
    """FHIR's ``issue.code`` for a problem: by its code where one fits, else by its status."""
    return _ISSUE_BY_CODE.get(code) or _ISSUE_BY_STATUS.get(
        status, "exception" if status >= 500 else "invalid"
    )


def operation_outcome(status: int, code: str, detail: str) -> dict[str, Any]:
    """A problem (status, code, detail) as an ``OperationOutcome``: the problem's code in
    ``issue.details.coding`` (system :data:`PROBLEM_SYSTEM`), its detail as the text."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": issue_code(status, code),
                "details": {
                    "coding": [{"system": PROBLEM_SYSTEM, "code": code}],
                    "text": detail,
                },
            }
        ],
    }
