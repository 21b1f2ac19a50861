"""MLLP framing: split and joined frames, stray bytes, oversize frames, truncated streams."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.errors import MllpFrameError
from messages.hl7.mllp import MllpDecoder, frame, read_frame, write_frame

A = b"MSH|^~\\&|A|B|C|D|20240101||ADT^A04|1|P|2.5\rPID|1"
B = "MSH|^~\\&|Æ|Ø|Å|D|20240101||ADT^A03|2|P|2.5".encode()


def test_frame_wraps_and_refuses_framing_bytes() -> None:
    assert frame(b"x") == b"\x0bx\x1c\x0d"
    for bad in (b"a\x0bb", b"a\x1c\x0db"):
        with pytest.raises(MllpFrameError):
            frame(bad)


def test_several_frames_in_one_read_and_one_split_across_reads() -> None:
    decoder = MllpDecoder()
    stream = frame(A) + frame(B) + frame(A)
    assert decoder.feed(stream[:-3]) == [A, B]
    assert decoder.in_frame
    assert decoder.feed(stream[-3:-1]) == []
    assert decoder.feed(stream[-1:]) == [A]
    assert decoder.stray_bytes == 0


def test_stray_bytes_between_frames_are_skipped_and_counted() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\r\n" + frame(A) + b"noise" + frame(B) + b"\n") == [A, B]
    assert decoder.stray_bytes == 8
    decoder.at_eof()


def test_a_restarted_frame_drops_the_unfinished_one() -> None:
    decoder = MllpDecoder()
    assert decoder.feed(b"\x0bhalf a frame" + frame(A)) == [A]
    assert decoder.discarded_bytes == len(b"half a frame")


def test_oversize_frame_raises_and_resynchronises() -> None:
    decoder = MllpDecoder(max_frame=64)
    with pytest.raises(MllpFrameError):
        decoder.feed(frame(A) + b"\x0b" + b"x" * 100)
    assert decoder.oversize_frames == 1
    # the frame before the oversize one is kept; the rest of the big one is dropped
    assert decoder.feed(b"y" * 50 + b"\x1c\x0d" + frame(b"small")) == [A, b"small"]
    assert decoder.discarded_bytes >= 150
    with pytest.raises(MllpFrameError):  # end block found at once, past the limit
        decoder.feed(frame(b"z" * 65))
    assert decoder.feed(frame(b"ok")) == [b"ok"]


def test_eof_inside_a_frame_raises() -> None:
    decoder = MllpDecoder()
    decoder.feed(b"\x0bpartial")
    with pytest.raises(MllpFrameError):
        decoder.at_eof()
    assert not decoder.in_frame


def test_max_frame_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MllpDecoder(max_frame=0)


@settings(max_examples=200, deadline=None)
@given(
    payloads=st.lists(
        st.binary(max_size=300).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")),
        max_size=6,
    ),
    noise=st.binary(max_size=10).map(lambda b: b.replace(b"\x0b", b"")),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_chunking_gives_the_same_frames(
    payloads: list[bytes], noise: bytes, cuts: list[int]
) -> None:
    stream = b"".join(noise + frame(p) for p in payloads) + noise
    decoder = MllpDecoder()
    got: list[bytes] = []
    last = 0
    for cut in sorted({c for c in cuts if c < len(stream)}):
        got += decoder.feed(stream[last:cut])
        last = cut
    got += decoder.feed(stream[last:])
    decoder.at_eof()
    assert got == payloads
    assert decoder.stray_bytes == len(noise) * (len(payloads) + 1)


def _reader(*chunks: bytes, eof: bool = True) -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    for chunk in chunks:
        reader.feed_data(chunk)
    if eof:
        reader.feed_eof()
    return reader


async def test_read_frame_one_at_a_time_then_none() -> None:
    stream = frame(A) + b"\n" + frame(B)
    reader = _reader(stream[:5], stream[5:])
    decoder = MllpDecoder()
    assert await read_frame(reader, decoder) == A
    assert await read_frame(reader, decoder) == B
    assert await read_frame(reader, decoder) is None


async def test_read_frame_after_an_oversize_frame_goes_on() -> None:
    reader = _reader(b"\x0b" + b"x" * 100 + b"\x1c\x0d" + frame(A))
    decoder = MllpDecoder(max_frame=64)
    with pytest.raises(MllpFrameError):
        await read_frame(reader, decoder)
    assert await read_frame(reader, decoder) == A


async def test_read_frame_truncated_stream_raises() -> None:
    reader = _reader(frame(A)[:-1])
    with pytest.raises(MllpFrameError):
        await read_frame(reader, MllpDecoder())


async def test_write_frame_over_a_real_socket() -> None:
    received: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.set_result(await read_frame(reader, MllpDecoder()))
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        await write_frame(writer, B)
        assert await asyncio.wait_for(received, 5) == B
        writer.close()
        await writer.wait_closed()
