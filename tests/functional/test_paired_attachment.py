"""An XBIN01 whose data travels inside its letter's CareCommunication (a FHIR receiver, C10)
lives as its letter lives: fetched, taken in and expired with it, and it leaves the hub with
it. It never goes into the receiver's inbox on its own, however old its conversion record,
and the pairing finds its other half however many letters came between them."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from coordinator.mailbox.conversion import KEPT
from coordinator.mailbox.expiry import sweep_once
from coordinator.mailbox.intake import Form, Incoming, accept_many
from coordinator.mailbox.retention import run_letter_retention
from coordinator.mailbox.submission import _from_oioxml
from coordinator.state import CLOCK, COMMITTER, REGISTRY, SETTINGS
from coordinator.tables import Role
from messages.fhir.model import CareCommunication
from messages.fhir.read import read_fhir
from messages.medcom.binary import read_binary_letter
from messages.medcom.documents import build_message
from messages.medcom.routing import read_letter
from messages.xmlsafe import parse_xml
from tests.fhir_samples import PDF
from tests.functional.conftest import Client, Hub, MakeHub, TurnedClock
from tests.functional.samples import new_id
from tests.functional.test_fhir_exchange import HeldLetter, from_ppr, held_letter, partners

TTL = timedelta(days=5)
OTHERS = 21  # more letters between the two halves than the pairing once looked at


async def _sweep(hub: Hub, clock: TurnedClock, ahead: timedelta) -> None:
    """Turn the clock to ``ahead`` and run the expiry sweep and the letter retention."""
    clock.ahead = ahead
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    await run_letter_retention(hub.app[COMMITTER], hub.app[SETTINGS], clock)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)


async def _operator_sets(held: HeldLetter, method: str, setting: str, body: bytes) -> None:
    """An operator changes a setting of the letter's receiver (the GP)."""
    operator = await held.hub.user(held.ppr.gln, Role.OPERATOR)
    status, answer, _ = await operator.request(
        method,
        f"/v1/operator/organisations/{held.gp.gln}/{setting}",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert status == 200, answer


async def _status(client: Client, message_id: str) -> Any:
    status, parsed, _ = await client.request("GET", f"/v1/messages/{message_id}/status")
    return parsed["status"] if status == 200 else status


async def _with_data(gp: Client, message_id: str) -> None:
    message = read_fhir(await gp.fetch(message_id))
    assert isinstance(message, CareCommunication)
    assert [a.data for a in message.attachments] == [PDF]


async def test_an_attachment_inside_its_letter_is_fetched_taken_in_and_removed_with_it(
    make_hub: MakeHub,
) -> None:
    held = await held_letter(make_hub)
    hub, clock, gp, ppr = held.hub, held.clock, held.gp, held.ppr
    status, bin_sent = await ppr.send(held.binary)
    assert status == 202
    binary = bin_sent["id"]
    assert await _status(ppr, binary) == "accepted"

    await _operator_sets(held, "POST", "letters-consumed-by", b'{"letters_consumed_by": "people"}')
    person = await hub.user(gp.gln, Role.CASEWORKER)
    await _with_data(person, held.id)  # the letter fetched: its attachment with it
    assert await _status(ppr, held.id) == "downloaded"
    assert await _status(ppr, binary) == "downloaded"
    await person.ack(held.id)  # taken in, no Acknowledgement will come: so is its attachment
    assert await _status(ppr, binary) == "acknowledged"

    await _sweep(hub, clock, KEPT + timedelta(days=1))  # its conversion record gone too
    assert await person.inbox() == []  # never on its own
    assert await _status(ppr, held.id) == 410  # left the hub together
    assert await _status(ppr, binary) == 410


async def test_an_attachment_sent_first_expires_with_its_letter_and_never_goes_alone(
    make_hub: MakeHub,
) -> None:
    first = await held_letter(make_hub, binary_first=True, message_ttl=TTL)  # held, then carried
    hub, clock, gp, ppr = first.hub, first.clock, first.gp, first.ppr
    bin_sent = {"id": first.id}
    status, sent = await ppr.send(first.letter)
    assert status == 202
    assert [e["id"] for e in await gp.inbox()] == [sent["id"]]

    await _sweep(hub, clock, TTL + timedelta(minutes=1))  # never fetched
    assert await gp.inbox() == []
    assert await _status(ppr, sent["id"]) == "expired"
    assert await _status(ppr, bin_sent["id"]) == "expired"
    notices = await ppr.inbox()  # its sender told of each letter, as any OIOXML sender
    assert sorted((n["type"], n["format"]) for n in notices) == [("XCTL01", "oioxml")] * 2

    await _sweep(hub, clock, KEPT + timedelta(days=1))  # its conversion record gone
    assert await gp.inbox() == []


async def test_an_attachment_resent_after_its_letter_took_it_is_not_held_for_ever(
    make_hub: MakeHub,
) -> None:
    """A MedCom resend (a new envelope) of an XBIN01 its letter carries already: no letter
    takes it, so it goes on as it is after the hour (C10), flagged a resend."""
    held = await held_letter(make_hub)
    assert (await held.ppr.send(held.binary))[0] == 202
    sent = read_binary_letter(parse_xml(held.binary))
    resent = build_message(replace(sent, envelope=replace(sent.envelope, identifier=new_id("E"))))
    status, again = await held.ppr.send(resent)
    assert status == 202, again
    assert again["resend"] is True
    await _sweep(held.hub, held.clock, timedelta(minutes=61))
    entries = {e["id"]: e for e in await held.gp.inbox()}
    assert set(entries) == {held.id, again["id"]}
    assert (entries[again["id"]]["type"], entries[again["id"]]["format"]) == ("XBIN01", "oioxml")


async def test_many_letters_between_a_letter_and_its_attachment_hide_neither(
    make_hub: MakeHub,
) -> None:
    hub = await make_hub(clock=TurnedClock())
    gp, ppr = await partners(hub)
    first_letter, its_binary = from_ppr()  # the XDIS91 first, many others, then its XBIN01
    status, sent = await ppr.send(first_letter)
    assert status == 202
    for _ in range(OTHERS):
        assert (await ppr.send(from_ppr()[0]))[0] == 202
    assert (await ppr.send(its_binary))[0] == 202
    assert [e["id"] for e in await gp.inbox()] == [sent["id"]]
    await _with_data(gp, sent["id"])

    second_letter, its_binary = from_ppr()  # the XBIN01 first, many others, then its XDIS91
    assert (await ppr.send(its_binary))[0] == 202
    for _ in range(OTHERS):
        assert (await ppr.send(from_ppr()[1]))[0] == 202
    status, sent_second = await ppr.send(second_letter)
    assert status == 202
    assert [e["id"] for e in await gp.inbox()] == [sent["id"], sent_second["id"]]
    await _with_data(gp, sent_second["id"])


async def test_a_retry_after_a_stop_before_the_pairing_pairs_them(make_hub: MakeHub) -> None:
    """The XBIN01 was committed held, but the process stopped before it looked for its
    letter again (as after a commit with its letter at once): the sender's retry, a
    duplicate, pairs them."""
    held = await held_letter(make_hub)
    hub = held.hub
    routing, facts = read_letter(
        held.binary, registry=hub.app[REGISTRY], max_bytes=hub.app[SETTINGS].max_body_bytes
    )
    stored = Incoming(routing, held.binary, hub.app[CLOCK](), facts, form=Form(held=True))
    first = await hub.app[COMMITTER].bulk(accept_many, stored)
    assert await held.gp.inbox() == []  # both held, unpaired

    status, again = await held.ppr.send(held.binary)  # the retry
    assert (status, again["id"], again["duplicate"]) == (200, str(first.id), True)
    assert [e["id"] for e in await held.gp.inbox()] == [held.id]
    await _with_data(held.gp, held.id)


async def test_an_attachment_released_while_its_letter_is_read_is_delivered_once(
    make_hub: MakeHub,
) -> None:
    """The XBIN01 came first; its XDIS91's intake read it (to carry its data), and the sweep
    released it at the hour before that intake's commit: the letter goes without the data,
    so the attachment is delivered once, as it is."""
    first = await held_letter(make_hub, binary_first=True)
    hub, clock, gp, ppr = first.hub, first.clock, first.gp, first.ppr
    bin_sent = {"id": first.id}
    clock.ahead = timedelta(minutes=59)
    incoming = await _from_oioxml(
        hub.app, first.letter, ppr.gln
    )  # the route's intake, up to commit
    clock.ahead = timedelta(minutes=61)
    await sweep_once(hub.app[COMMITTER], hub.app[SETTINGS], clock)  # the XBIN01 goes as is
    accepted = await hub.app[COMMITTER].bulk(accept_many, incoming)

    entries = {e["id"]: e for e in await gp.inbox()}
    assert set(entries) == {bin_sent["id"], str(accepted.id)}
    assert entries[bin_sent["id"]]["format"] == "oioxml"
    message = read_fhir(await gp.fetch(str(accepted.id)))
    assert isinstance(message, CareCommunication)
    assert [a.data for a in message.attachments] == [None]  # the data came once: loose


async def test_a_held_letter_goes_in_the_format_its_receiver_reads_when_released(
    make_hub: MakeHub,
) -> None:
    """An operator switched the receiver to OIOXML while its letter waited for its XBIN01:
    the letter goes as its sender sent it, not as a CareCommunication."""
    held = await held_letter(make_hub)
    await _operator_sets(held, "PUT", "format", b'{"format": "oioxml"}')
    await _sweep(held.hub, held.clock, timedelta(minutes=61))
    [entry] = await held.gp.inbox()
    assert (entry["id"], entry["type"], entry["format"]) == (held.id, "XDIS91", "oioxml")
    assert await held.gp.fetch(held.id) == held.letter
