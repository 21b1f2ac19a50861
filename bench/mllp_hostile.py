"""A clinic's ACK latency through the MLLP listener, before and during an attack.

The timing half of ``tests/adapters/test_mllp_hostile.py`` (the test proves by the order of
events that attackers do not hold a clinic up; this measures by how much they slow it). One
:class:`adapters.mllp_listener.MllpListener` with a handler that answers every frame with a
fixed ``ACK`` (no hub, no outbox: the listener alone), and:

* **baseline** — a clinic sends ``--messages`` messages one at a time on one connection;
* **attack** — the same while ``--slowloris`` connections trickle a frame a byte at a time,
  ``--idle`` connections (more than ``--cap``) sit idle, and one client pipelines frames and
  never reads its ACKs.

Prints p50/p95/max of both and the ratio of the p95s. On a shared machine the numbers follow
its load of the moment; compare runs made together.

Run: ``.venv/bin/python bench/mllp_hostile.py [--messages N] [--slowloris S] [--idle I]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# ``adapters`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from adapters.mllp_listener import MllpListener  # noqa: E402
from messages.hl7.mllp import MllpDecoder, read_frame, write_frame  # noqa: E402

ACK = b"MSH|^~\\&|SAMSPIL|HUB|X|Y|20260101120000||ACK^A04^ACK|1|P|2.5\rMSA|AA|1"
MESSAGE = b"MSH|^~\\&|X|Y|SAMSPIL|HUB|20260101120000||ADT^A04|C1|P|2.5\rPID|1||X"


async def answer(payload: bytes) -> bytes:
    del payload
    return ACK


async def clinic(port: int, count: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder = MllpDecoder()
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            await write_frame(writer, MESSAGE)
            assert await read_frame(reader, decoder) is not None
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.005)
    finally:
        writer.close()
    return latencies


async def slowloris(port: int, stop: asyncio.Event) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x0bMSH|^~\\&|")
        while not stop.is_set():
            writer.write(b"X")
            await writer.drain()
            await asyncio.sleep(0.1)
    except ConnectionError:
        pass
    finally:
        writer.transport.abort()


async def never_reads(port: int, stop: asyncio.Event) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    _, writer = await asyncio.open_connection(sock=sock)
    try:
        while not stop.is_set():
            writer.write((b"\x0b" + MESSAGE + b"\x1c\r") * 200)
            drained = asyncio.ensure_future(writer.drain())
            halted = asyncio.ensure_future(stop.wait())
            await asyncio.wait([drained, halted], return_when=asyncio.FIRST_COMPLETED)
            halted.cancel()
            drained.cancel()
    except ConnectionError:
        pass
    finally:
        writer.transport.abort()


def summary(name: str, latencies: list[float]) -> float:
    ordered = sorted(latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    print(
        f"{name:9} n={len(ordered):5}  p50 {statistics.median(ordered) * 1000:7.2f} ms  "
        f"p95 {p95 * 1000:7.2f} ms  max {ordered[-1] * 1000:7.2f} ms"
    )
    return p95


async def main(args: argparse.Namespace) -> None:
    listener = MllpListener(
        answer, host="127.0.0.1", port=0, max_frame=64 * 1024, max_connections=args.cap
    )
    await listener.start()
    port = listener.port
    try:
        base = summary("baseline", await clinic(port, args.messages))
        stop = asyncio.Event()
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(args.idle)]
        attackers = [asyncio.create_task(slowloris(port, stop)) for _ in range(args.slowloris)]
        attackers.append(asyncio.create_task(never_reads(port, stop)))
        await asyncio.sleep(1.0)  # let the attackers settle where they want to be
        during = summary("attack", await clinic(port, args.messages))
        print(f"p95 ratio attack/baseline: {during / base:.2f}")
        print(f"connection states at the end: {listener.connection_states()}")
        stop.set()
        await asyncio.gather(*attackers)
        for _, writer in held:
            writer.close()
    finally:
        await listener.stop(1.0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--slowloris", type=int, default=10)
    parser.add_argument("--idle", type=int, default=200)
    parser.add_argument("--cap", type=int, default=64)
    asyncio.run(main(parser.parse_args()))
