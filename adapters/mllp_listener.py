"""An asyncio MLLP listener: HL7 v2 messages in, one ACK out for each, in order.

One task per connection reads frames with :class:`messages.hl7.mllp.MllpDecoder` and awaits
the handler for each before reading the next (HL7's original acknowledgement mode: the
sender waits for the ACK of a message before it sends the next one on that connection).

What a sender sees:

* a readable message — the handler's ACK (``AA``, ``AE`` or ``AR``);
* a frame longer than ``max_frame`` — nothing can be acknowledged (its ``MSH`` was dropped
  with the rest), so the connection is closed; the sender's HL7 engine reports the message
  as undeliverable and the listener goes on serving every other connection;
* bytes whose ``MSH`` cannot be read (no control id to acknowledge) — the handler returns
  None and the connection is closed the same way.

Counters (:class:`ListenerStats`) feed the adapter's health report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from messages.errors import MllpFrameError
from messages.hl7.mllp import MllpDecoder, read_frame, write_frame

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


class MllpListener:
    """Accepts MLLP connections on ``host:port`` (port 0: any free one, see :attr:`port`)."""

    def __init__(
        self, handler: Handler, *, host: str, port: int, max_frame: int, name: str = "mllp"
    ) -> None:
        self._handler = handler
        self.host = host
        self.port = port
        self.max_frame = max_frame
        self.name = name
        self.stats = ListenerStats()
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
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

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        self.stats.connections += 1
        self.stats.open_connections += 1
        decoder = MllpDecoder(self.max_frame)
        try:
            while True:
                try:
                    payload = await read_frame(reader, decoder)
                except MllpFrameError as exc:
                    self.stats.oversize_frames += decoder.oversize_frames > 0
                    log.warning("%s: %s; closing the connection", self.name, exc.message)
                    return
                if payload is None:
                    return
                self.stats.messages += 1
                answer = await self._handler(payload)
                if answer is None:
                    self.stats.unreadable += 1
                    log.warning("%s: a message without a readable MSH; closing", self.name)
                    return
                await write_frame(writer, answer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self.stats.open_connections -= 1
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._connections.discard(task)
