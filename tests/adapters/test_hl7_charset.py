"""HL7 whose bytes do not match the character set its ``MSH-18`` declares, over real MLLP.

The GP adapter answers each with an ``ACK`` ``AE`` naming the mismatch (``ERR-5``
``undecodable``, or ``unsupported-charset`` for a set Samspil does not read) and keeps the
connection open: the next message on it is acknowledged as usual. The ``ACK`` is written in
ISO-8859-1 (``MSH-18`` ``8859/1``), so ``MSA-2`` repeats the sender's control id byte for
byte whatever its bytes were. Nothing of the refused messages reaches the hub.
"""

from __future__ import annotations

import asyncio

import hl7
import pytest

from coordinator.tables import Sector
from messages.hl7.build import build_referral
from messages.hl7.mllp import MllpDecoder, frame
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN, make_referral, make_routing
from tests.adapters.conftest import MakeAdapter, RestartableHub
from tests.adapters.test_gp import msa

UTF8 = "UNICODE UTF-8"


def referral(control_id: str, charset: str) -> str:
    er7 = build_referral(make_referral(), make_routing(), control_id=control_id)
    assert er7.split("\r", 1)[0].endswith(f"|{UTF8}")  # the builder declares UTF-8
    return er7.replace(f"|{UTF8}\r", f"|{charset}\r", 1)


class Client:
    """A bare MLLP client on one connection: bytes out, the ACK's bytes back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = MllpDecoder()

    async def send(self, payload: bytes) -> bytes:
        self.writer.write(frame(payload))
        await self.writer.drain()
        answer = self.decoder.next_frame()
        while answer is None:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            assert data, "the listener closed the connection instead of answering"
            answer = self.decoder.next_frame(data)
        return answer


def fields(ack: bytes, segment: str) -> list[bytes]:
    for line in ack.split(b"\r"):
        if line.startswith(segment.encode() + b"|"):
            return line.split(b"|")
    raise AssertionError(f"no {segment} in the ACK")


# (what the message declares, its bytes, the code, the declared set named in the reason)
MISMATCHES = [
    pytest.param("ASCII", "utf-8", "undecodable", "ASCII", id="ascii-declared-utf8-bytes"),
    pytest.param(UTF8, "latin-1", "undecodable", UTF8, id="utf8-declared-latin1-bytes"),
    pytest.param("8859/7", "latin-1", "undecodable", "8859/7", id="greek-declared-undefined-byte"),
    pytest.param("KOI8-R", "utf-8", "unsupported-charset", None, id="unknown-charset"),
]


@pytest.mark.parametrize(("declared", "codec", "code", "named"), MISMATCHES)
async def test_a_charset_mismatch_is_answered_ae_and_the_connection_stays(
    make_adapter: MakeAdapter,
    hub: RestartableHub,
    declared: str,
    codec: str,
    code: str,
    named: str | None,
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    await hub.org(PPR_GLN, Sector.PPR)
    # the sample's names hold Æ/Ø: bytes that mean something else, or nothing, in the
    # declared set; ÿ (0xFF) is undefined in ISO-8859-7
    er7 = referral("MIS-1", declared).replace("Trivsel", "Trivsel ÿ")
    data = er7.encode(codec)
    python_codec = {"ASCII": "ascii", UTF8: "utf-8", "8859/7": "iso8859-7"}.get(declared)
    if python_codec is not None:  # the bytes really are not valid in the declared set
        with pytest.raises(UnicodeDecodeError):
            data.decode(python_codec)

    reader, writer = await asyncio.open_connection("127.0.0.1", gp.mllp_port)
    client = Client(reader, writer)
    try:
        ack = await client.send(data)
        assert msa_bytes(ack)[:2] == (b"AE", b"MIS-1")
        err = fields(ack, "ERR")
        assert err[5] == code.encode()
        reason = err[8].decode("latin-1")
        assert "MSH-18" in reason
        if named is not None:
            assert named in reason
        assert fields(ack, "MSH")[17] == b"8859/1"
        assert CHILD_CPR.encode() not in ack

        # the same connection goes on: a good message is acknowledged as usual
        good = await client.send(referral("GOOD-1", UTF8).encode("utf-8"))
        assert msa_bytes(good)[:2] == (b"AA", b"GOOD-1")
    finally:
        writer.close()
        await writer.wait_closed()

    health = gp.health()
    assert health["unreadable"] == 0
    assert health["acks"]["AE"] == 1
    assert await gp.outbox.drain(5.0)
    letters = [i for i in await gp.outbox.items() if i.kind == "message"]
    assert len(letters) == 1  # only the good referral went to the hub


async def test_the_control_id_comes_back_byte_for_byte(make_adapter: MakeAdapter) -> None:
    """A control id in Latin-1 inside a message that says UTF-8: ``MSA-2`` holds its bytes."""
    gp = await make_adapter("gp", GP_GLN)
    data = referral("KØ-Å1", UTF8).encode("latin-1")
    reader, writer = await asyncio.open_connection("127.0.0.1", gp.mllp_port)
    try:
        ack = await Client(reader, writer).send(data)
    finally:
        writer.close()
        await writer.wait_closed()
    assert msa_bytes(ack)[:2] == (b"AE", "KØ-Å1".encode("latin-1"))
    # python-hl7 reads the answer as the ISO-8859-1 it declares
    parsed = hl7.parse(ack.decode("latin-1"))
    assert msa(parsed)[:2] == ("AE", "KØ-Å1")
    assert str(parsed.segment("MSH")[18]) == "8859/1"


def msa_bytes(ack: bytes) -> tuple[bytes, bytes]:
    msa_ = fields(ack, "MSA")
    return msa_[1], msa_[2]
