"""The operator monitor's endpoints: throughput, trail, queue, and the audited actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from coordinator.tables import Role, Sector
from tests.functional.conftest import GP_GLN, PPR_GLN
from tests.functional.samples import new_id, xdis91

FIXTURE_ACTIONS = {"add-organisation", "add-user"}
"""The audited registrations the hub fixture makes before a test acts."""


async def test_throughput_organisations_queue_and_trail(hub: Any) -> None:
    gp = await hub.org(GP_GLN, Sector.GP, name="Lægehuset")
    await hub.org(PPR_GLN, Sector.PPR, name="PPR Aalborg")
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=True))
    await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))

    code, flow, _ = await operator.request("GET", "/v1/operator/throughput?minutes=5")
    assert code == 200
    assert flow["minutes"] == 5
    assert flow["by_type"]["XDIS91"][-1] == 2
    assert sum(flow["total"]) == 2

    code, orgs, _ = await operator.request("GET", "/v1/operator/organisations")
    ppr = next(o for o in orgs["organisations"] if o["gln"] == PPR_GLN)
    assert (ppr["name"], ppr["inbox_depth"], ppr["token_disabled"]) == ("PPR Aalborg", 2, False)
    assert ppr["oldest_waiting"].endswith("Z")

    code, queue, _ = await operator.request("GET", f"/v1/operator/organisations/{PPR_GLN}/queue")
    assert code == 200
    assert next(m["id"] for m in queue["messages"]) == sent["id"]

    code, trail, raw = await operator.request("GET", f"/v1/operator/messages/{sent['id']}")
    assert code == 200
    assert [e["status"] for e in trail["events"]] == ["accepted"]
    assert (trail["sender"], trail["receiver"], trail["ack_requested"]) == (GP_GLN, PPR_GLN, True)
    assert b"CivilRegistrationNumber" not in raw
    assert b"body" not in raw

    code, health, _ = await operator.request("GET", "/v1/operator/health")
    assert code == 200
    assert health["database"]["ok"] is True

    code, _, _ = await operator.request("GET", f"/v1/operator/organisations/{'1' * 13}/queue")
    assert code == 400


async def test_operator_routes_are_for_operators_only(hub: Any) -> None:
    gp = await hub.org(GP_GLN, Sector.GP)
    caseworker = await hub.user(GP_GLN, Role.CASEWORKER)
    admin = await hub.user(GP_GLN, Role.ADMIN)
    for client, expected in ((gp, 403), (caseworker, 403), (admin, 200)):
        code, _, _ = await client.request("GET", "/v1/operator/throughput")
        assert code == expected
    code, _, _ = await hub.anonymous().request("GET", "/v1/operator/organisations")
    assert code == 401
    code, me, _ = await caseworker.request("GET", "/v1/whoami")
    assert (code, me["role"], me["organisation"]["gln"]) == (200, "caseworker", GP_GLN)
    code, directory, _ = await caseworker.request("GET", "/v1/organisations")
    assert [o["gln"] for o in directory["organisations"]] == [GP_GLN]


async def test_redeliver_an_expired_letter_and_send_the_status_report(make_hub: Any) -> None:
    hub = await make_hub(message_ttl=timedelta(seconds=0.3), expiry_interval=0.1)
    gp, ppr = await hub.gp_and_ppr()
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    envelope_id, letter_id = new_id("K"), new_id("B")
    letter = xdis91(
        sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope_id, letter_id=letter_id, ack=True
    )
    _, sent = await gp.send(letter)
    [network_receipt] = await gp.inbox(wait=10)
    assert network_receipt["type"] == "XCTL01"
    await gp.ack(network_receipt["id"])

    code, problem, _ = await operator.request(
        "POST", f"/v1/operator/messages/{network_receipt['id']}/redeliver"
    )
    assert (code, problem["code"]) == (409, "not-expired")

    code, report, _ = await operator.request(
        "POST", f"/v1/operator/messages/{sent['id']}/status-report"
    )
    assert code == 201
    [again] = await gp.inbox()
    assert again["id"] == report["id"]
    assert await gp.fetch(again["id"]) == await gp.fetch(network_receipt["id"])

    code, expired, _ = await operator.request(
        "GET", f"/v1/operator/organisations/{PPR_GLN}/queue?status=expired"
    )
    assert [m["id"] for m in expired["messages"]] == [sent["id"]]
    code, redelivered, _ = await operator.request(
        "POST", f"/v1/operator/messages/{sent['id']}/redeliver"
    )
    assert code == 201
    [waiting] = await ppr.inbox()
    assert waiting["id"] == redelivered["id"]
    assert await ppr.fetch(waiting["id"]) == letter  # the sender's bytes, unchanged
    await ppr.send_receipt(GP_GLN, envelope_id, letter_id)
    assert (await gp.status(redelivered["id"]))["status"] == "receipted"
    code, trail, _ = await operator.request("GET", f"/v1/operator/messages/{redelivered['id']}")
    assert trail["resend"] is True
    assert trail["resend_of"] == sent["id"]

    code, audit, _ = await operator.request("GET", "/v1/operator/audit")
    actions = [e for e in audit["entries"] if e["action"] not in FIXTURE_ACTIONS]
    assert [(e["action"], e["target"]) for e in actions] == [
        ("redeliver", sent["id"]),
        ("status-report", sent["id"]),
    ]


async def test_disable_and_enable_an_organisations_token(make_hub: Any) -> None:
    hub = await make_hub(token_cache_seconds=0)
    gp = await hub.org(GP_GLN, Sector.GP)
    operator = await hub.user(GP_GLN, Role.OPERATOR)
    code, state, _ = await operator.request("POST", f"/v1/operator/organisations/{GP_GLN}/disable")
    assert (code, state["changed"]) == (200, 1)
    code, _, _ = await gp.request("GET", "/v1/inbox")
    assert code == 401
    code, orgs, _ = await operator.request("GET", "/v1/operator/organisations")
    assert orgs["organisations"][0]["token_disabled"] is True
    code, state, _ = await operator.request("POST", f"/v1/operator/organisations/{GP_GLN}/enable")
    assert (code, state["changed"]) == (200, 1)
    code, _, _ = await gp.request("GET", "/v1/inbox")
    assert code == 200
    code, audit, _ = await operator.request("GET", "/v1/operator/audit?limit=5")
    actions = [e["action"] for e in audit["entries"] if e["action"] not in FIXTURE_ACTIONS]
    assert actions == ["enable-token", "disable-token"]
