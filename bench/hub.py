"""Hub throughput and latency, with a bare aiohttp baseline measured in the same run.

(a) a bare aiohttp endpoint that reads a 3 KB body and answers 202;
(b) ``POST /v1/messages`` with a 3 KB XDIS91 (validated, committed) on SQLite;
(c) the full cycle: submit → long-poll → fetch → ack → XCTL03 → the sender sees ``receipted``;
(d) p50/p99 from submit to a waiting long-poll returning, at half of (b)'s maximum load.

The servers run as separate processes (``samspil serve`` on a fresh SQLite file); the load
generator is this process. Targets (2 cores, SQLite): (b) >= 2,000 msgs/s and (b)/(a) >= 0.2,
(c) >= 600 cycles/s, (d) p99 <= 20 ms.

Run: ``.venv/bin/python bench/hub.py [--seconds S] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from coordinator.db import create_engine, migrate  # noqa: E402
from coordinator.store import create_organisation  # noqa: E402
from coordinator.tables import OrganisationCreate, Sector  # noqa: E402
from messages.identifiers import gln_check_digit  # noqa: E402
from tests.functional.samples import new_id, receipt, xdis91  # noqa: E402


def gln(n: int) -> str:
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- (a) the bare server --------------------------------------------------------------------


def serve_bare(port: int) -> None:
    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"status": "accepted"}, status=202)

    app = web.Application()
    app.router.add_post("/v1/messages", accept)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def wait_ready(session: aiohttp.ClientSession, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            async with session.get(url) as response:
                if response.status < 500:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not come up")


async def closed_loop(seconds: float, concurrency: int, one: object) -> tuple[int, float]:
    """Run ``one(worker)`` in ``concurrency`` loops for ``seconds``; (count, elapsed)."""
    done = 0
    stop = time.monotonic() + seconds

    async def worker(index: int) -> None:
        nonlocal done
        while time.monotonic() < stop:
            await one(index)  # type: ignore[operator]
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return done, time.monotonic() - started


async def run(seconds: float, concurrency: int) -> None:
    body = xdis91(sender=gln(1), receiver=gln(2), padding=1300)
    print(f"message size: {len(body)} bytes; {os.cpu_count()} CPUs; concurrency {concurrency}")
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        # (a) bare aiohttp
        port = free_port()
        bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(port)])  # noqa: S603, ASYNC220 - our own script, started once
        try:
            await wait_ready(session, f"http://127.0.0.1:{port}/")
            url = f"http://127.0.0.1:{port}/v1/messages"

            async def post_bare(_i: int) -> None:
                async with session.post(url, data=body) as r:
                    await r.read()

            n, elapsed = await closed_loop(seconds, concurrency, post_bare)
            rate_a = n / elapsed
        finally:
            bare.send_signal(signal.SIGTERM)
            bare.wait()
        print(f"(a) bare aiohttp 202:            {rate_a:9.0f} req/s")

        # the hub on a fresh SQLite file
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite+aiosqlite:///{tmp}/bench.sqlite"
            pairs = max(concurrency, 1)
            engine = create_engine(db)
            await migrate(engine)
            tokens: dict[str, str] = {}
            for i in range(1, 2 * pairs + 3):
                _, token = await create_organisation(
                    engine=engine,
                    organisation=OrganisationCreate(gln=gln(i), name=f"Org {i}", sector=Sector.PPR),
                )
                tokens[gln(i)] = token
            await engine.dispose()
            port = free_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
            env.update(SAMSPIL_DATABASE_URL=db, SAMSPIL_ENVIRONMENT="test")
            hub = subprocess.Popen(  # noqa: S603, ASYNC220 - our own command, started once
                [sys.executable, "-m", "samspil", "serve", "--port", str(port)],
                env=env,
                stderr=subprocess.DEVNULL,
            )
            base = f"http://127.0.0.1:{port}"
            try:
                await wait_ready(session, f"{base}/readyz")
                rate_b = await bench_submit(session, base, tokens, seconds, concurrency)
                print(
                    f"(b) POST /v1/messages (3 KB):    {rate_b:9.0f} msgs/s   "
                    f"ratio (b)/(a) = {rate_b / rate_a:.2f}"
                )
                rate_c = await bench_cycle(session, base, tokens, seconds, concurrency)
                print(f"(c) full cycle with receipt:     {rate_c:9.0f} cycles/s")
                p50, p99 = await bench_latency(session, base, tokens, rate_b / 2)
                print(
                    f"(d) submit -> long-poll at {rate_b / 2:.0f} msgs/s: "
                    f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
                )
            finally:
                hub.send_signal(signal.SIGTERM)
                hub.wait()


def _headers(token: str, xml: bool = False) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if xml:
        headers["Content-Type"] = "application/xml"
    return headers


async def bench_submit(
    session: aiohttp.ClientSession,
    base: str,
    tokens: dict[str, str],
    seconds: float,
    concurrency: int,
) -> float:
    sender, receiver = gln(1), gln(2)
    headers = _headers(tokens[sender], xml=True)

    async def submit(_i: int) -> None:
        data = xdis91(sender=sender, receiver=receiver, padding=1300)
        async with session.post(f"{base}/v1/messages", data=data, headers=headers) as r:
            assert r.status == 202, await r.text()

    n, elapsed = await closed_loop(seconds, concurrency, submit)
    return n / elapsed


async def bench_cycle(
    session: aiohttp.ClientSession,
    base: str,
    tokens: dict[str, str],
    seconds: float,
    concurrency: int,
) -> float:
    async def cycle(i: int) -> None:
        gp, ppr = gln(3 + 2 * i), gln(4 + 2 * i)
        gp_h, ppr_h = _headers(tokens[gp]), _headers(tokens[ppr])
        envelope, letter = new_id("K"), new_id("B")
        data = xdis91(sender=gp, receiver=ppr, envelope_id=envelope, letter_id=letter, padding=1300)
        async with session.post(
            f"{base}/v1/messages", data=data, headers=_headers(tokens[gp], xml=True)
        ) as r:
            message_id = (await r.json())["id"]
        while True:
            async with session.get(f"{base}/v1/inbox?wait=5", headers=ppr_h) as r:
                ids = [m["id"] for m in (await r.json())["messages"]]
            if message_id in ids:
                break
        async with session.get(f"{base}/v1/messages/{message_id}", headers=ppr_h) as r:
            await r.read()
        async with session.post(f"{base}/v1/messages/{message_id}/ack", headers=ppr_h) as r:
            await r.read()
        answer = receipt(
            sender=ppr, receiver=gp, original_envelope_id=envelope, original_letter_id=letter
        )
        async with session.post(
            f"{base}/v1/messages", data=answer, headers=_headers(tokens[ppr], xml=True)
        ) as r:
            receipt_id = (await r.json())["id"]
        async with session.get(f"{base}/v1/messages/{message_id}/status", headers=gp_h) as r:
            assert (await r.json())["status"] == "receipted"
        async with session.post(f"{base}/v1/messages/{receipt_id}/ack", headers=gp_h) as r:
            await r.read()

    n, elapsed = await closed_loop(seconds, concurrency, cycle)
    return n / elapsed


async def bench_latency(
    session: aiohttp.ClientSession,
    base: str,
    tokens: dict[str, str],
    load_rate: float,
    probes: int = 200,
) -> tuple[float, float]:
    sender, receiver = gln(1), gln(2)
    probe_sender, probe_receiver = gln(3), gln(4)
    stop = asyncio.Event()

    async def background() -> None:  # open loop at load_rate
        interval = 1 / max(load_rate, 1)
        next_at = time.monotonic()
        pending: set[asyncio.Task[None]] = set()

        async def one() -> None:
            data = xdis91(sender=sender, receiver=receiver, padding=1300)
            async with session.post(
                f"{base}/v1/messages", data=data, headers=_headers(tokens[sender], xml=True)
            ) as r:
                await r.read()

        while not stop.is_set():
            task = asyncio.create_task(one())
            pending.add(task)
            task.add_done_callback(pending.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        await asyncio.gather(*pending)

    load = asyncio.create_task(background())
    latencies: list[float] = []
    probe_h = _headers(tokens[probe_receiver])
    try:
        await asyncio.sleep(0.5)
        for _ in range(probes):
            poll = asyncio.create_task(_poll(session, base, probe_h))
            await asyncio.sleep(0.005)
            data = xdis91(sender=probe_sender, receiver=probe_receiver, padding=1300)
            started = time.perf_counter()
            async with session.post(
                f"{base}/v1/messages", data=data, headers=_headers(tokens[probe_sender], xml=True)
            ) as r:
                message_id = (await r.json())["id"]
            ids = await poll
            latencies.append(time.perf_counter() - started)
            for got in ids:
                async with session.post(f"{base}/v1/messages/{got}/ack", headers=probe_h) as r:
                    await r.read()
            assert message_id in ids
    finally:
        stop.set()
        await load
    latencies.sort()
    return statistics.median(latencies), latencies[int(len(latencies) * 0.99) - 1]


async def _poll(session: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> list[str]:
    async with session.get(f"{base}/v1/inbox?wait=10", headers=headers) as r:
        return [m["id"] for m in (await r.json())["messages"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    asyncio.run(run(args.seconds, args.concurrency))


if __name__ == "__main__":
    main()
