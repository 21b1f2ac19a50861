"""The FHIR R4 read door (``/fhir/r4``) over real HTTP on SQLite and PostgreSQL: every answer
parsed by an independent FHIR library (``fhir.resources``, R4B models), and the overview's
rules held — no own case is the unknown child's answer, nothing of another organisation
without consent, a revocation counts from the next call, one access-log entry per look
naming the person, and the child's CPR number in no log record."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import select

from coordinator.index.tables import ACCESS_LOG, DISCLOSURE
from coordinator.state import ENGINE
from coordinator.tables import Role
from tests.functional.conftest import BUP_GLN, FAMILY_GLN, PPR_GLN, Client, Hub, Partners
from tests.functional.index_samples import (
    PERSON,
    appointment,
    call,
    case,
    consent,
    cpr_aged,
    ok,
    overview,
)
from tests.functional.test_index_logs import Capture, logged_hub

__all__ = ["logged_hub"]  # the fixture, shared with the index's log test

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
GLN_SYSTEM = "urn:oid:1.3.88"
SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
SORS = {PPR_GLN: "123456789012345", FAMILY_GLN: "234567890123456", BUP_GLN: "345678901234567"}
FHIR_JSON = "application/fhir+json"
SEARCHES = ("EpisodeOfCare", "Appointment", "CareTeam", "Consent")


async def _involve(client: Client, cpr: str, kind: str, hours: float) -> None:
    await ok(client, "PUT", f"/v1/cases/C-{cpr[-4:]}", case(cpr, kind=kind))
    await ok(client, "PUT", f"/v1/appointments/A-{cpr[-4:]}", appointment(cpr, hours=hours))


async def _child(p: Partners) -> str:
    """A child PPR, the family department and psychiatry work with; PPR recorded a parent's
    (attested) consent for every sector, which opens the family department's entries to PPR
    under the default policy, not psychiatry's; the family department coordinates."""
    child = cpr_aged(9)
    await _involve(p.ppr, child, "ppr-assessment", 24)
    await _involve(p.family, child, "family-support", 30)
    await _involve(p.bup, child, "psychiatric-assessment", 50)
    await ok(
        p.ppr,
        "POST",
        f"/v1/children/{child}/consents",
        consent(["ppr", "family", "psychiatry", "gp"]),
    )
    await ok(p.family, "PUT", f"/v1/children/{child}/coordinator", {
        "organisation": FAMILY_GLN,
        "contact": {"name": "Lene Holm", "role": "tovholder", "phone": "+45 99 31 00 00"},
    })  # fmt: skip
    return child


async def fhir(
    client: Client, path: str, *, person: str | None = PERSON, **headers: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A FHIR call: the status, the parsed body (checked to be FHIR JSON), the headers."""
    sent = dict(headers)
    if person is not None:
        sent["X-On-Behalf-Of"] = person
    sent.update(client.headers if client.token else {})
    async with client.session.get(client.base + path, headers=sent) as response:
        assert response.content_type == FHIR_JSON, (response.status, await response.text())
        body = await response.json(content_type=None)
        return response.status, body, dict(response.headers)


def search_path(kind: str, cpr: str) -> str:
    return f"/fhir/r4/{kind}?patient:identifier={CPR_SYSTEM}|{cpr}"


def overview_path(cpr: str) -> str:
    return f"/fhir/r4/Patient/$overview?identifier={CPR_SYSTEM}|{cpr}"


def parsed_bundle(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The Bundle's resources, after the Bundle and each resource have parsed as FHIR."""
    bundle = Bundle.model_validate(body)
    assert bundle.type == "searchset"
    resources = [entry["resource"] for entry in body["entry"]]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        assert resource["resourceType"] != "Patient"
    return resources


def outcome_code(body: dict[str, Any]) -> tuple[str, str]:
    """An OperationOutcome's issue code and the hub's problem code, once it has parsed."""
    OperationOutcome.model_validate(body)
    [issue] = body["issue"]
    [coding] = issue["details"]["coding"]
    assert coding["system"] == "https://samspil.dk/problems"
    return str(issue["code"]), str(coding["code"])


def _coded(consent_resource: dict[str, Any], system: str) -> str:
    """The code a Consent's provision holds in one of Samspil's code systems."""
    end = f"/CodeSystem/{system}"
    codings = [c["coding"][0] for c in consent_resource["provision"]["code"]]
    [code] = [c["code"] for c in codings if c["system"].endswith(end)]
    return str(code)


def owners(resources: list[dict[str, Any]]) -> set[str]:
    """The organisations whose entries the resources show (cases, appointments, the care
    team's members)."""
    found: set[str] = set()
    for r in resources:
        if r["resourceType"] == "EpisodeOfCare":
            found.add(r["managingOrganization"]["reference"].removeprefix("Organization/"))
        elif r["resourceType"] == "Appointment":
            found.add(r["extension"][0]["valueReference"]["reference"].split("/")[1])
        elif r["resourceType"] == "CareTeam":
            for p in r["participant"]:
                found.add(p["onBehalfOf"]["reference"].split("/")[1])
    return found


async def views(hub: Hub, cpr: str) -> list[tuple[str, str, bool, str, list[str]]]:
    """The child's access log as stored: (viewer, person, on behalf of, kind, owners)."""
    async with hub.app[ENGINE].connect() as conn:
        logged = (
            await conn.execute(
                select(ACCESS_LOG.c.id, ACCESS_LOG.c.viewer_org, ACCESS_LOG.c.viewer_person)
                .add_columns(ACCESS_LOG.c.on_behalf_of, ACCESS_LOG.c.kind, ACCESS_LOG.c.at)
                .where(ACCESS_LOG.c.cpr == cpr)
                .order_by(ACCESS_LOG.c.at)
            )
        ).all()
        shown = (
            await conn.execute(
                select(DISCLOSURE.c.access_id, DISCLOSURE.c.owner_org).where(
                    DISCLOSURE.c.cpr == cpr
                )
            )
        ).all()
    return [
        (
            row.viewer_org,
            row.viewer_person,
            row.on_behalf_of,
            row.kind,
            sorted(s.owner_org for s in shown if s.access_id == row.id),
        )
        for row in logged
    ]


# --- answers parse, and show what the JSON overview shows ---------------------------------


async def test_metadata_is_a_public_capability_statement(hub: Hub) -> None:
    status, body, _ = await fhir(hub.anonymous(), "/fhir/r4/metadata", person=None)
    assert status == 200
    CapabilityStatement.model_validate(body)
    [rest] = body["rest"]
    types = {r["type"] for r in rest["resource"]}
    assert set(SEARCHES) | {"Organization", "Patient"} <= types
    [patient] = [r for r in rest["resource"] if r["type"] == "Patient"]
    assert "interaction" not in patient  # no Patient resource is served: the operation only
    assert [o["name"] for o in patient["operation"]] == ["overview"]


async def test_the_overview_bundle_is_the_json_overview_as_fhir(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = await _child(p)

    status, body, _ = await fhir(p.ppr, overview_path(child))
    assert status == 200
    resources = parsed_bundle(body)
    by_type: dict[str, list[dict[str, Any]]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(r)
    modes = {e["resource"]["resourceType"]: e["search"]["mode"] for e in body["entry"]}
    assert modes == {**dict.fromkeys(SEARCHES, "match"), "Organization": "include"}
    assert body["total"] == sum(len(by_type[k]) for k in SEARCHES)

    # what the JSON overview shows, the same look (it logs a second entry, as it should)
    seen = await overview(p.ppr, child)
    json_cases = {c["organisation"] for c in [*seen["own"]["cases"], *seen["others"]["cases"]]}
    fhir_cases = {
        r["managingOrganization"]["reference"].split("/")[1] for r in by_type["EpisodeOfCare"]
    }
    assert fhir_cases == json_cases == {PPR_GLN, FAMILY_GLN}  # psychiatry's needs a verified one
    assert owners(by_type["Appointment"]) == {PPR_GLN, FAMILY_GLN}
    assert {a["start"] for a in by_type["Appointment"]} == {
        a["starts_at"].replace("Z", "+00:00")
        for a in [*seen["own"]["appointments"], *seen["others"]["appointments"]]
    }

    # the child only as its CPR identifier
    for r in by_type["EpisodeOfCare"] + by_type["Consent"]:
        assert r["patient"]["identifier"] == {"system": CPR_SYSTEM, "value": child}
    assert by_type["CareTeam"][0]["subject"]["identifier"]["value"] == child
    # the caller's own reference on its own case only
    refs = {
        r["managingOrganization"]["reference"]: "identifier" in r for r in by_type["EpisodeOfCare"]
    }
    assert refs == {f"Organization/{PPR_GLN}": True, f"Organization/{FAMILY_GLN}": False}
    [family_case] = [r for r in by_type["EpisodeOfCare"] if "identifier" not in r]
    assert family_case["status"] == "active"
    assert family_case["contained"][0]["name"][0]["text"] == "Kim Jensen"

    # the coordinator first in the care team, then the cases' contacts
    [team] = by_type["CareTeam"]
    first = team["participant"][0]
    assert first["role"][0]["coding"][0]["code"] == "coordinator"
    assert first["onBehalfOf"]["reference"] == f"Organization/{FAMILY_GLN}"
    assert owners([team]) == {PPR_GLN, FAMILY_GLN}

    # the consent state per sector, as the JSON overview says it
    verdicts = {
        _coded(r, "sector"): (r["provision"]["type"], _coded(r, "consent-verdict"))
        for r in by_type["Consent"]
    }
    assert {s: v for s, (_, v) in verdicts.items()} == seen["consent"]["sectors"]
    assert verdicts["psychiatry"] == ("deny", "verified-consent-needed")
    assert verdicts["family"] == ("permit", "shared")

    # organisations with their GLN and SOR identifiers
    organisations = {r["id"]: r for r in by_type["Organization"]}
    assert set(organisations) == {PPR_GLN, FAMILY_GLN}
    for gln, org in organisations.items():
        identifiers = {(i["system"], i["value"]) for i in org["identifier"]}
        assert identifiers == {(GLN_SYSTEM, gln), (SOR_SYSTEM, SORS[gln])}

    # one look, one entry: the FHIR call's, then the JSON overview's
    assert await views(hub, child) == [(PPR_GLN, PERSON, True, "overview", [FAMILY_GLN])] * 2


async def test_each_search_shows_one_type_and_logs_only_the_owners_it_shows(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = await _child(p)
    expected = {
        "EpisodeOfCare": [FAMILY_GLN],
        "Appointment": [FAMILY_GLN],
        "CareTeam": [FAMILY_GLN],
        "Consent": [],  # the consent state shows no one's entries: nothing logged
    }
    logged = []
    for kind in SEARCHES:
        status, body, _ = await fhir(p.ppr, search_path(kind, child))
        assert status == 200
        resources = parsed_bundle(body)
        assert {r["resourceType"] for r in resources} == {kind}
        assert body["total"] == len(resources)
        if expected[kind]:
            logged.append((PPR_GLN, PERSON, True, "overview", expected[kind]))
        assert await views(hub, child) == logged, kind
    # ids are stable from one call to the next
    first = parsed_bundle((await fhir(p.ppr, search_path("Consent", child)))[1])
    again = parsed_bundle((await fhir(p.ppr, search_path("Consent", child)))[1])
    assert [r["id"] for r in first] == [r["id"] for r in again]
    assert len(set(r["id"] for r in first)) == len(first) == 4


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integration" / "fhir.md"
GUIDE_URL = re.compile(r'"https://hub\.example(/fhir/r4/Patient/\\\$overview\?[^"]+)"')


async def test_the_guides_example_call_is_answered_as_it_shows(hub: Hub) -> None:
    [url] = GUIDE_URL.findall(GUIDE.read_text(encoding="utf-8"))
    p = await hub.partners(SORS)
    child = await _child(p)
    path = url.replace("\\$", "$").replace("0101174123", child)
    status, body, _ = await fhir(p.ppr, path)
    assert status == 200
    resources = parsed_bundle(body)
    assert {"EpisodeOfCare", "Organization"} <= {r["resourceType"] for r in resources}


async def test_a_caseworkers_look_is_logged_with_their_name(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = await _child(p)
    caseworker = await hub.user(PPR_GLN, Role.CASEWORKER)
    status, body, _ = await fhir(caseworker, overview_path(child), person="Someone Else")
    assert status == 200
    parsed_bundle(body)
    assert await views(hub, child) == [(PPR_GLN, "Test", False, "overview", [FAMILY_GLN])]


# --- the rules ------------------------------------------------------------------------------


async def test_no_own_case_is_the_unknown_childs_answer(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = await _child(p)
    unknown = cpr_aged(7)
    for path in (overview_path, lambda c: search_path("EpisodeOfCare", c)):
        status, known_body, _ = await fhir(p.gp, path(child))  # the GP has no case
        status_unknown, unknown_body, _ = await fhir(p.gp, path(unknown))
        assert status == status_unknown == 403
        assert outcome_code(known_body) == ("forbidden", "no-active-case")
        assert known_body == unknown_body
    json_status, problem = await call(p.gp, "GET", f"/v1/children/{child}/overview")
    assert (json_status, problem["code"]) == (403, "no-active-case")
    assert await views(hub, child) == []


async def test_no_consent_shows_nothing_of_the_other_organisation(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = cpr_aged(11)
    await _involve(p.ppr, child, "ppr-assessment", 24)
    await _involve(p.family, child, "family-support", 30)
    status, body, _ = await fhir(p.ppr, overview_path(child))
    assert status == 200
    resources = parsed_bundle(body)
    assert owners(resources) == {PPR_GLN}
    assert {r["id"] for r in resources if r["resourceType"] == "Organization"} == {PPR_GLN}
    assert all(FAMILY_GLN not in str(r) for r in resources)
    family = [r for r in resources if r["resourceType"] == "Consent" and "Familie" in str(r)]
    assert [r["provision"]["type"] for r in family] == ["deny"]
    assert await views(hub, child) == []  # nothing of others shown: nothing logged


async def test_a_revoked_consent_shows_nothing_from_the_next_call(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = cpr_aged(12)
    await _involve(p.ppr, child, "ppr-assessment", 24)
    await _involve(p.family, child, "family-support", 30)
    recorded = await ok(p.ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "family"]))
    before = parsed_bundle((await fhir(p.ppr, overview_path(child)))[1])
    assert owners(before) == {PPR_GLN, FAMILY_GLN}
    await ok(p.ppr, "DELETE", f"/v1/children/{child}/consents/{recorded['id']}")
    for path in (overview_path(child), search_path("EpisodeOfCare", child)):
        after = parsed_bundle((await fhir(p.ppr, path))[1])
        assert owners(after) == {PPR_GLN}
    assert await views(hub, child) == [(PPR_GLN, PERSON, True, "overview", [FAMILY_GLN])]


async def test_errors_are_operation_outcomes_with_the_json_apis_codes(hub: Hub) -> None:
    p = await hub.partners(SORS)
    child = await _child(p)
    bad = "3102154321"  # 31 February

    status, body, headers = await fhir(hub.anonymous(), overview_path(child), person=None)
    assert (status, outcome_code(body)[0]) == (401, "login")
    assert headers["WWW-Authenticate"].startswith("Bearer")
    status, body, _ = await fhir(p.ppr, overview_path(bad))
    assert (status, outcome_code(body)) == (400, ("value", "invalid-cpr"))
    assert (await call(p.ppr, "GET", f"/v1/children/{bad}/overview"))[1]["code"] == "invalid-cpr"
    status, body, _ = await fhir(p.ppr, overview_path(child), person=None)
    assert (status, outcome_code(body)) == (400, ("required", "on-behalf-of-missing"))
    json_status, problem = await call(p.ppr, "GET", f"/v1/children/{child}/overview", person=None)
    assert (json_status, problem["code"]) == (400, "on-behalf-of-missing")
    for path in (
        "/fhir/r4/EpisodeOfCare",  # no child
        f"/fhir/r4/EpisodeOfCare?patient:identifier={child}",  # no system
        f"/fhir/r4/EpisodeOfCare?patient:identifier=urn:oid:1.2.3|{child}",
        search_path("EpisodeOfCare", child) + f"&patient:identifier={CPR_SYSTEM}|{child}",
        search_path("EpisodeOfCare", child) + "&_count=5",
        search_path("EpisodeOfCare", child) + "&_format=xml",
    ):
        status, body, _ = await fhir(p.ppr, path)
        assert (status, outcome_code(body)) == (400, ("invalid", "invalid-search")), path
        assert child not in body["issue"][0]["details"]["text"]
    status, body, _ = await fhir(p.ppr, "/fhir/r4/Patient/" + child)
    assert (status, outcome_code(body)) == (404, ("not-found", "not-found"))
    async with hub.session.post(hub.base + "/fhir/r4/Consent", headers=p.ppr.headers) as r:
        assert (r.status, r.content_type) == (405, FHIR_JSON)
        assert "GET" in r.headers["Allow"]
        assert outcome_code(await r.json(content_type=None)) == (
            "not-supported",
            "method-not-allowed",
        )
    assert await views(hub, child) == []


async def test_a_fhir_searchs_cpr_is_in_no_log_record(logged_hub: tuple[Hub, Capture]) -> None:
    hub, capture = logged_hub
    p = await hub.partners(SORS)
    child = await _child(p)
    bad = "3102154321"
    logging.getLogger("samspil.test").info("FHIR searches start")
    for kind in SEARCHES:
        assert (await fhir(p.ppr, search_path(kind, child)))[0] == 200
    assert (await fhir(p.ppr, overview_path(child)))[0] == 200
    assert (await fhir(p.gp, overview_path(child)))[0] == 403
    assert (await fhir(p.ppr, overview_path(child), person=None))[0] == 400
    assert (await fhir(p.ppr, overview_path(bad)))[0] == 400
    assert (await fhir(p.ppr, f"/fhir/r4/Patient/{child}"))[0] == 404
    assert (await fhir(hub.anonymous("smp_not-a-real-token-at-all"), overview_path(child)))[
        0
    ] == 401
    assert any("FHIR searches start" in line for line in capture.lines)  # the capture works
    dashed = f"{child[:6]}-{child[6:]}"
    leaks = [
        line.split(" ")[0]  # the logger's name, never the line
        for line in capture.lines
        if child in line or dashed in line or bad in line
    ]
    assert leaks == []
