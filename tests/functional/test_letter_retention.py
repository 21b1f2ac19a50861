"""Letters forget the child too: delivered letters, receipts and reported expired letters
leave the hub after ``letter_retention``, the child's CPR with them; a tombstone keeps
their identifiers, so a repeat is still a duplicate and their parties hear ``410``.

Over real HTTP on SQLite and PostgreSQL, on a clock the test turns. The hub stamps an
acknowledgement with its commit's time (now), and a letter's arrival with the clock: a
letter sent with the clock set days back arrived days ago, so the period can be seen to
count from the acknowledgement. The retention is run by the test
(:func:`run_letter_retention`, as the scheduled job runs it), except in the test of the job.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from coordinator.errors import ConfigError
from coordinator.mailbox.retention import (
    LETTER_RETENTION_TOTALS,
    Removed,
    run_letter_retention,
)
from coordinator.settings import Settings
from coordinator.state import COMMITTER, ENGINE, SETTINGS
from coordinator.tables import MESSAGE, MESSAGE_EVENT, REMOVED_MESSAGE, Role, Sector
from tests.functional.conftest import (
    FAMILY_GLN,
    GP_GLN,
    PPR_GLN,
    Client,
    Hub,
    MakeHub,
    TurnedClock,
)
from tests.functional.index_samples import cpr_aged
from tests.functional.samples import new_id, xdis91

KEEP = timedelta(days=3)  # the hub's letter_retention in these tests
TTL = timedelta(hours=5)
SAMPLE_CPR = b"2512489996"  # the CPR samples.xdis91 writes


def letter_about(child: str, **kw: Any) -> bytes:
    return xdis91(sender=GP_GLN, receiver=PPR_GLN, **kw).replace(SAMPLE_CPR, child.encode())


async def _hub(make_hub: MakeHub, clock: TurnedClock, **settings: Any) -> Hub:
    # letters sent "days ago" must not expire before the test acknowledges them
    settings = {"message_ttl": timedelta(days=30), **settings}
    return await make_hub(clock=clock, letter_retention=KEEP, **settings)


async def _retain(hub: Hub, clock: TurnedClock, **kw: Any) -> Removed:
    app = hub.app
    return await run_letter_retention(
        app[COMMITTER], app[SETTINGS], clock, app[LETTER_RETENTION_TOTALS], **kw
    )


async def _count(hub: Hub, statement: Any) -> int:
    async with hub.app[ENGINE].connect() as conn:
        return int(await conn.scalar(statement) or 0)


async def _messages_about(hub: Hub, child: str) -> int:
    """Messages in the store holding ``child``'s CPR, beside them or in their body."""
    m = MESSAGE.c
    async with hub.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(m.patient_cpr, m.body))).all()
    return sum(1 for cpr, body in rows if cpr == child or child.encode() in bytes(body))


async def _gone(client: Client, path: str, method: str = "GET") -> dict[str, Any]:
    status, problem, raw = await client.request(method, path)
    assert (status, problem["code"]) == (410, "letter-removed"), (status, problem)
    assert b"Nancy" not in raw  # nothing of the letter's text
    result: dict[str, Any] = problem
    return result


async def test_a_delivered_letter_and_its_receipt_go_after_the_period_and_not_before(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp, ppr = await hub.gp_and_ppr()
    family = await hub.org(FAMILY_GLN, Sector.FAMILY)
    child = cpr_aged(9)
    envelope_id, letter_id = new_id("K"), new_id("B")
    clock.ahead = -timedelta(days=10)  # the letter arrived ten days ago ...
    _, sent = await gp.send(letter_about(child, envelope_id=envelope_id, letter_id=letter_id))
    clock.ahead = timedelta(0)
    await ppr.take(sent["id"])  # ... and is acknowledged and receipted now
    _, receipted = await ppr.send_receipt(GP_GLN, envelope_id, letter_id)
    await gp.take(receipted["id"])
    assert (await gp.status(sent["id"]))["status"] == "receipted"
    assert await _messages_about(hub, child) == 1

    clock.ahead = KEEP - timedelta(minutes=1)  # the period counts from the last change
    assert (await _retain(hub, clock)).total == 0
    assert (await gp.status(sent["id"]))["status"] == "receipted"
    assert await ppr.fetch(sent["id"])

    clock.ahead = KEEP + timedelta(minutes=1)
    removed = await _retain(hub, clock)
    assert removed.as_dict() == {"letters": 1, "expired": 0, "receipts": 1, "conversions": 0}
    assert (await _retain(hub, clock)).total == 0  # once

    # the CPR, the body and the history are gone from the database; the tombstone is small
    assert await _messages_about(hub, child) == 0
    ids = [uuid.UUID(sent["id"]), uuid.UUID(receipted["id"])]
    assert await _count(hub, select(func.count()).where(MESSAGE.c.id.in_(ids))) == 0
    events = select(func.count()).where(MESSAGE_EVENT.c.message_id.in_(ids))
    assert await _count(hub, events) == 0
    assert await _count(hub, select(func.count()).select_from(REMOVED_MESSAGE)) == 2
    assert {c.name for c in REMOVED_MESSAGE.columns}.isdisjoint({"body", "patient_cpr", "subject"})

    # its sender and receiver hear it is gone, and what became of it; others hear nothing
    problem = await _gone(gp, f"/v1/messages/{sent['id']}/status")
    assert "receipted" in problem["detail"]
    assert child not in problem["detail"]
    await _gone(gp, f"/v1/messages/{sent['id']}")
    await _gone(ppr, f"/v1/messages/{sent['id']}")
    await _gone(ppr, f"/v1/messages/{sent['id']}/status")
    await _gone(ppr, f"/v1/messages/{sent['id']}/ack", "POST")
    await _gone(gp, f"/v1/messages/{receipted['id']}/status")
    status, problem, _ = await family.request("GET", f"/v1/messages/{sent['id']}/status")
    assert (status, problem["code"]) == (404, "not-found")
    _, outbox, _ = await gp.request("GET", "/v1/outbox")
    assert outbox["messages"] == []

    _, _, raw = await hub.anonymous().request("GET", "/metrics")
    text = raw.decode()
    assert "samspil_letter_retention_removed_letters_total 1.0" in text
    assert "samspil_letter_retention_removed_receipts_total 1.0" in text


async def test_a_letter_sent_again_after_it_was_removed_is_not_delivered_again(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp, ppr = await hub.gp_and_ppr()
    envelope_id, letter_id = new_id("K"), new_id("B")
    letter = xdis91(sender=GP_GLN, receiver=PPR_GLN, envelope_id=envelope_id, letter_id=letter_id)
    _, first = await gp.send(letter)
    await ppr.take(first["id"])
    clock.ahead = KEEP + timedelta(minutes=1)
    assert (await _retain(hub, clock)).letters == 1

    # the sender's adapter sends the very same letter again: a duplicate, nothing delivered
    status, again = await gp.send(letter)
    assert status == 200
    assert (again["id"], again["status"], again["duplicate"]) == (
        first["id"],
        "acknowledged",
        True,
    )
    assert await ppr.inbox() == []
    await _gone(gp, f"/v1/messages/{again['id']}/status")

    # a new envelope for the same letter is a resend (MedCom), and the removed send counts
    for n in range(3):
        resend = xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter_id)
        status, answer = await gp.send(resend)
        assert (status, answer.get("resend")) == (202, True), (n, answer)
    [entry, *_] = await ppr.inbox()
    assert entry["letter_id"] == letter_id
    status, problem = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, letter_id=letter_id))
    assert (status, problem["code"]) == (409, "resend-limit")


async def test_a_letter_not_yet_acknowledged_is_kept(make_hub: MakeHub) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    gp, ppr = await hub.gp_and_ppr()
    child = cpr_aged(11)
    clock.ahead = -timedelta(days=10)
    _, waiting = await gp.send(letter_about(child))
    _, fetched = await gp.send(letter_about(child))
    clock.ahead = timedelta(0)
    await ppr.fetch(fetched["id"])  # downloaded, never acknowledged

    clock.ahead = KEEP * 2
    assert (await _retain(hub, clock)).total == 0
    assert {e["id"] for e in await ppr.inbox()} == {waiting["id"], fetched["id"]}
    assert (await gp.status(fetched["id"]))["status"] == "downloaded"
    assert await _messages_about(hub, child) == 2


async def test_an_expired_letter_goes_after_its_sender_acknowledged_the_xctl01(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock, message_ttl=TTL, expiry_interval=0.05)
    gp, _ = await hub.gp_and_ppr()
    child = cpr_aged(7)
    clock.ahead = -timedelta(days=10)
    _, sent = await gp.send(letter_about(child))
    clock.ahead = -timedelta(days=10) + TTL + timedelta(minutes=1)
    [report] = await gp.inbox(wait=10)  # the expiry sweep's XCTL01, now
    assert report["type"] == "XCTL01"

    clock.ahead = KEEP + timedelta(hours=1)
    assert (await _retain(hub, clock)).total == 0  # the sender has not taken the report in
    assert (await gp.status(sent["id"]))["status"] == "expired"
    assert await _messages_about(hub, child) == 1

    await gp.take(report["id"])  # acknowledged now: the period counts from here
    clock.ahead = KEEP - timedelta(minutes=1)
    assert (await _retain(hub, clock)).total == 0
    clock.ahead = KEEP + timedelta(minutes=1)
    removed = await _retain(hub, clock)
    assert removed.as_dict() == {"letters": 0, "expired": 1, "receipts": 1, "conversions": 0}
    assert await _messages_about(hub, child) == 0
    problem = await _gone(gp, f"/v1/messages/{sent['id']}/status")
    assert "expired" in problem["detail"]
    await _gone(gp, f"/v1/messages/{report['id']}")
    # an operator can no longer re-deliver it, and is told why
    operator = await hub.user(GP_GLN, Role.OPERATOR)
    await _gone(operator, f"/v1/operator/messages/{sent['id']}")
    await _gone(operator, f"/v1/operator/messages/{sent['id']}/redeliver", "POST")
    await _gone(operator, f"/v1/operator/messages/{sent['id']}/status-report", "POST")


async def test_a_backlog_goes_in_steps_and_two_hubs_remove_each_letter_once(
    make_hub: MakeHub,
) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock)
    other = await _hub(make_hub, clock)  # a second hub process on the same database
    gp, ppr = await hub.gp_and_ppr()
    sent = [
        (await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=False)))[1] for _ in range(23)
    ]
    for letter in sent:
        await ppr.take(letter["id"])
    clock.ahead = KEEP + timedelta(minutes=1)

    both = await asyncio.gather(_retain(hub, clock, step=4), _retain(other, clock, step=4))
    assert sum(r.letters for r in both) == 23
    assert await _count(hub, select(func.count()).select_from(MESSAGE)) == 0
    assert await _count(hub, select(func.count()).select_from(REMOVED_MESSAGE)) == 23
    for letter in sent:
        await _gone(gp, f"/v1/messages/{letter['id']}/status")


async def test_the_retention_job_runs_on_its_own(make_hub: MakeHub) -> None:
    clock = TurnedClock()
    hub = await _hub(make_hub, clock, retention_interval=0.05)
    gp, ppr = await hub.gp_and_ppr()
    _, sent = await gp.send(xdis91(sender=GP_GLN, receiver=PPR_GLN, ack=False))
    await ppr.take(sent["id"])
    clock.ahead = KEEP + timedelta(minutes=1)
    for _ in range(200):  # the job runs every 0.05 s; this bounds a job that never runs
        status, _, _ = await gp.request("GET", f"/v1/messages/{sent['id']}/status")
        if status == 410:
            break
        await asyncio.sleep(0.05)
    await _gone(gp, f"/v1/messages/{sent['id']}/status")
    assert hub.app[LETTER_RETENTION_TOTALS].letters == 1


def test_the_period_is_read_from_the_environment_and_checked() -> None:
    assert Settings.from_env({}).letter_retention == timedelta(days=7)
    env = {"SAMSPIL_LETTER_RETENTION": "86400"}
    assert Settings.from_env(env).letter_retention == timedelta(days=1)
    for bad in ("0", "-5", "soon"):
        with pytest.raises(ConfigError, match="SAMSPIL_LETTER_RETENTION"):
            Settings.from_env({"SAMSPIL_LETTER_RETENTION": bad})
    production = {"SAMSPIL_ENVIRONMENT": "production", "SAMSPIL_LETTER_RETENTION": "600"}
    with pytest.raises(ConfigError, match="SAMSPIL_LETTER_RETENTION under one hour"):
        Settings.from_env(production)
    assert Settings.from_env({**production, "SAMSPIL_LETTER_RETENTION": "3600"})
