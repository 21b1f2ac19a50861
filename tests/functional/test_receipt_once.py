"""One positive receipt per letter: a second XCTL03 is refused with 409 already-receipted,
and the first stays (an adapter and the system behind it may both receipt a letter)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from coordinator.tables import Role
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, TurnedClock
from tests.functional.samples import new_id, receipt, xdis91


async def _delivered_letter(gp: Client, ppr: Client) -> tuple[str, str, str]:
    envelope, letter = new_id("K"), new_id("B")
    _, sent = await gp.send(
        xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope, letter_id=letter, ack=True)
    )
    await ppr.take(sent["id"])
    return sent["id"], envelope, letter


def _xctl03(envelope: str, letter: str) -> bytes:
    return receipt(
        sender=PPR_GLN, receiver=GP_GLN, original_envelope_id=envelope, original_letter_id=letter
    )


async def test_a_second_positive_receipt_is_refused_and_the_first_stays(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    letter_id, envelope, letter = await _delivered_letter(gp, ppr)
    first_receipt = _xctl03(envelope, letter)
    status, first = await ppr.send(first_receipt)
    assert status == 202

    status, problem = await ppr.send(_xctl03(envelope, letter))  # the EHR's own XCTL03
    assert status == 409
    assert problem["code"] == "already-receipted"
    assert "positive receipt" in problem["detail"]

    status, again = await ppr.send(first_receipt)
    assert (status, again["id"]) == (200, first["id"])  # the first one sent again: a duplicate
    assert again["duplicate"] is True

    assert [(e["id"], e["type"]) for e in await gp.inbox()] == [(first["id"], "XCTL03")]
    final = await gp.status(letter_id)
    assert (final["status"], final["receipt_id"]) == ("receipted", first["id"])
    assert [e["status"] for e in final["events"]].count("receipted") == 1
    outbox = await ppr.request("GET", "/v1/outbox")
    sent_receipts = [m for m in outbox[1]["messages"] if m["type"] == "XCTL03"]
    assert [m["id"] for m in sent_receipts] == [first["id"]]  # the refused one is not stored


async def test_two_positive_receipts_at_once_one_is_taken(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    letter_id, envelope, letter = await _delivered_letter(gp, ppr)
    answers = await asyncio.gather(
        ppr.send(_xctl03(envelope, letter)), ppr.send(_xctl03(envelope, letter))
    )
    assert sorted(status for status, _ in answers) == [202, 409]
    [(_, taken)] = [answer for answer in answers if answer[0] == 202]
    [(_, refused)] = [answer for answer in answers if answer[0] == 409]
    assert refused["code"] == "already-receipted"
    assert [e["id"] for e in await gp.inbox()] == [taken["id"]]
    assert (await gp.status(letter_id))["receipt_id"] == taken["id"]


async def test_a_negative_receipt_after_a_positive_one_is_not_refused(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    letter_id, envelope, letter = await _delivered_letter(gp, ppr)
    status, _ = await ppr.send(_xctl03(envelope, letter))
    assert status == 202
    status, _ = await ppr.send_receipt(
        GP_GLN, envelope, letter, refuse_code="problem_med_modtagerID"
    )
    assert status == 202  # only a second positive receipt is refused
    assert (await gp.status(letter_id))["status"] == "receipted"


async def test_a_redelivered_letter_is_receipted_once(make_hub: Any) -> None:
    clock = TurnedClock()
    hub = await make_hub(clock=clock, message_ttl=timedelta(hours=5), expiry_interval=0.05)
    gp, ppr = await hub.gp_and_ppr()
    operator = await hub.user(PPR_GLN, Role.OPERATOR)
    envelope, letter = new_id("K"), new_id("B")
    _, sent = await gp.send(
        xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope, letter_id=letter, ack=True)
    )
    clock.turn(timedelta(hours=6))
    [network_receipt] = await gp.inbox(wait=10)
    assert network_receipt["type"] == "XCTL01"
    clock.turn(-timedelta(hours=6))  # the copy must not expire at once
    code, copy, _ = await operator.request("POST", f"/v1/operator/messages/{sent['id']}/redeliver")
    assert code == 201

    status, first = await ppr.send(_xctl03(envelope, letter))  # answers the copy
    assert status == 202
    assert (await gp.status(copy["id"]))["status"] == "receipted"
    assert (await gp.status(sent["id"]))["status"] == "expired"
    status, problem = await ppr.send(_xctl03(envelope, letter))
    assert (status, problem["code"]) == (409, "already-receipted")
    assert (await gp.status(copy["id"]))["receipt_id"] == first["id"]
