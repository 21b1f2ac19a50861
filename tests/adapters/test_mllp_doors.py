"""The GP and psychiatry adapters' MLLP door, through real sockets against a real hub.

Driven by python-hl7's blocking client (:class:`hl7.client.MLLPClient`, an independent
implementation, run on a thread so the adapter keeps the event loop) and by raw sockets.

* every frame is answered and the connection stays open: bad input gets ``AE``/``AR``
  naming its control id (or an empty ``MSA-2`` when no ``MSH`` can be read), so a clinic
  engine in original mode is never left resending one frame forever;
* a control id reused for different content is refused, never silently dropped;
* an appointment whose ``PV1-19`` names a visit number the hub does not know is accepted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import hl7
import pytest
from hl7.client import MLLPClient
from sqlalchemy import select

from adapters.base import Adapter
from adapters.outbox import ItemState
from coordinator.index.tables import Appointment as HubAppointment
from coordinator.state import ENGINE
from messages.hl7.build import build_appointment, build_episode_event, build_referral
from messages.hl7.samples import (
    CHILD_CPR,
    GP_GLN,
    PPR_GLN,
    make_appointment,
    make_episode_event,
    make_referral,
    make_routing,
)
from tests.adapters.conftest import (
    BUP_GLN,
    OTHER_GP_GLN,
    MakeAdapter,
    RestartableHub,
    eventually,
)

DOORS = [("gp", GP_GLN), ("psychiatry", BUP_GLN)]


class Clinic:
    """One MLLP connection from python-hl7's client, used from a worker thread."""

    def __init__(self, port: int) -> None:
        self.client = MLLPClient("127.0.0.1", port, encoding="utf-8")
        self.client.socket.settimeout(10)

    async def send(self, message: str | bytes) -> Any:
        """One message out, the ACK it got back (parsed by python-hl7)."""
        answer: bytes = await asyncio.to_thread(self.client.send_message, message)
        assert answer.startswith(b"\x0b"), answer[:20]
        assert answer.endswith(b"\x1c\r"), answer[-20:]
        return hl7.parse(answer[1:-2].decode("utf-8"))

    def close(self) -> None:
        self.client.close()


def msa(ack: Any) -> tuple[str, str]:
    segment = ack.segment("MSA")
    return str(segment[1]), str(segment[2]) if len(segment) > 2 else ""


def err5(ack: Any) -> str:
    return str(ack.segment("ERR")[5])


def episode(control_id: str, case_ref: str = "V-1") -> str:
    event = make_episode_event(case_ref=case_ref)
    return build_episode_event(event, make_routing(), control_id=control_id)


@pytest.fixture(params=DOORS, ids=[kind for kind, _ in DOORS])
async def door(request: pytest.FixtureRequest, make_adapter: MakeAdapter) -> Adapter:
    kind, org = request.param
    adapter: Adapter = await make_adapter(kind, org)
    return adapter


async def test_bad_frames_are_answered_and_the_connection_stays_open(
    door: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    good = episode("GOOD-1")
    clinic = Clinic(door.mllp_port)
    try:
        ack = await clinic.send(b"\x00\x7f garbage, no MSH at all \xff")
        assert msa(ack) == ("AR", "")
        assert err5(ack) == "no-msh"

        ack = await clinic.send(good.replace("GOOD-1", "SEG-1") + "\r\x01\x02%%not a segment")
        assert msa(ack) == ("AE", "SEG-1")
        assert err5(ack) == "bad-segment"

        two = good.replace("GOOD-1", "TWO-1") + "\r" + good.replace("GOOD-1", "TWO-2")
        ack = await clinic.send(two)
        assert msa(ack) == ("AE", "TWO-1")
        assert err5(ack) == "multiple-messages"

        ack = await clinic.send(good.replace("GOOD-1", "V3-1").replace("|2.5|", "|3.0|", 1))
        assert msa(ack) == ("AR", "V3-1")  # HL7 v2.5 §2.9.2: an unsupported version is AR
        assert err5(ack) == "unsupported-version"
        assert str(ack.segment("ERR")[3][0][0]) == "203"

        # the same connection goes on: the clinic's queue is not stuck behind the bad frames
        ack = await clinic.send(good)
        assert msa(ack) == ("AA", "GOOD-1")
    finally:
        clinic.close()
    health = door.health()
    assert health["acks"] == {"AA": 1, "AE": 2, "AR": 2}
    assert health["unreadable"] == 1
    assert door.listener.stats.open_connections <= 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    for code in ("no-msh", "bad-segment", "multiple-messages", "unsupported-version"):
        assert f"code={code}" in text, code
    assert "ack=AR code=unsupported-version" in text
    assert CHILD_CPR not in text
    assert "MSH|" not in text


async def test_a_raw_socket_gets_an_answer_for_every_frame_it_pipelines(door: Any) -> None:
    """Three frames written at once (two bad, one good): three ACKs, in order."""
    reader, writer = await asyncio.open_connection("127.0.0.1", door.mllp_port)
    try:
        frames = [
            b"NOT HL7",
            b"MSH|^~\\&|A|B|C|D|20240312||ADT^A04|X-1|P|9.9",
            episode("RAW-1").encode("utf-8"),
        ]
        writer.write(b"".join(b"\x0b" + f + b"\x1c\r" for f in frames))
        await writer.drain()
        answers = []
        for _ in frames:
            block = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), 10)
            answers.append(msa(hl7.parse(block[1:-2].decode("utf-8"))))
        assert answers == [("AR", ""), ("AR", "X-1"), ("AA", "RAW-1")]
        assert not reader.at_eof()
    finally:
        writer.close()
        await writer.wait_closed()


# --- 2. a control id is the message's identity --------------------------------------------


def restamped(er7: str, when: str = "20991231235959+0100") -> str:
    """The same message with another MSH-7, as an engine may resend it."""
    msh, rest = er7.split("\r", 1)
    fields = msh.split("|")
    fields[6] = when
    return "|".join(fields) + "\r" + rest


async def test_a_reused_control_id_with_other_content_is_refused_not_lost(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    gp = await make_adapter("gp", GP_GLN)
    ppr = await make_adapter("municipality", PPR_GLN)
    first = build_referral(make_referral(reason="reason-alpha"), make_routing(), control_id="X0001")
    other = build_referral(make_referral(reason="reason-bravo"), make_routing(), control_id="X0001")
    clinic = Clinic(gp.mllp_port)
    try:
        assert msa(await clinic.send(first)) == ("AA", "X0001")
        ack = await clinic.send(other)
        assert msa(ack) == ("AE", "X0001")
        assert err5(ack) == "control-id-reused"
        assert str(ack.segment("ERR")[3][0][0]) == "205"
        # the first message resent, its MSH-7 restamped by the clinic's engine: a resend
        assert msa(await clinic.send(restamped(first))) == ("AA", "X0001")
        # another facility may use the same control id
        elsewhere = build_referral(
            make_referral(reason="reason-charlie", referral_id="HEN-2"),
            make_routing(sending_facility=OTHER_GP_GLN),
            control_id="X0001",
        )
        assert msa(await clinic.send(elsewhere)) == ("AA", "X0001")
    finally:
        clinic.close()
    assert await gp.outbox.drain(10.0)
    inbox = ppr.filedrop.config.inbox

    async def two_letters() -> list[bytes]:
        found = await asyncio.to_thread(lambda: sorted(inbox.glob("XDIS91_*.xml")))
        return [p.read_bytes() for p in found] if len(found) >= 2 else []

    bodies = await eventually(two_letters)
    assert len(bodies) == 2  # A, and the other facility's; never B
    assert [b"reason-alpha" in body for body in bodies].count(True) == 1
    assert [b"reason-charlie" in body for body in bodies].count(True) == 1
    assert not [body for body in bodies if b"reason-bravo" in body]
    letters = [i for i in await gp.outbox.items() if i.kind == "message"]
    assert len([i for i in letters if i.key.startswith(f"hl7:{GP_GLN}:X0001:")]) == 1
    assert "code=control-id-reused" in "\n".join(r.getMessage() for r in caplog.records)


async def test_both_doors_refuse_a_reused_control_id(door: Any) -> None:
    clinic = Clinic(door.mllp_port)
    try:
        assert msa(await clinic.send(episode("E-1", case_ref="V-10"))) == ("AA", "E-1")
        ack = await clinic.send(episode("E-1", case_ref="V-11"))
        assert (msa(ack), err5(ack)) == (("AE", "E-1"), "control-id-reused")
        assert msa(await clinic.send(episode("E-1", case_ref="V-10"))) == ("AA", "E-1")
    finally:
        clinic.close()
    assert await door.outbox.drain(10.0)
    cases = [i.path for i in await door.outbox.items() if i.kind == "case"]
    assert cases == ["/v1/cases/V-10"]


# --- 3. an appointment names the clinic's own visit number --------------------------------


def appointment(control_id: str, case_ref: str, appointment_id: str = "AFT-1") -> str:
    booked = make_appointment(case_ref=case_ref, appointment_id=appointment_id)
    return build_appointment(booked, make_routing(), control_id=control_id)


async def _sent(adapter: Any, key_part: str) -> Any:
    async def settled() -> Any:
        for item in await adapter.outbox.items():
            if key_part in item.key and item.state is not ItemState.PENDING:
                return item
        return None

    return await eventually(settled)


async def _hub_case_ref(hub: RestartableHub, org: str, ref: str) -> str | None:
    """The case the hub's index links an appointment to, read from the hub's database."""
    assert hub.app is not None
    table = HubAppointment.__table__  # type: ignore[attr-defined]  # SQLModel's table
    query = select(table.c.case_ref).where(table.c.org_gln == org, table.c.ref == ref)
    async with hub.app[ENGINE].connect() as conn:
        found: str | None = (await conn.execute(query)).scalar_one()
    return found


async def test_an_unknown_visit_number_is_an_unlinked_appointment_linked_when_the_case_comes(
    door: Any, hub: RestartableHub
) -> None:
    org = door.config.gln
    clinic = Clinic(door.mllp_port)
    try:
        ack = await clinic.send(appointment("S12-1", case_ref="KLINIK-BESOG-77"))
        assert msa(ack) == ("AA", "S12-1")  # not refused whole for a visit number
        first = await _sent(door, ":S12-1:appointment")
        assert first.state is ItemState.SENT, (first.code, first.detail)
        assert await _hub_case_ref(hub, org, "AFT-1") is None

        # the case is registered later under that visit number: the appointment is linked
        assert msa(await clinic.send(episode("A04-1", case_ref="KLINIK-BESOG-77")))[0] == "AA"
        link = await _sent(door, ":A04-1:case:link:")
        assert link.state is ItemState.SENT, (link.code, link.detail)
        assert link.path == "/v1/appointments/AFT-1"
        assert await _hub_case_ref(hub, org, "AFT-1") == "KLINIK-BESOG-77"

        # from now on the visit number is a case the adapter knows: linked at once
        ack = await clinic.send(appointment("S12-2", "KLINIK-BESOG-77", appointment_id="AFT-2"))
        assert msa(ack) == ("AA", "S12-2")
        second = await _sent(door, ":S12-2:appointment")
        assert second.state is ItemState.SENT, (second.code, second.detail)
        assert await _hub_case_ref(hub, org, "AFT-2") == "KLINIK-BESOG-77"
        # and nothing is left waiting for a case
        assert await door.db.recall_prefix("unlinked:") == {}
    finally:
        clinic.close()


async def test_a_message_refused_for_its_content_may_come_back_corrected_under_its_id(
    make_adapter: MakeAdapter,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    await make_adapter("municipality", PPR_GLN)
    good = make_referral()
    wrong_gp = replace(good, referring_gp=replace(good.referring_gp, gln=OTHER_GP_GLN))
    clinic = Clinic(gp.mllp_port)
    try:
        ack = await clinic.send(build_referral(wrong_gp, make_routing(), control_id="FIX-1"))
        assert (msa(ack), err5(ack)) == (("AE", "FIX-1"), "sender-mismatch")
        bad_cpr = build_referral(good, make_routing(), control_id="FIX-1").replace(
            CHILD_CPR, "3113164321"
        )
        ack = await clinic.send(bad_cpr)
        assert (msa(ack), err5(ack)) == (("AE", "FIX-1"), "invalid-cpr")
        ack = await clinic.send(build_referral(good, make_routing(), control_id="FIX-1"))
        assert msa(ack) == ("AA", "FIX-1")
    finally:
        clinic.close()


async def test_a_failure_while_mapping_is_answered_and_the_connection_stays_open(
    door: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug, with " + CHILD_CPR)

    monkeypatch.setattr(door, "requests_for", broken)
    clinic = Clinic(door.mllp_port)
    try:
        ack = await clinic.send(episode("BUG-1"))
        assert (msa(ack), err5(ack)) == (("AE", "BUG-1"), "internal")
        assert str(ack.segment("ERR")[3][0][0]) == "207"
        monkeypatch.undo()
        assert msa(await clinic.send(episode("BUG-2"))) == ("AA", "BUG-2")  # same connection
    finally:
        clinic.close()
    assert "error=RuntimeError" in "\n".join(r.getMessage() for r in caplog.records)


async def test_newer_news_about_an_appointment_drops_its_wait_for_a_case(door: Any) -> None:
    clinic = Clinic(door.mllp_port)
    try:
        assert msa(await clinic.send(appointment("S12-9", "BESOG-X")))[0] == "AA"
        assert list(await door.db.recall_prefix("unlinked:")) == ["unlinked:/v1/appointments/AFT-1"]
        assert msa(await clinic.send(episode("A04-Y", case_ref="SAG-Y")))[0] == "AA"
        # moved to a case the adapter knows: sent linked, and no longer waiting for BESOG-X
        assert msa(await clinic.send(appointment("S13-9", "SAG-Y")))[0] == "AA"
        assert await door.db.recall_prefix("unlinked:") == {}
        assert msa(await clinic.send(episode("A04-X", case_ref="BESOG-X")))[0] == "AA"
    finally:
        clinic.close()
    assert await door.outbox.drain(10.0)
    assert not [i for i in await door.outbox.items() if ":link:" in i.key]  # nothing stale
