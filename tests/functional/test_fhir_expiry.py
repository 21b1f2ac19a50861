"""A FHIR sender's letter that expires unfetched: the sender hears of it in FHIR, as a
MedCom Acknowledgement (``fatal-error``, an OperationOutcome saying the letter was not
delivered) answering its MessageHeader, never an XCTL01 it could not read. MedCom maps no
XCTL01 to FHIR (C11): this is Samspil's rule."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from coordinator.mailbox.expiry import sweep_once
from coordinator.state import COMMITTER, SETTINGS
from coordinator.tables import MessageFormat, Sector
from messages.fhir.build import build_fhir
from messages.fhir.model import Acknowledgement
from messages.fhir.read import read_fhir
from tests.functional.conftest import GP_GLN, PPR_GLN, Client, Hub, MakeHub, TurnedClock
from tests.functional.samples import new_id, xdis91
from tests.functional.test_fhir_exchange import (
    FHIR_JSON,
    GP_SOR,
    PPR_SOR,
    care_communication,
    held_letter,
)

TTL = timedelta(days=5)


async def _expired_in_fhir(hub: Hub, clock: TurnedClock, gp: Client, receiver: Client) -> None:
    message = care_communication()
    status, sent, _ = await gp.request(
        "POST", "/v1/messages", body=build_fhir(message), headers=FHIR_JSON
    )
    assert status == 202, sent
    assert await receiver.inbox() != []  # delivered, never fetched

    clock.ahead = TTL + timedelta(minutes=1)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert await receiver.inbox() == []
    assert (await gp.status(sent["id"]))["status"] == "expired"

    [entry] = await gp.inbox()  # one answer for the message, in the sender's format
    assert entry["format"] == "fhir"
    status, _, raw = await gp.request("GET", f"/v1/messages/{entry['id']}")
    assert status == 200
    ack = read_fhir(raw)
    assert isinstance(ack, Acknowledgement)
    assert (ack.response_identifier, ack.code) == (message.header_id, "fatal-error")
    assert ack.details is not None
    assert "ikke leveret" in ack.details
    assert "ikke hentet af modtageren" in ack.details
    assert (ack.receiver.gln, ack.receiver.sor) == (GP_GLN, GP_SOR)

    bundle = Bundle.model_validate_json(raw)  # an independent FHIR library reads it
    assert bundle.type == "message"
    tree = json.loads(raw)
    for item in tree["entry"]:
        get_fhir_model_class(item["resource"]["resourceType"]).model_validate(item["resource"])
    kinds = [item["resource"]["resourceType"] for item in tree["entry"]]
    assert "OperationOutcome" in kinds


@pytest.mark.parametrize("fmt", [MessageFormat.OIOXML, MessageFormat.FHIR])
async def test_a_fhir_letter_that_expires_is_answered_with_an_acknowledgement(
    make_hub: MakeHub, fmt: MessageFormat
) -> None:
    """To an OIOXML receiver (its XDIS91 and XBIN01 expire together: one Acknowledgement for
    the one message) or a FHIR one."""
    clock = TurnedClock()
    hub = await make_hub(clock=clock, message_ttl=TTL)
    gp = await hub.org(GP_GLN, Sector.GP, "Lægehuset", fmt=MessageFormat.FHIR, sor=GP_SOR)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR", fmt=fmt, sor=PPR_SOR)
    await _expired_in_fhir(hub, clock, gp, ppr)


@pytest.mark.parametrize("fmt", [MessageFormat.OIOXML, MessageFormat.FHIR])
async def test_an_oioxml_sender_still_gets_its_xctl01(
    make_hub: MakeHub, fmt: MessageFormat
) -> None:
    """To an OIOXML or a FHIR receiver (its letter converted), the XCTL01 as before."""
    clock = TurnedClock()
    hub = await make_hub(clock=clock, message_ttl=TTL)
    await hub.org(GP_GLN, Sector.GP, "Lægehuset", fmt=fmt, sor=GP_SOR)
    ppr = await hub.org(PPR_GLN, Sector.PPR, "PPR", sor=PPR_SOR)
    body = xdis91(sender=PPR_GLN, receiver=GP_GLN, envelope_id=new_id("K"), letter_id=new_id("B"))
    status, sent = await ppr.send(body)
    assert status == 202
    clock.ahead = TTL + timedelta(minutes=1)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    assert (await ppr.status(sent["id"]))["status"] == "expired"
    [entry] = await ppr.inbox()
    assert (entry["type"], entry["format"]) == ("XCTL01", "oioxml")


async def test_a_held_letter_has_its_whole_time_after_its_release(make_hub: MakeHub) -> None:
    """A letter held for its attachment cannot expire while it waits, and the hour it
    waited is not taken from its receiver: its time counts from its release."""
    held = await held_letter(make_hub, message_ttl=timedelta(minutes=90))

    async def sweep_at(minutes: int) -> None:
        held.clock.ahead = timedelta(minutes=minutes)
        await sweep_once(held.hub.app[COMMITTER], held.hub.app[SETTINGS], held.clock)

    await sweep_at(61)  # released without the attachment's data
    assert [e["id"] for e in await held.gp.inbox()] == [held.id]
    await sweep_at(61 + 89)  # 150 minutes after it came, 89 after its release
    assert (await held.ppr.status(held.id))["status"] == "accepted"
    assert [e["id"] for e in await held.gp.inbox()] == [held.id]
    await sweep_at(61 + 91)
    assert (await held.ppr.status(held.id))["status"] == "expired"
    assert await held.gp.inbox() == []
    [notice] = await held.ppr.inbox()
    assert (notice["type"], notice["format"]) == ("XCTL01", "oioxml")
