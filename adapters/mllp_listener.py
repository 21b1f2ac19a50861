"""An asyncio MLLP listener: HL7 v2 messages in, one ACK out for each, in order.

One task per connection reads frames with :class:`messages.hl7.mllp.MllpDecoder` and awaits
the handler for each before reading the next (HL7's original acknowledgement mode: the
sender waits for the ACK of a message before it sends the next one on that connection).

What a sender sees:

* every complete frame — the handler's ACK (``AA``, ``AE`` or ``AR``), and the connection
  stays open for the next one. The HL7 adapters' handler answers garbage too (an ``AR``
  with an empty ``MSA-2`` when not even the ``MSH`` can be read, see
  :func:`messages.hl7.mapping.receive`): a sender in original mode that got no ACK would
  resend the same frame forever, its whole queue stuck behind it;
* a frame longer than ``max_frame`` — nothing can be acknowledged (its ``MSH`` was dropped
  with the rest), so the connection is closed; the sender's HL7 engine reports the message
  as undeliverable and the listener goes on serving every other connection;
* a handler that returns None or fails outright (a bug) — the connection is closed the
  same way.

What a hostile or broken client cannot do (each limit is a setting in the adapter's
``[mllp]`` section, :class:`adapters.config.MllpConfig`):

* **hold a connection open for nothing** — no byte for ``idle_timeout`` seconds closes it;
* **trickle a frame** (slowloris: a byte a second) — a frame not complete ``frame_timeout``
  seconds after it began closes the connection;
* **never read its ACKs** — an ACK the peer has not taken within ``write_timeout`` seconds
  (its socket buffer is full) closes the connection and frees the buffer;
* **exhaust connections** — at ``max_connections`` open ones, a new connection takes the
  place of the connection idle longest (between frames); when every one is mid-frame, the
  new one is closed at once;
* **exhaust memory** — a connection buffers at most one frame (``max_frame``) plus one read.

Log lines name the peer's address and what happened, never a message's content.
Counters (:class:`ListenerStats`) feed the adapter's health report;
:meth:`MllpListener.connection_states` says where the open connections stand (idle,
mid-frame, handling, waiting for the peer to read its ACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from messages.errors import MllpFrameError
from messages.hl7.mllp import READ_SIZE, MllpDecoder, frame

__all__ = ["Handler", "ListenerStats", "MllpListener"]

log = logging.getLogger(__name__)

Handler = Callable[[bytes], Awaitable[bytes | None]]
"""One received payload to the ACK to send back (None: close the connection)."""


@dataclass(slots=True)
class ListenerStats:
    connections: int = 0
    open_connections: int = 0
    messages: int = 0
    oversize_frames: int = 0
    unreadable: int = 0
    handler_failures: int = 0
    idle_timeouts: int = 0
    frame_timeouts: int = 0
    write_timeouts: int = 0
    evicted: int = 0
    """Idle connections closed to make room for a new one at ``max_connections``."""
    refused: int = 0
    """New connections closed at once: ``max_connections`` open, all of them mid-frame."""


@dataclass(slots=True, eq=False)
class _Connection:
    writer: asyncio.StreamWriter
    peer: str
    last_active: float
    decoder: MllpDecoder
    busy: bool = False  # a message is being handled or its ACK written
    closed_by_us: bool = field(default=False)
    waiting_for_reader: bool = False  # its ACK is written; the peer has not taken it yet

    @property
    def idle(self) -> bool:
        return not self.busy and not self.decoder.in_frame


class _Timeout(Exception):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class MllpListener:
    """Accepts MLLP connections on ``host:port`` (port 0: any free one, see :attr:`port`)."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str,
        port: int,
        max_frame: int,
        name: str = "mllp",
        idle_timeout: float = 300.0,
        frame_timeout: float = 30.0,
        write_timeout: float = 30.0,
        max_connections: int = 256,
    ) -> None:
        if min(idle_timeout, frame_timeout, write_timeout) <= 0 or max_connections < 1:
            raise ValueError("MLLP timeouts must be positive and max_connections at least 1")
        self._handler = handler
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.name = name
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.write_timeout = write_timeout
        self.max_connections = max_connections
        self.stats = ListenerStats()
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], _Connection] = {}

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve, self.host, self.port, limit=READ_SIZE
        )
        sock = self._server.sockets[0]
        self.port = int(sock.getsockname()[1])
        log.info("%s: listening on %s:%d", self.name, self.host, self.port)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop accepting; give open connections time to finish (``grace`` seconds), then cut."""
        if self._server is None:
            return
        self._server.close()
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections), timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), grace)
        self._server = None

    def connection_states(self) -> dict[str, int]:
        """How many open connections are in each state: ``idle`` (between frames),
        ``mid-frame`` (a frame begun, not complete), ``handling`` (a message being handled)
        and ``waiting-for-reader`` (an ACK written that the peer has not taken)."""
        states = dict.fromkeys(("idle", "mid-frame", "handling", "waiting-for-reader"), 0)
        for conn in self._connections.values():
            if conn.closed_by_us:
                continue
            if conn.waiting_for_reader:
                states["waiting-for-reader"] += 1
            elif conn.busy:
                states["handling"] += 1
            elif conn.decoder.in_frame:
                states["mid-frame"] += 1
            else:
                states["idle"] += 1
        return states

    def _make_room(self) -> bool:
        """At the cap: close the connection idle longest. False when none is idle."""
        if len(self._connections) < self.max_connections:
            return True
        idle = [c for c in self._connections.values() if c.idle and not c.closed_by_us]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.last_active)
        oldest.closed_by_us = True
        oldest.writer.transport.abort()
        self.stats.evicted += 1
        log.warning(
            "%s: %d connections open; closed the one idle longest (%s)",
            self.name,
            len(self._connections),
            oldest.peer,
        )
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        peer = _peer(writer)
        self.stats.connections += 1
        if not self._make_room():
            self.stats.refused += 1
            log.warning(
                "%s: %d connections open, all busy; refused %s",
                self.name,
                len(self._connections),
                peer,
            )
            writer.transport.abort()
            return
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(writer, peer, loop.time(), MllpDecoder(self.max_frame))
        self._connections[task] = conn
        self.stats.open_connections += 1
        try:
            while True:
                try:
                    payload = await self._next_payload(reader, conn)
                except MllpFrameError as exc:
                    self.stats.oversize_frames += conn.decoder.oversize_frames > 0
                    log.warning("%s: %s from %s; closing", self.name, exc.message, peer)
                    return
                except _Timeout as exc:
                    self._timed_out(exc.what, peer)
                    return
                if payload is None:
                    return
                conn.busy = True
                self.stats.messages += 1
                try:
                    answer = await self._handler(payload)
                except Exception as exc:  # the handler's bug must not take the listener down
                    self.stats.handler_failures += 1
                    log.error(
                        "%s: handling a message failed (%s); closing", self.name, type(exc).__name__
                    )
                    return
                if answer is None:
                    self.stats.unreadable += 1
                    log.warning("%s: no answer for a frame from %s; closing", self.name, peer)
                    return
                try:
                    writer.write(frame(answer))
                except MllpFrameError:  # an ACK echoing framing bytes cannot be sent
                    self.stats.handler_failures += 1
                    log.error("%s: an ACK that cannot be framed; closing", self.name)
                    return
                conn.waiting_for_reader = True
                try:
                    async with asyncio.timeout(self.write_timeout):
                        await writer.drain()
                except TimeoutError:
                    self._timed_out("write", peer)
                    return
                conn.waiting_for_reader = False
                conn.busy = False
                conn.last_active = loop.time()
                # a sender pipelining many frames must not starve the other connections:
                # buffered frames and a non-blocking drain would never yield to the loop
                await asyncio.sleep(0)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.stats.open_connections -= 1
            self._connections.pop(task, None)
            if conn.closed_by_us or writer.transport.get_write_buffer_size():
                writer.transport.abort()  # nothing more will be taken: free the buffer now
            else:
                writer.close()
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        await writer.wait_closed()

    async def _next_payload(self, reader: asyncio.StreamReader, conn: _Connection) -> bytes | None:
        """The next frame's payload (None at the end of the stream), within the timeouts."""
        loop = asyncio.get_running_loop()
        decoder = conn.decoder
        frame_deadline: float | None = None
        payload = decoder.next_frame()
        while payload is None:
            now = loop.time()
            if decoder.in_frame:
                if frame_deadline is None:
                    frame_deadline = now + self.frame_timeout
                wait, what = min(self.idle_timeout, frame_deadline - now), "frame"
            else:
                frame_deadline = None
                wait, what = self.idle_timeout, "idle"
            if wait <= 0:
                raise _Timeout(what)
            try:
                async with asyncio.timeout(wait):
                    data = await reader.read(READ_SIZE)
            except TimeoutError:
                raise _Timeout(what) from None
            if not data:
                decoder.at_eof()
                return None
            conn.last_active = loop.time()
            payload = decoder.next_frame(data)
        return payload

    def _timed_out(self, what: str, peer: str) -> None:
        if what == "idle":
            self.stats.idle_timeouts += 1
            log.info("%s: %s idle for %gs; closing", self.name, peer, self.idle_timeout)
        elif what == "frame":
            self.stats.frame_timeouts += 1
            log.warning(
                "%s: a frame from %s not complete within %gs; closing",
                self.name,
                peer,
                self.frame_timeout,
            )
        else:
            self.stats.write_timeouts += 1
            log.warning(
                "%s: %s did not read its ACK within %gs; closing",
                self.name,
                peer,
                self.write_timeout,
            )


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return "unknown peer"
