"""A GP and a PPR exchange correspondence and receipts through a real hub."""

from __future__ import annotations

from coordinator.tables import Sector
from tests.functional.conftest import GP_GLN, PPR_GLN, Hub
from tests.functional.samples import new_id, xdis91


async def test_correspondence_and_positive_receipt(hub: Hub) -> None:
    gp = await hub.org(GP_GLN, Sector.GP, "Lægerne i Brønderslev")
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR Brønderslev")
    envelope, letter = new_id("K"), new_id("B")
    body = xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope, letter_id=letter)

    status, accepted = await gp.send(body)
    assert status == 202
    assert accepted["status"] == "accepted"
    message_id = accepted["id"]

    [entry] = await ppr.inbox()
    assert entry["id"] == message_id
    assert entry["type"] == "XDIS91"
    assert entry["sender"] == GP_GLN
    assert entry["size"] == len(body)
    assert await ppr.fetch(message_id) == body  # byte for byte (ISO-8859-1 kept)
    assert (await gp.status(message_id))["status"] == "downloaded"
    assert (await ppr.ack(message_id))["status"] == "acknowledged"
    assert await ppr.inbox() == []

    status, sent = await ppr.send_receipt(GP_GLN, envelope, letter)
    assert status == 202
    [receipt_entry] = await gp.inbox()
    assert receipt_entry["type"] == "XCTL03"
    assert receipt_entry["id"] == sent["id"]
    await gp.take(sent["id"])

    final = await gp.status(message_id)
    assert final["status"] == "receipted"
    assert final["receipt_id"] == sent["id"]
    assert [e["status"] for e in final["events"]] == [
        "accepted",
        "downloaded",
        "acknowledged",
        "receipted",
    ]
    assert await ppr.status(message_id) == final  # the receiver sees the same


async def test_negative_receipt_rejects_the_letter(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    envelope, letter = new_id("K"), new_id("B")
    _, accepted = await gp.send(
        xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope, letter_id=letter)
    )
    await ppr.fetch(accepted["id"])
    status, _ = await ppr.send_receipt(
        GP_GLN, envelope, letter, refuse_code="problem_med_modtagerID"
    )
    assert status == 202
    assert (await gp.status(accepted["id"]))["status"] == "rejected"
    [entry] = await gp.inbox()
    assert entry["type"] == "XCTL02"
    assert await ppr.inbox() == []  # a refused letter leaves the receiver's inbox


async def test_reply_thread(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    episode = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    _, first = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, episode=episode))
    await ppr.ack(first["id"])
    status, reply = await ppr.send(
        xdis91(sender=PPR_GLN, receiver=GP_GLN, episode=episode, ack=False, text="Svar: møde.")
    )
    assert status == 202
    [entry] = await gp.inbox()
    assert entry["id"] == reply["id"]
    assert entry["sender"] == PPR_GLN
    status, outbox, _ = await ppr.request("GET", "/v1/outbox")
    assert status == 200
    assert [m["id"] for m in outbox["messages"]] == [reply["id"]]
    assert outbox["messages"][0]["receiver"] == GP_GLN


async def test_duplicate_is_answered_with_the_same_id_and_delivered_once(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    body = xdis91(sender=GP_GLN, receiver=PPR_GLN)
    status, first = await gp.send(body)
    assert status == 202
    status, again = await gp.send(body)
    assert status == 200
    assert again["id"] == first["id"]
    assert again["duplicate"] is True
    assert [m["id"] for m in await ppr.inbox()] == [first["id"]]
    await ppr.ack(first["id"])
    status, after_ack = await gp.send(body)  # still a duplicate after delivery
    assert (status, after_ack["id"]) == (200, first["id"])
    assert await ppr.inbox() == []


async def test_resend_with_new_envelope_is_accepted_and_flagged(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    letter = new_id("B")
    _, first = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter))
    status, resent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter))
    assert status == 202
    assert resent["resend"] is True
    assert resent["id"] != first["id"]
    assert (await gp.status(resent["id"]))["resend"] is True
    assert {m["id"] for m in await ppr.inbox()} == {first["id"], resent["id"]}


async def test_a_letter_is_resent_at_most_three_times(hub: Hub) -> None:
    gp, ppr = await hub.gp_and_ppr()
    letter = new_id("B")
    sent = []
    for _ in range(4):  # the letter and MedCom's three resends
        status, answer = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter))
        assert status == 202
        sent.append(answer["id"])
    fourth = xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter)
    status, problem = await gp.send(fourth)
    assert status == 409
    assert problem["code"] == "resend-limit"
    assert letter in problem["detail"]
    status, problem = await gp.send(fourth)  # and stays refused: nothing was stored
    assert (status, problem["code"]) == (409, "resend-limit")
    status, again = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN))  # a new letter
    assert status == 202
    assert {m["id"] for m in await ppr.inbox()} == {*sent, again["id"]}


async def test_concurrent_identical_submissions_make_one_message(hub: Hub) -> None:
    import asyncio

    gp, ppr = await hub.gp_and_ppr()
    body = xdis91(sender=GP_GLN, receiver=PPR_GLN)
    answers = await asyncio.gather(*(gp.send(body) for _ in range(20)))
    ids = {answer["id"] for _, answer in answers}
    assert len(ids) == 1
    assert sorted(status for status, _ in answers) == [200] * 19 + [202]
    assert len(await ppr.inbox()) == 1
