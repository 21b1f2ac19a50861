"""Inbox threads from the list: a reply's inbox entry names the letter it answers.

A Samspil reply carries ``Reference/URL`` = ``urn:samspil:letter:<id>``; the hub reads it at
intake and every ``GET /v1/inbox`` entry says ``in_reply_to`` (null for a first letter), so
the caseworker app threads a reply without an episode of care before it is opened.
"""

from __future__ import annotations

from typing import Any

from messages.medcom.correspondence import new_correspondence, reply_reference
from messages.medcom.documents import build_message
from messages.medcom.model import Party, Patient, Reference
from tests.functional.conftest import GP_GLN, PPR_GLN

CHILD = "2512489996"  # MedCom's test CPR


def letter(sender: str, receiver: str, *references: Reference) -> tuple[str, bytes]:
    made = new_correspondence(
        sender=Party(sender, sender, "lokationsnummer", "Afsender"),
        receiver=Party(receiver, receiver, "lokationsnummer", "Modtager"),
        patient=Patient(cpr=CHILD, surname="Jensen"),
        subject="Om Nancy",
        text="Tekst",
        references=references,
    )
    return made.letter_identifier, build_message(made)


async def test_a_replys_inbox_entry_names_the_letter_it_answers(hub: Any) -> None:
    gp, ppr = await hub.gp_and_ppr()
    first_id, first = letter(GP_GLN, PPR_GLN)
    assert (await gp.send(first))[0] == 202
    [entry] = await ppr.inbox()
    assert (entry["letter_id"], entry["in_reply_to"]) == (first_id, None)
    await ppr.take(entry["id"])

    other = Reference(description="Vejledning", url="https://example.org/vejledning")
    reply_id, reply = letter(PPR_GLN, GP_GLN, other, reply_reference(first_id))
    assert (await ppr.send(reply))[0] == 202
    [answer] = await gp.inbox()
    assert (answer["letter_id"], answer["episode_id"]) == (reply_id, None)
    assert answer["in_reply_to"] == first_id


async def test_a_reference_that_is_no_letter_identifier_is_not_a_reply(hub: Any) -> None:
    gp, ppr = await hub.gp_and_ppr()
    too_long = Reference(description="Svar", url="urn:samspil:letter:" + "9" * 15)
    elsewhere = Reference(description="Svar", url="https://example.org/urn:samspil:letter:B1")
    for refs in ((too_long,), (elsewhere,), (Reference(description="Bilag", sup=True),)):
        _, body = letter(GP_GLN, PPR_GLN, *refs)
        assert (await gp.send(body))[0] == 202
    entries = await ppr.inbox()
    assert [e["in_reply_to"] for e in entries] == [None, None, None]
