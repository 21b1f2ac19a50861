"""The overview query through the HL7 adapters: a clinic system asks with ``QBP^Q11`` over MLLP
(python-hl7's ``MLLPClient``, an independent implementation) and reads the ``RSP^K11`` with
``hl7.parse``; a real hub decides what may be shown, and logs who asked."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import hl7
from hl7.client import MLLPClient

from adapters.hl7query import OverviewQueries, is_query_frame
from adapters.metrics import render
from messages.hl7.build import build_appointment, build_episode_event
from messages.hl7.model import COPENHAGEN, PersonName
from messages.hl7.query import OverviewQuery, build_query, read_response
from messages.hl7.samples import (
    CHILD_CPR,
    GP_GLN,
    make_appointment,
    make_episode_event,
    make_routing,
)
from messages.identifiers import parse_cpr
from tests.adapters.conftest import BUP_GLN, MakeAdapter, RestartableHub, eventually, mllp_send
from wire.client import HubClient

UNKNOWN_CPR = "0101174321"
"""A valid CPR number no organisation has a case for."""
ASKER = PersonName("Hansen", "Lise")


def query(cpr: str = CHILD_CPR, *, control_id: str, asker: PersonName = ASKER) -> str:
    routing = make_routing(sending_application="EPJ")
    return build_query(
        OverviewQuery(parse_cpr(cpr), asker, control_id), routing, control_id=control_id
    )


async def ask(port: int, er7: str) -> Any:
    """One query with python-hl7's blocking MLLP client (in a thread), the answer parsed."""

    def send() -> str:
        with MLLPClient("127.0.0.1", port, encoding="utf-8") as client:
            answer: bytes = client.send_message(er7)
        return answer.decode("utf-8").strip("\x0b\x1c\r")

    text = await asyncio.wait_for(asyncio.to_thread(send), 30)
    return hl7.parse(text)


def field(message: Any, segment: str, n: int) -> str:
    return str(message.segment(segment)[n])


async def settled(adapter: Any) -> bool:
    return bool(adapter.outbox.depth == 0 and await adapter.outbox.drain(0.01))


async def open_case(adapter: Any, facility: str, ref: str, *, cpr: str = CHILD_CPR) -> None:
    routing = make_routing(sending_application="EPJ", sending_facility=facility)
    episode = make_episode_event(case_ref=ref, child_cpr=parse_cpr(cpr))
    answer = await mllp_send(adapter.mllp_port, build_episode_event(episode, routing))
    assert field(answer, "MSA", 1) == "AA"
    await eventually(lambda: settled(adapter))


async def psychiatry_with_case_and_appointment(make_adapter: MakeAdapter) -> Any:
    bup = await make_adapter("psychiatry", BUP_GLN)
    await open_case(bup, BUP_GLN, "BUP-1")
    routing = make_routing(sending_application="EPJ", sending_facility=BUP_GLN)
    soon = datetime.now(COPENHAGEN).replace(microsecond=0, second=0) + timedelta(days=2)
    appointment = make_appointment(case_ref="BUP-1", start=soon, end=soon + timedelta(hours=1))
    answer = await mllp_send(bup.mllp_port, build_appointment(appointment, routing))
    assert field(answer, "MSA", 1) == "AA"
    await eventually(lambda: settled(bup))
    return bup


async def consent(hub: RestartableHub, recorder: str, sectors: list[str]) -> tuple[HubClient, str]:
    """A caseworker of ``recorder`` records a parent's consent; their client and its id."""
    worker = HubClient(hub.url, await hub.user(recorder))
    recorded = await worker.add_consent(
        CHILD_CPR,
        {
            "given_by_name": "Mor Sørensen",
            "relation": "custodial-parent",
            "form": "written",
            "sectors": sectors,
        },
    )
    return worker, str(recorded["id"])


async def test_the_gp_sees_psychiatry_only_under_consent_and_every_query_is_logged_naming_the_asker(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    bup = await psychiatry_with_case_and_appointment(make_adapter)
    await open_case(gp, GP_GLN, "GP-1")
    items_before = len(await gp.outbox.items())

    # no consent: nothing of psychiatry, and the answer says why
    before = await ask(gp.mllp_port, query(control_id="Q-1"))
    assert (field(before, "MSA", 1), field(before, "MSA", 2)) == ("AA", "Q-1")
    assert (field(before, "QAK", 1), field(before, "QAK", 2)) == ("Q-1", "NF")
    assert (field(before, "ERR", 4), field(before, "ERR", 5)) == ("W", "consent-missing")
    assert "psychiatry" in before.unescape(field(before, "ERR", 8))
    assert "PRD" not in [str(s[0]) for s in before]

    worker, consent_id = await consent(hub, BUP_GLN, ["gp", "psychiatry"])
    shared = await ask(gp.mllp_port, query(control_id="Q-2"))
    assert (field(shared, "MSA", 1), field(shared, "QAK", 2)) == ("AA", "OK")
    assert [str(s[0]) for s in shared][5:] == [
        "PRD", "PV1", "PV2", "ROL", "SCH", "TQ1", "AIL", "AIP",
    ]  # fmt: skip
    assert str(shared.segment("PRD")[7][0][0]) == BUP_GLN
    assert str(shared.segment("PRD")[1][0][0]) == "psychiatry"
    assert str(shared.segment("PV2")[3][0][0]) == "psychiatric-assessment"
    assert field(shared, "PV1", 41) == "active"
    assert str(shared.segment("SCH")[25][0][0]) == "Booked"
    assert str(shared.segment("ROL")[4][0][1]) == bup.config.contact.name
    read = read_response(str(shared))  # our reader agrees with python-hl7's
    assert [p.gln for p in read.result.partners] == [BUP_GLN]
    assert read.result.partners[0].cases[0].kind == "psychiatric-assessment"

    again = await ask(gp.mllp_port, query(control_id="Q-2"))  # a resent query: answered again
    assert field(again, "QAK", 2) == "OK"

    # the owner reads its access log: one entry per query that showed its data, naming who
    # asked and for which organisation
    views = [
        e
        for e in await bup.hub.access_log(CHILD_CPR)
        if e["kind"] == "overview" and e["organisation"] == GP_GLN
    ]
    assert len(views) == 2
    assert {(e["person"], e["on_behalf_of"]) for e in views} == {("Lise Hansen", True)}
    assert all(d["organisation"] == BUP_GLN for e in views for d in e["disclosed"])

    await worker.revoke_consent(CHILD_CPR, consent_id)
    revoked = await ask(gp.mllp_port, query(control_id="Q-3"))
    assert (field(revoked, "MSA", 1), field(revoked, "QAK", 2)) == ("AA", "NF")
    assert "PRD" not in [str(s[0]) for s in revoked]
    after = [e for e in await bup.hub.access_log(CHILD_CPR) if e["kind"] == "overview"]
    assert len([e for e in after if e["organisation"] == GP_GLN]) == 2  # nothing shown, no entry
    await worker.close()

    # a query is not a write: nothing went to the outbox
    assert len(await gp.outbox.items()) == items_before
    assert gp.health()["queries"] == {"OK": 2, "NF": 2, "AE": 0, "AR": 0}
    metrics = render(gp.health(), gp.counters)
    labels = f'adapter="gp",organisation="{GP_GLN}"'
    assert f'samspil_adapter_mllp_queries_total{{{labels},status="OK"}} 2' in metrics


async def test_without_an_own_active_case_the_answer_is_the_same_as_for_an_unknown_child(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    await psychiatry_with_case_and_appointment(make_adapter)
    worker, _ = await consent(hub, BUP_GLN, ["gp", "psychiatry"])  # not instead of a case
    await worker.close()

    known = await ask(gp.mllp_port, query(CHILD_CPR, control_id="Q-K"))
    unknown = await ask(gp.mllp_port, query(UNKNOWN_CPR, control_id="Q-U"))
    for answer in (known, unknown):
        assert (field(answer, "MSA", 1), field(answer, "QAK", 2)) == ("AE", "AE")
        assert str(answer.segment("ERR")[5]) == "no-active-case"
        assert str(answer.segment("ERR")[3][0][0]) == "204"
        assert [str(s[0]) for s in answer] == ["MSH", "MSA", "ERR", "QAK", "QPD"]
    for segment, n in (("MSA", 3), ("ERR", 3), ("ERR", 8)):
        assert field(known, segment, n) == field(unknown, segment, n)
    assert CHILD_CPR not in field(known, "ERR", 8)


async def test_a_malformed_query_gets_a_reason_and_a_hub_outage_asks_for_later(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    bup = await make_adapter("psychiatry", BUP_GLN)
    await open_case(bup, BUP_GLN, "BUP-1")
    good = query(control_id="Q-OK")
    ok = await ask(bup.mllp_port, good)  # the psychiatry adapter answers too
    assert (field(ok, "MSA", 1), field(ok, "QAK", 2)) == ("AA", "NF")

    cases = {
        "no-person": (good.replace("|^Hansen^Lise", ""), "AE", "missing-field"),
        "bad-cpr": (good.replace(CHILD_CPR, "3113164321"), "AE", "invalid-cpr"),
        "other-query": (good.replace("SamspilOverview", "IHE PDQ Query"), "AE", "unknown-query"),
        "garbage": (good + "\r\x01\x02 not a segment", "AE", "bad-segment"),
        "version": (good.replace("|P|2.5|", "|P|3.0|"), "AR", "unsupported-version"),
    }
    for name, (er7, ack, code) in cases.items():
        answer = await ask(bup.mllp_port, er7)
        assert str(answer.segment("MSH")[9]) == "RSP^K11^RSP_K11", name
        assert field(answer, "MSA", 2) == "Q-OK", name
        assert (field(answer, "MSA", 1), field(answer, "QAK", 2)) == (ack, ack), name
        assert field(answer, "ERR", 5) == code, name
        assert field(answer, "MSA", 3), name  # a sentence
        reasons = field(answer, "MSA", 3) + field(answer, "ERR", 8)
        assert "3113164321" not in reasons, name  # the QPD echo repeats it, no sentence does

    await hub.stop()
    try:
        down = await ask(bup.mllp_port, query(control_id="Q-DOWN"))
        assert (field(down, "MSA", 1), field(down, "QAK", 2)) == ("AR", "AR")
        assert field(down, "ERR", 5) == "hub-unavailable"
    finally:
        await hub.start()
    back = await ask(bup.mllp_port, query(control_id="Q-DOWN"))  # asked again: answered
    assert (field(back, "MSA", 1), field(back, "QAK", 2)) == ("AA", "NF")


async def test_a_query_whose_bytes_do_not_match_its_character_set_is_answered_in_8859_1() -> None:
    async with HubClient("http://127.0.0.1:9", "never-used") as hub:  # never asked
        desk = OverviewQueries(hub)
        er7 = query(control_id="Q-LATIN", asker=PersonName("Sørensen", "Lise"))
        answer = await desk.answer(er7.encode("latin-1"))  # MSH-18 says UNICODE UTF-8
        unreadable = await desk.answer(b"not hl7 at all")
    parsed = hl7.parse(answer.decode("latin-1"))
    assert field(parsed, "MSH", 18) == "8859/1"
    assert (field(parsed, "MSA", 1), field(parsed, "MSA", 2)) == ("AE", "Q-LATIN")
    assert (field(parsed, "QAK", 2), field(parsed, "ERR", 5)) == ("AE", "undecodable")
    assert desk.answered["AE"] == 1
    no_msh = hl7.parse(unreadable.decode())  # no MSH: the feed's ACK, an AR with no MSA-2
    assert (field(no_msh, "MSA", 1), field(no_msh, "MSA", 2)) == ("AR", "")


def test_a_query_frame_is_told_from_the_feed_by_its_msh_alone() -> None:
    assert is_query_frame(query(control_id="Q-1").encode())
    assert is_query_frame(b"\xef\xbb\xbf\r\nMSH#$~\\&#A#B#C#D#20260101##QBP$Q11$QBP_Q11#1#P#2.5")
    for other in (
        b"MSH|^~\\&|A|B|C|D|20260101||SIU^S12^SIU_S12|1|P|2.5",
        b"MSH|^~\\&|A|B|C|D|20260101||QBP^Q22|1|P|2.5",  # IHE PDQ's query: not ours
        b"MSH|^~\\&|A|B|C|D|20260101||QBP",
        b"MSH|^~\\&|A|B",
        b"PID|1||QBP^Q11",
        b"",
    ):
        assert not is_query_frame(other), other
