"""MLLP, the Minimal Lower Layer Protocol that carries HL7 v2 over a TCP stream.

A frame is ``0x0B payload 0x1C 0x0D``. This module is only the codec: :func:`frame` wraps a
payload, :class:`MllpDecoder` finds frames in a byte stream however it is cut into reads,
and :func:`read_frame`/:func:`write_frame` use them with asyncio streams. The listener that
accepts connections belongs to the adapter layer.

What the decoder tolerates and what it refuses:

* bytes between frames (keep-alive newlines, noise) are skipped and counted in
  :attr:`MllpDecoder.stray_bytes`;
* a start block inside an unfinished frame means the sender gave up on that frame and began
  another: the unfinished part is dropped (counted in :attr:`MllpDecoder.discarded_bytes`)
  and the new frame is read. An HL7 payload never holds ``0x0B``;
* a frame longer than ``max_frame`` raises :class:`~messages.errors.MllpFrameError`; the
  decoder then drops everything up to the next start block, so the caller may go on reading
  from the same connection (or close it);
* the stream ending inside a frame raises MllpFrameError from :meth:`MllpDecoder.at_eof`.
"""

from __future__ import annotations

import asyncio
from collections import deque

from messages.errors import MllpFrameError

__all__ = [
    "END_BLOCK",
    "START_BLOCK",
    "MllpDecoder",
    "frame",
    "read_frame",
    "write_frame",
]

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
DEFAULT_MAX_FRAME = 1024 * 1024
READ_SIZE = 64 * 1024


def frame(payload: bytes) -> bytes:
    """``payload`` wrapped in an MLLP frame.

    Raises MllpFrameError when the payload holds a start block or an end block: the
    receiver could not tell where the frame ends.
    """
    if START_BLOCK in payload or END_BLOCK in payload:
        raise MllpFrameError("an MLLP payload cannot contain 0x0B or 0x1C 0x0D")
    return START_BLOCK + payload + END_BLOCK


class MllpDecoder:
    """Finds MLLP frames in a byte stream fed to it in pieces of any size.

    One decoder per connection. Complete frames are queued in order: :meth:`feed` returns
    all of them, :meth:`next_frame` one at a time (what :func:`read_frame` uses).
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be positive")
        self.max_frame = max_frame
        self.stray_bytes = 0
        """Bytes skipped outside any frame."""
        self.discarded_bytes = 0
        """Bytes dropped from oversize and abandoned frames."""
        self.oversize_frames = 0
        """Frames refused for being longer than ``max_frame``."""
        self._buffer = bytearray()
        self._in_frame = False
        self._resyncing = False
        self._searched = 0  # bytes of the current frame already searched for an end block
        self._ready: deque[bytes] = deque()

    @property
    def in_frame(self) -> bool:
        """True while a frame has started and its end block has not arrived."""
        return self._in_frame

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every frame completed so far (payloads, without framing).

        Raises MllpFrameError when a frame grows past ``max_frame``. Frames completed before
        it in the same data are not lost: they come out of the next call (``feed(b"")``),
        together with any frames after the oversize one.
        """
        self._scan(data)
        frames = list(self._ready)
        self._ready.clear()
        return frames

    def next_frame(self, data: bytes = b"") -> bytes | None:
        """Add ``data`` and return the oldest completed frame, or None; keeps the rest."""
        if not self._ready:
            self._scan(data)
        elif data:
            self._buffer += data
        return self._ready.popleft() if self._ready else None

    def at_eof(self) -> None:
        """Tell the decoder the stream ended; raises MllpFrameError inside a frame."""
        if self._in_frame:
            self.discarded_bytes += len(self._buffer)
            self._buffer.clear()
            self._in_frame = False
            raise MllpFrameError("the connection ended in the middle of an MLLP frame")
        self.stray_bytes += len(self._buffer)
        self._buffer.clear()

    def _skip(self, count: int) -> None:
        if self._resyncing:
            self.discarded_bytes += count
        else:
            self.stray_bytes += count
        del self._buffer[:count]

    def _scan(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        while buf:
            if not self._in_frame:
                start = buf.find(START_BLOCK)
                if start < 0:
                    self._skip(len(buf))
                    return
                self._skip(start)
                del buf[:1]
                self._in_frame, self._resyncing, self._searched = True, False, 0
                continue
            from_ = max(0, self._searched - 1)
            end = buf.find(END_BLOCK, from_)
            restart = buf.find(START_BLOCK, from_, end if end >= 0 else len(buf))
            if restart >= 0:  # a new frame began before this one ended
                self.discarded_bytes += restart
                del buf[: restart + 1]
                self._searched = 0
                continue
            if end < 0:
                self._searched = len(buf)
                if len(buf) > self.max_frame + 1:  # +1: a 0x1C whose 0x0D is still to come
                    self._oversize(len(buf), resync=True)
                return
            if end > self.max_frame:
                self._oversize(end + len(END_BLOCK), resync=False)
            self._ready.append(bytes(buf[:end]))
            del buf[: end + len(END_BLOCK)]
            self._in_frame = False

    def _oversize(self, drop: int, *, resync: bool) -> None:
        """Drop the oversize frame's bytes and raise; with ``resync``, its end has not come
        yet, and what follows up to the next start block is dropped too."""
        self.discarded_bytes += drop
        del self._buffer[:drop]
        self._in_frame, self._resyncing = False, resync
        self.oversize_frames += 1
        raise MllpFrameError(f"an MLLP frame is longer than {self.max_frame} bytes")


async def read_frame(reader: asyncio.StreamReader, decoder: MllpDecoder) -> bytes | None:
    """The next frame's payload from ``reader``, or None at the end of the stream.

    Raises MllpFrameError for an oversize frame (the next call goes on with the following
    frame) and when the stream ends inside a frame.
    """
    frame_ = decoder.next_frame()
    while frame_ is None:
        data = await reader.read(READ_SIZE)
        if not data:
            decoder.at_eof()
            return None
        frame_ = decoder.next_frame(data)
    return frame_


async def write_frame(writer: asyncio.StreamWriter, payload: bytes) -> None:
    """Write ``payload`` as one MLLP frame and wait until the transport takes it."""
    writer.write(frame(payload))
    await writer.drain()
