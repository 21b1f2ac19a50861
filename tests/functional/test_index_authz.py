"""The authorisation matrix: every ``/v1`` endpoint × {own organisation's system token, another
organisation's system token, a caseworker, an operator, an admin, a bogus token, no token},
with the status each must get, and no response that leaks another organisation's data."""

from __future__ import annotations

import json
import re
from typing import Any

from coordinator.tables import Role, Sector
from tests.functional.conftest import FAMILY_GLN, GP_GLN, PPR_GLN, Client, MakeHub, gln
from tests.functional.index_samples import appointment, case, consent, cpr_aged, ok
from tests.functional.samples import xdis91

OWN, OTHER, CASEWORKER, OPERATOR, ADMIN, BOGUS, NONE = (
    "own",
    "other",
    "caseworker",
    "operator",
    "admin",
    "bogus",
    "none",
)
PRINCIPALS = (OWN, OTHER, CASEWORKER, OPERATOR, ADMIN, BOGUS, NONE)
PRIVATE_CONTACT = "Kirsten Privatperson"  # PPR's contact person for the child
LETTER_TEXT = "Nancy"  # in the GP's letter to PPR

OK = {200}
CREATED = {200, 201}


def expect(
    own: set[int],
    other: set[int],
    caseworker: set[int],
    operator: set[int],
    admin: set[int],
) -> dict[str, set[int]]:
    return {
        OWN: own,
        OTHER: other,
        CASEWORKER: caseworker,
        OPERATOR: operator,
        ADMIN: admin,
        BOGUS: {401},
        NONE: {401},
    }


MAILBOX = expect(OK, OK, OK, {403}, OK)  # everyone sees only their own mailbox
MESSAGE = expect(OK, {404}, OK, {403}, OK)  # another organisation's message does not exist
CHILD = expect(OK, {403}, OK, {403}, {403})  # only those with an active case, no operators


async def test_every_v1_endpoint_by_every_kind_of_caller(make_hub: MakeHub) -> None:
    # the matrix sends dozens of bad and missing tokens from one address: no lockout here
    hub = await make_hub(login_failures_per_minute=10_000)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    family = await hub.org(FAMILY_GLN, Sector.FAMILY, "Familieafdelingen")
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset")
    callers: dict[str, Client] = {
        OWN: ppr,
        OTHER: family,
        CASEWORKER: await hub.user(PPR_GLN, Role.CASEWORKER),
        OPERATOR: await hub.user(PPR_GLN, Role.OPERATOR),
        ADMIN: await hub.user(PPR_GLN, Role.ADMIN),
        BOGUS: hub.anonymous("smp_" + "x" * 43),
        NONE: hub.anonymous(),
    }
    child, scratch = cpr_aged(12), cpr_aged(13)
    await ok(ppr, "PUT", "/v1/cases/C1", case(child, contact_name=PRIVATE_CONTACT))
    await ok(gp, "PUT", "/v1/cases/G1", case(child, kind="gp-follow-up"))
    await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr", "gp"]))
    await ok(gp, "GET", f"/v1/children/{child}/overview")  # a logged disclosure of PPR's case
    status, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))
    assert status == 202
    message = sent["id"]
    consent_ids = []
    for _ in PRINCIPALS:
        recorded = await ok(ppr, "POST", f"/v1/children/{child}/consents", consent(["ppr"]))
        consent_ids.append(recorded["id"])

    def letter(who: str) -> bytes:  # PPR's letter, sent by each caller in turn
        return xdis91(sender=PPR_GLN, receiver=GP_GLN)

    coordinator = {"organisation": PPR_GLN, "contact": {"name": "Kim", "role": "psykolog"}}
    matrix: list[tuple[str, str, Any, dict[str, set[int]]]] = [
        ("POST", "/v1/messages", letter, expect({202}, {403}, {202}, {403}, {202})),
        ("GET", "/v1/inbox", None, MAILBOX),
        ("GET", "/v1/outbox", None, MAILBOX),
        ("GET", f"/v1/messages/{message}", None, MESSAGE),
        ("GET", f"/v1/messages/{message}/status", None, MESSAGE),
        # PPR's system takes its letters in: its people may read them, not take them out
        ("POST", f"/v1/messages/{message}/ack", None, expect(OK, {404}, {409}, {403}, {409})),
        ("GET", "/v1/operator/summary", None, expect({403}, {403}, {403}, OK, OK)),
        ("PUT", "/v1/cases/SCRATCH", case(scratch),
         expect(CREATED, CREATED, CREATED, {403}, {403})),
        ("PUT", "/v1/appointments/SCRATCH", appointment(scratch),
         expect(CREATED, CREATED, CREATED, {403}, {403})),
        ("GET", f"/v1/children/{child}/overview", None, CHILD),
        ("POST", f"/v1/children/{child}/consents", consent(["ppr", "family"]),
         expect({201}, {403}, {201}, {403}, {403})),
        ("GET", f"/v1/children/{child}/consents", None, CHILD),
        ("DELETE", f"/v1/children/{child}/consents/{{consent}}", None, CHILD),
        # PPR recorded the consent: it revokes, it does not dispute (409)
        ("POST", f"/v1/children/{child}/consents/{{consent}}/dispute", {"reason": "forged"},
         expect({409}, {403}, {409}, {403}, {403})),
        ("PUT", f"/v1/children/{child}/coordinator", coordinator, CHILD),
        ("GET", f"/v1/children/{child}/access-log", None, expect(OK, {403}, OK, OK, {403})),
        ("GET", "/v1/access-notifications", None, expect(OK, OK, OK, {403}, {403})),
        # another organisation's feed holds nothing of a child it has no case for
        ("GET", "/v1/partner-events", None, expect(OK, OK, OK, {403}, {403})),
        ("GET", "/v1/openapi.json", None, expect(OK, OK, OK, OK, OK) | {BOGUS: OK, NONE: OK}),
        ("POST", "/v1/admin/organisations",
         {"gln": gln(5002), "name": "PPR Matrix", "sector": "ppr"},
         expect({403}, {403}, {403}, {403}, {201})),
    ]  # fmt: skip

    covered = set()
    for method, path, payload, expected in matrix:
        covered.add((method, _canonical(path)))
        for index, who in enumerate(PRINCIPALS):
            client = callers[who]
            body = payload(who) if callable(payload) else payload
            concrete = path.replace("{consent}", consent_ids[index])
            status, raw = await _call(client, method, concrete, body)
            assert status in expected[who], (method, path, who, status, raw[:300])
            if who not in (OWN, CASEWORKER):
                _assert_no_leak(raw, child, method, path, who, own_view=who == ADMIN)

    # every /v1 route the app serves is in the matrix, or at least refuses strangers
    for route in hub.app.router.routes():
        resource = route.resource
        if resource is None or not resource.canonical.startswith("/v1/"):
            continue
        key = (route.method, resource.canonical)
        if route.method == "HEAD" or key in covered:
            continue
        concrete = _fill(resource.canonical, child=child, message=message)
        if resource.canonical != "/v1/openapi.json":
            for who in (BOGUS, NONE):
                status, _ = await _call(callers[who], route.method, concrete, None)
                assert status == 401, (key, who)
        status, raw = await _call(callers[OTHER], route.method, concrete, None)
        _assert_no_leak(raw, child, route.method, resource.canonical, OTHER, own_view=False)


def _canonical(path: str) -> str:
    path = re.sub(r"/children/\d{10}", "/children/{cpr}", path)
    path = re.sub(r"/consents/\{consent\}", "/consents/{id}", path)
    path = re.sub(r"/messages/[0-9a-f-]{36}", "/messages/{id}", path)
    return re.sub(r"/(cases|appointments)/[A-Z0-9]+$", r"/\1/{ref}", path)


def _fill(canonical: str, *, child: str, message: str) -> str:
    return (
        canonical.replace("{cpr}", child)
        .replace("{id}", message)
        .replace("{ref}", "C1")
        .replace("{gln}", PPR_GLN)
    )


async def _call(client: Client, method: str, path: str, body: Any) -> tuple[int, bytes]:
    if isinstance(body, bytes):
        status, _, raw = await client.request(method, path, body=body)
        return status, raw
    # a person for systems, a reason for operators (ignored for everyone else)
    headers = {"X-On-Behalf-Of": "Matrix Person", "X-Access-Reason": "Matrix request"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    status, _, raw = await client.request(method, path, body=data, headers=headers)
    return status, raw


def _assert_no_leak(
    raw: bytes, child: str, method: str, path: str, who: str, *, own_view: bool
) -> None:
    """No stranger, operator or bogus caller sees the child's CPR, PPR's contact or the letter;
    an admin (a person of PPR with a mailbox) may read PPR's own letter."""
    where = (method, path, who)
    assert child.encode() not in raw, where
    assert PRIVATE_CONTACT.encode() not in raw, where
    if not own_view:
        assert LETTER_TEXT.encode() not in raw, where
        assert b"2512489996" not in raw, where
