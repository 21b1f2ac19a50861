"""Hostile MLLP clients against a GP adapter's listener, while a clinic system sends as usual.

The attackers: slowloris senders (a frame trickled a byte at a time), a crowd of idle
connections (more than the listener's cap), a client that pipelines messages and never reads
its ACKs (its receive buffer fills, then the listener's send buffer), and an oversize frame.
A well-behaved sender (python-hl7's client) sends ``ADT^A04`` messages one at a time.

What is proved, by the order of events and never by a clock (timing belongs in ``bench/``):

* the attackers do not hold up the clinic: with limits far away, the clinic gets every ACK
  **while** each attacker is still connected and stuck where it wants to be (mid-frame, or
  with an ACK it does not read), as :meth:`MllpListener.connection_states` shows before and
  after;
* each attacker is cut off by its own limit: with that one limit made tiny (and the others
  far away), the slowloris senders end with ``frame_timeouts``, the idle ones with
  ``idle_timeouts`` and the peer that never reads with ``write_timeouts``; a new connection
  at the cap takes an idle one's place; every connection is freed in the end;
* no log line carries a CPR number or message content.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

import hl7
import pytest
from hl7.mllp import open_hl7_connection

from adapters.config import MllpConfig
from messages.hl7.build import build_episode_event
from messages.hl7.samples import CHILD_CPR, GP_GLN, make_episode_event, make_routing
from tests.adapters.conftest import MakeAdapter, eventually

FAR = 600.0
"""A limit no test reaches (seconds)."""
TINY = 0.2
"""A limit every test run reaches, however busy the machine: nothing the test waits for
depends on it not being reached."""
PATIENT = MllpConfig(
    port=0,
    max_frame=64 * 1024,
    idle_timeout=FAR,
    frame_timeout=FAR,
    write_timeout=FAR,
    max_connections=64,
)
HANG_GUARD = 100.0
"""How long a condition may take before the test gives up (the test's own timeout is 120 s):
a hang guard, not a measure of speed."""
UNSUPPORTED = (  # answered AE at once, without the outbox: the cheapest ACK to provoke
    "MSH|^~\\&|X|Y|Z|W|20240312101500||ORU^R01|C-{n}|P|2.5\rPID|1||" + CHILD_CPR
)


class WellBehaved:
    """A clinic system: one connection, one message at a time, each ACK awaited."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.codes: list[str] = []
        self._n = 0

    async def send(self, count: int) -> None:
        reader, writer = await open_hl7_connection("127.0.0.1", self.port, encoding="utf-8")
        try:
            for _ in range(count):
                self._n += 1
                er7 = build_episode_event(
                    make_episode_event(case_ref=f"GP-H-{self._n}"),
                    make_routing(),
                    control_id=f"GOOD-{self._n}",
                )
                writer.writeblock(er7.encode("utf-8"))
                await writer.drain()
                block = await asyncio.wait_for(reader.readblock(), HANG_GUARD)
                self.codes.append(str(hl7.parse(block.decode("utf-8")).segment("MSA")[1]))
        finally:
            writer.close()
            await writer.wait_closed()


async def _slowloris(port: int, stop: asyncio.Event) -> bool:
    """Opens a frame and trickles it, a byte every 0.05 s, never finishing, until ``stop``
    is set (False) or the listener closes the connection (True)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    closed = asyncio.create_task(reader.read())
    try:
        writer.write(b"\x0bMSH|^~\\&|")
        while not stop.is_set():
            writer.write(b"X")
            await writer.drain()
            done, _ = await asyncio.wait([closed], timeout=0.05)
            if done:
                return True
        return False
    except ConnectionError:
        return True
    finally:
        closed.cancel()
        writer.transport.abort()


async def _never_reads(port: int, stop: asyncio.Event) -> bool:
    """Pipelines cheap messages and never reads an ACK, until ``stop`` is set (False) or the
    listener cuts the connection (True)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(sock=sock)
    n = 0
    try:
        while not stop.is_set():
            if writer.transport.is_closing():
                return True
            batch = []
            for _ in range(200):
                n += 1
                batch.append(b"\x0b" + UNSUPPORTED.format(n=n).encode() + b"\x1c\x0d")
            writer.write(b"".join(batch))
            drained = asyncio.create_task(writer.drain())
            halted = asyncio.create_task(stop.wait())
            await asyncio.wait([drained, halted], return_when=asyncio.FIRST_COMPLETED)
            halted.cancel()
            if not drained.done():
                drained.cancel()
                return False
            drained.result()
        return False
    except ConnectionError:
        return True
    finally:
        writer.transport.abort()


async def _oversize(port: int) -> bytes:
    """A frame that grows past max_frame and never ends; what the listener answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x0bMSH|^~\\&|" + b"Y" * (PATIENT.max_frame * 3))
        await writer.drain()
        return await asyncio.wait_for(reader.read(), HANG_GUARD)
    except ConnectionError:
        return b""
    finally:
        writer.close()


async def _until(check: Callable[[], bool], what: str) -> None:
    async def holds() -> bool:
        return check()

    try:
        await eventually(holds, within=HANG_GUARD)
    except AssertionError:
        raise AssertionError(f"never came true: {what}") from None


async def test_attackers_still_connected_do_not_hold_up_a_clinic(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    gp = await make_adapter("gp", GP_GLN, mllp=PATIENT)
    port = gp.mllp_port
    listener = gp.listener
    clinic = WellBehaved(port)
    await clinic.send(5)  # before any attack

    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(200)]  # > cap
    stop = asyncio.Event()
    slow = [asyncio.create_task(_slowloris(port, stop)) for _ in range(10)]
    greedy = asyncio.create_task(_never_reads(port, stop))
    assert await _oversize(port) == b""  # closed at once, nothing acknowledged

    def stuck() -> bool:
        states = listener.connection_states()
        return bool(states["mid-frame"] == 10 and states["waiting-for-reader"] == 1)

    # every attacker where it wants to be: mid-frame, or with ACKs it does not read
    await _until(stuck, "ten slowloris mid-frame and one peer not reading its ACKs")
    await clinic.send(20)  # during the attack
    assert stuck(), listener.connection_states()  # ... and still there once it is served
    assert listener.stats.frame_timeouts == listener.stats.write_timeouts == 0
    assert not any(task.done() for task in (*slow, greedy))

    assert clinic.codes.count("AA") == len(clinic.codes) == 25
    stats = listener.stats
    assert stats.oversize_frames == 1
    await _until(lambda: listener.stats.connections >= 200 + 10 + 1 + 1 + 2, "all accepted")
    assert stats.evicted >= 200 - PATIENT.max_connections, stats  # the crowd made room
    assert stats.open_connections <= PATIENT.max_connections

    stop.set()
    assert await asyncio.gather(*slow, greedy) == [False] * 11  # we let go, not the listener
    for _, writer in held:
        writer.close()
    await _until(lambda: listener.stats.open_connections == 0, "every connection freed")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert CHILD_CPR not in text
    assert "MSH|" not in text  # no message content in a log line
    health = gp.health()
    assert health["mllp_open_connections"] == 0
    assert health["mllp_evicted"] == stats.evicted


async def test_slowloris_and_idle_connections_are_cut_off_by_their_limits(
    make_adapter: MakeAdapter,
) -> None:
    limits = MllpConfig(port=0, idle_timeout=TINY, frame_timeout=TINY, write_timeout=FAR)
    gp = await make_adapter("gp", GP_GLN, mllp=limits)
    never = asyncio.Event()  # the slowloris never stop on their own
    cut = await asyncio.gather(*(_slowloris(gp.mllp_port, never) for _ in range(10)))
    assert cut == [True] * 10  # each one closed by the listener, mid-frame
    idle = [await asyncio.open_connection("127.0.0.1", gp.mllp_port) for _ in range(3)]
    for reader, _ in idle:
        assert await asyncio.wait_for(reader.read(), HANG_GUARD) == b""
    for _, writer in idle:
        writer.close()
    stats = gp.listener.stats
    assert stats.frame_timeouts == 10, stats  # a trickle does not count as progress
    assert stats.idle_timeouts >= 3, stats
    await _until(lambda: gp.listener.stats.open_connections == 0, "every connection freed")
    clinic = WellBehaved(gp.mllp_port)  # the clinic sends with no pause: not idle
    await clinic.send(3)
    assert clinic.codes == ["AA"] * 3


async def test_a_peer_that_never_reads_its_acks_is_cut_off(make_adapter: MakeAdapter) -> None:
    limits = MllpConfig(port=0, idle_timeout=FAR, frame_timeout=FAR, write_timeout=TINY)
    gp = await make_adapter("gp", GP_GLN, mllp=limits)
    assert await _never_reads(gp.mllp_port, asyncio.Event()) is True  # the listener cut it
    stats = gp.listener.stats
    assert stats.write_timeouts == 1, stats
    await _until(lambda: gp.listener.stats.open_connections == 0, "its buffer freed")
    clinic = WellBehaved(gp.mllp_port)
    await clinic.send(3)
    assert clinic.codes == ["AA"] * 3


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
