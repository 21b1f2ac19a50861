"""Hostile MLLP clients against a GP adapter's listener, while a clinic system sends as usual.

The attackers: slowloris senders (a frame trickled a byte at a time), a crowd of idle
connections (more than the listener's cap), a client that pipelines messages and never reads
its ACKs (its receive buffer fills, then the listener's send buffer), and an oversize frame
that never ends. Meanwhile a well-behaved sender (python-hl7's client) sends ``ADT^A04``
messages one at a time; its ACK latency is measured before and during the attack.

The listener must stay responsive (the well-behaved sender's ACKs come as fast as before,
within a generous bound), free what the attackers held (timeouts, the cap, per-connection
buffer limits: every attacking connection is closed in the end), and log without a CPR
number. The limits are the adapter's ``[mllp]`` settings, set short here.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import statistics
import time
from typing import Any

import hl7
import pytest
from hl7.mllp import open_hl7_connection

from adapters.config import MllpConfig
from messages.hl7.build import build_episode_event
from messages.hl7.samples import CHILD_CPR, GP_GLN, make_episode_event, make_routing
from tests.adapters.conftest import MakeAdapter, eventually

LIMITS = MllpConfig(
    port=0,
    max_frame=64 * 1024,
    idle_timeout=3.0,
    frame_timeout=2.0,
    write_timeout=1.5,
    max_connections=64,
)
UNSUPPORTED = (  # answered AE at once, without the outbox: the cheapest ACK to provoke
    "MSH|^~\\&|X|Y|Z|W|20240312101500||ORU^R01|C-{n}|P|2.5\rPID|1||" + CHILD_CPR
)


class WellBehaved:
    """A clinic system: one connection, one message at a time, each ACK awaited."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.latencies: list[float] = []
        self.codes: list[str] = []
        self._n = 0

    async def send(self, count: int, *, pause: float = 0.05) -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", self.port, encoding="utf-8")
        try:
            for _ in range(count):
                self._n += 1
                er7 = build_episode_event(
                    make_episode_event(case_ref=f"GP-H-{self._n}"),
                    make_routing(),
                    control_id=f"GOOD-{self._n}",
                )
                started = time.perf_counter()
                writer.writeblock(er7.encode("utf-8"))
                await writer.drain()
                block = await asyncio.wait_for(reader.readblock(), 10)
                self.latencies.append(time.perf_counter() - started)
                self.codes.append(str(hl7.parse(block.decode("utf-8")).segment("MSA")[1]))
                await asyncio.sleep(pause)
        finally:
            writer.close()
            await writer.wait_closed()

    def p95(self, last: int) -> float:
        sample = sorted(self.latencies[-last:])
        return sample[int(0.95 * (len(sample) - 1))]


async def _slowloris(port: int, closed: list[str]) -> None:
    """Opens a frame and trickles it, a byte every 0.25 s, never finishing."""
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x0bMSH|^~\\&|")
        for _ in range(200):
            await asyncio.sleep(0.25)
            writer.write(b"X")
            await writer.drain()
    except ConnectionError:
        closed.append("slowloris")
    finally:
        writer.close()


async def _idle(port: int, held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]) -> None:
    held.append(await asyncio.open_connection("127.0.0.1", port))


async def _never_reads(port: int) -> int:
    """Pipelines cheap messages and never reads an ACK; how many it managed to write."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(sock=sock)
    sent = 0
    try:
        for n in range(60_000):
            writer.write(b"\x0b" + UNSUPPORTED.format(n=n).encode() + b"\x1c\x0d")
            sent += 1
            if n % 500 == 0:
                await asyncio.sleep(0)
        await asyncio.sleep(LIMITS.write_timeout + 3)
    finally:
        writer.transport.abort()
    return sent


async def _oversize(port: int) -> bytes:
    """A frame that grows past max_frame and never ends; what the listener answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x0bMSH|^~\\&|" + b"Y" * (LIMITS.max_frame * 3))
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 10)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def test_the_listener_serves_a_clinic_through_an_attack_and_frees_everything(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    gp = await make_adapter("gp", GP_GLN, mllp=LIMITS)
    port = gp.mllp_port
    clinic = WellBehaved(port)
    await clinic.send(20)  # the baseline, before any attack
    baseline = clinic.p95(20)

    held: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    closed: list[str] = []
    await asyncio.gather(*(_idle(port, held) for _ in range(200)))  # over the cap of 64
    attack = [
        *(asyncio.create_task(_slowloris(port, closed)) for _ in range(10)),
        asyncio.create_task(_never_reads(port)),
        asyncio.create_task(_oversize(port)),
    ]
    await clinic.send(40)  # during the attack
    during = clinic.p95(40)
    results: list[Any] = await asyncio.gather(*attack)

    assert clinic.codes.count("AA") == len(clinic.codes) == 60
    # responsive: the clinic's ACKs are not held up by the attackers
    assert during < max(0.5, 5 * baseline), (baseline, during)
    # and none waits long: a client pipelining thousands of frames must not starve others
    assert max(clinic.latencies[-40:]) < 0.5, clinic.latencies[-40:]
    stats = gp.listener.stats
    assert results[-1] == b""  # the oversize frame: connection closed, nothing acknowledged
    assert stats.oversize_frames >= 1
    assert stats.frame_timeouts >= 10, stats  # every slowloris cut off
    assert stats.write_timeouts >= 1, stats  # the client that never read
    assert stats.evicted >= 200 - LIMITS.max_connections, stats  # the crowd made room
    assert stats.open_connections <= LIMITS.max_connections

    async def all_freed() -> bool:  # the idle crowd times out too: nothing held at the end
        return bool(gp.listener.stats.open_connections == 0)

    await eventually(all_freed, within=LIMITS.idle_timeout + 5)
    for _, writer in held:
        writer.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert CHILD_CPR not in text
    assert "MSH|" not in text  # no message content in a log line
    health = gp.health()
    assert health["mllp_open_connections"] == 0
    assert health["mllp_evicted"] == stats.evicted
    assert statistics.mean(clinic.latencies) < 1.0


async def test_at_the_cap_with_every_connection_mid_frame_a_new_one_is_refused(
    make_adapter: MakeAdapter,
) -> None:
    limits = MllpConfig(port=0, max_connections=4, frame_timeout=30.0, idle_timeout=30.0)
    gp = await make_adapter("gp", GP_GLN, mllp=limits)
    busy = [await asyncio.open_connection("127.0.0.1", gp.mllp_port) for _ in range(4)]
    for _, writer in busy:
        writer.write(b"\x0bMSH|")  # each one mid-frame: nothing idle to make room from
        await writer.drain()

    async def all_open() -> bool:
        return bool(gp.listener.stats.open_connections == 4)

    await eventually(all_open)
    reader, writer = await asyncio.open_connection("127.0.0.1", gp.mllp_port)
    assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert gp.listener.stats.refused == 1
    for _, w in busy:
        w.close()

    async def none_open() -> bool:
        return bool(gp.listener.stats.open_connections == 0)

    await eventually(none_open)
    clinic = WellBehaved(gp.mllp_port)
    await clinic.send(1)
    assert clinic.codes == ["AA"]


async def test_a_failing_handler_closes_only_that_connection() -> None:
    from adapters.mllp_listener import MllpListener

    async def handler(payload: bytes) -> bytes | None:
        if payload.startswith(b"BOOM"):
            raise RuntimeError("a bug in the handler")
        return b"MSH|^~\\&|ACK\rMSA|AA|" + payload[:8]

    listener = MllpListener(handler, host="127.0.0.1", port=0, max_frame=4096)
    await listener.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"\x0bBOOM\x1c\x0d")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(b"\x0bHELLO\x1c\x0d")
        await writer.drain()
        answer = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 5)
        assert answer.endswith(b"MSA|AA|HELLO\x1c\x0d")
        writer.close()
        assert listener.stats.handler_failures == 1
    finally:
        await listener.stop(1.0)
