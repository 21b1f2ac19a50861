"""GP adapter throughput: HL7 over MLLP in → the hub → ACK out, with the hub on this machine.

In one run:

* **baseline** — a bare asyncio MLLP echo server that answers every frame with a fixed ACK
  (framing and TCP only), driven by the same client as the adapter;
* **SIU^S12** — appointments through the GP adapter: parse and map, durable outbox (SQLite,
  group commit), ``PUT /v1/appointments/{ref}`` at the hub, ACK ``AA`` once the hub took it;
* **REF^I12** — referrals: as above, plus an XDIS91 built and sent to ``POST /v1/messages``
  (validated and committed by the hub) and the GP's case entry.

The ACK waits for the hub's answer (``[mllp] ack_wait``), so msgs/s counts messages that
reached the hub. For scale, the same run also sends the appointment upserts straight to the
hub (no adapter) with the same concurrency: the hub's own ceiling for them. ``connections``
clinic connections send one message at a time each, as MLLP senders do. Target: >= 500
msgs/s. Prints the ratios to the echo baseline and to the hub's ceiling, and the CPU time
per message of this process (adapter, hub and clients all run in it): on a shared machine the
rate follows the load of the moment, the CPU time much less so.

Run: ``.venv/bin/python bench/adapters.py [--messages N] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# ``adapters`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from aiohttp import web  # noqa: E402

from adapters.config import AdapterConfig, FileDropConfig, MllpConfig  # noqa: E402
from adapters.gp import GpAdapter  # noqa: E402
from adapters.outbox import OutboxSettings  # noqa: E402
from adapters.simulation.region import children  # noqa: E402
from coordinator.app import create_app  # noqa: E402
from coordinator.security.credentials import local_actor, register_organisation  # noqa: E402
from coordinator.settings import Settings  # noqa: E402
from coordinator.state import ENGINE  # noqa: E402
from coordinator.tables import OrganisationCreate, Sector  # noqa: E402
from messages.hl7.build import build_appointment, build_referral  # noqa: E402
from messages.hl7.mapping import encode  # noqa: E402
from messages.hl7.mllp import MllpDecoder, read_frame, write_frame  # noqa: E402
from messages.hl7.samples import (  # noqa: E402
    GP_GLN,
    PPR_GLN,
    make_appointment,
    make_referral,
    make_routing,
)
from messages.identifiers import parse_cpr  # noqa: E402
from wire.client import HubClient  # noqa: E402

ECHO_ACK = encode("MSH|^~\\&|SAMSPIL|HUB|X|Y|20260101120000||ACK^S12^ACK|1|P|2.5\rMSA|AA|1")


async def echo_server() -> tuple[asyncio.Server, int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = MllpDecoder()
        try:
            while await read_frame(reader, decoder) is not None:
                await write_frame(writer, ECHO_ACK)
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def drive(port: int, payloads: list[bytes], connections: int) -> tuple[float, dict[str, int]]:
    """Send every payload over ``connections`` MLLP connections; (seconds, ACK codes)."""
    codes: dict[str, int] = {}
    queue = list(reversed(payloads))

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        decoder = MllpDecoder()
        try:
            while queue:
                await write_frame(writer, queue.pop())
                answer = await read_frame(reader, decoder)
                assert answer is not None
                code = answer.split(b"\rMSA|", 1)[1][:2].decode()
                codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - start, codes


def appointments(count: int, prefix: str = "S") -> list[bytes]:
    """SIU^S12s with control ids ``<prefix>-<n>``: a control id is never used twice with
    another content (the adapter would answer AE control-id-reused)."""
    routing = make_routing()
    kids = children(max(1, count // 4), 99, today=date(2026, 1, 1))
    out = []
    for n in range(count):
        kid = kids[n % len(kids)]
        appointment = make_appointment(
            appointment_id=f"AFT-{prefix}{n:07d}", child_cpr=parse_cpr(kid.cpr), case_ref=None
        )
        appointment = make_appointment(
            appointment_id=f"AFT-{prefix}{n:07d}",
            child_cpr=parse_cpr(kid.cpr),
            case_ref=None,
            start=appointment.start + timedelta(days=n % 30),
            end=appointment.end + timedelta(days=n % 30),
        )
        out.append(encode(build_appointment(appointment, routing, control_id=f"{prefix}-{n}")))
    return out


def referrals(count: int) -> list[bytes]:
    routing = make_routing()
    return [
        encode(
            build_referral(make_referral(referral_id=f"HEN-{n:07d}"), routing, control_id=f"R-{n}")
        )
        for n in range(count)
    ]


async def hub_direct(hub: HubClient, count: int, connections: int) -> tuple[float, dict[str, int]]:
    """The same appointment upserts sent straight to the hub: its own ceiling."""
    kids = children(max(1, count // 4), 98, today=date(2026, 1, 1))
    queue = list(range(count))
    codes = {"2xx": 0}

    async def client() -> None:
        while queue:
            n = queue.pop()
            body = {
                "child_cpr": kids[n % len(kids)].cpr,
                "starts_at": "2026-03-02T09:00:00+01:00",
                "ends_at": "2026-03-02T10:00:00+01:00",
                "status": "booked",
                "location": "Børne- og ungeteamet",
                "case_ref": None,
                "with": {"name": "Hanne Østergaard", "role": "psykolog"},
            }
            await hub.call(
                "PUT",
                f"/v1/appointments/DIRECT-{n}",
                body=json.dumps(body).encode(),
                content_type="application/json",
            )
            codes["2xx"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - start, codes


async def measure(
    label: str, run: Callable[[], Awaitable[tuple[float, dict[str, int]]]], count: int
) -> float:
    cpu = time.process_time()
    seconds, codes = await run()
    cpu_us = (time.process_time() - cpu) / count * 1e6
    rate = count / seconds
    print(
        f"  {label:<44} {rate:10,.0f} msgs/s  ({count} in {seconds:.2f} s, "
        f"{cpu_us:,.0f} µs CPU each, ACKs {codes})"
    )
    return rate


@contextlib.asynccontextmanager
async def hub_in_process(
    root: Path, organisations: Iterable[tuple[str, Sector]]
) -> AsyncIterator[tuple[web.Application, str, dict[str, str]]]:
    """A hub on SQLite in ``root / "hub"``, served in this process on a free port, with
    ``organisations`` (GLN, sector) registered: the app, its URL and each one's token."""
    settings = Settings(  # a benchmark: no per-credential rate limit
        environment="test", data_dir=root / "hub", rate_limit_per_second=0
    ).check()
    (root / "hub").mkdir()
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        tokens = {}
        for gln, sector in organisations:
            _, tokens[gln] = await register_organisation(
                actor=local_actor(),
                engine=app[ENGINE],
                organisation=OrganisationCreate(gln=gln, name="Bench", sector=sector),
            )
        yield app, f"http://{host}:{port}", tokens
    finally:
        await runner.cleanup()


def gp_config(root: Path, hub_url: str, token: str, gln: str = GP_GLN) -> AdapterConfig:
    """The benchmarks' GP adapter, its files in ``root``, its MLLP port a free one (change
    a section with :func:`dataclasses.replace`)."""
    return AdapterConfig(
        kind="gp",
        hub_url=hub_url,
        token=token,
        gln=gln,
        name="Lægehuset Bench",
        data_dir=root / "gp",
        mllp=MllpConfig(port=0),
        filedrop=FileDropConfig(root=root / "gp-medcom"),
    )


async def bench(count: int, connections: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="samspil-bench-") as tmp:
        root = Path(tmp)
        organisations = ((GP_GLN, Sector.GP), (PPR_GLN, Sector.PPR))
        async with hub_in_process(root, organisations) as (_, url, tokens):
            config = replace(
                gp_config(root, url, tokens[GP_GLN]),
                mllp=MllpConfig(port=0, ack_wait=5.0),
                outbox=OutboxSettings(concurrency=64),
            )
            adapter = GpAdapter(config)
            echo, echo_port = await echo_server()
            await adapter.start()
            try:
                siu = appointments(count)
                ref = referrals(count // 2)
                print(f"GP adapter, {connections} MLLP connections, hub on SQLite on this machine")
                base = await measure(
                    "bare MLLP echo (baseline)", lambda: drive(echo_port, siu, connections), count
                )
                await drive(adapter.mllp_port, appointments(50, prefix="W"), 4)  # warm up
                ours = await measure(
                    "SIU^S12 → outbox → hub PUT → ACK",
                    lambda: drive(adapter.mllp_port, siu, connections),
                    count,
                )
                letters = await measure(
                    "REF^I12 → XDIS91 + case → hub → ACK",
                    lambda: drive(adapter.mllp_port, ref, connections),
                    len(ref),
                )
                await adapter.outbox.drain(30)
                async with HubClient(url, tokens[GP_GLN]) as direct:
                    ceiling = await measure(
                        "hub PUT /v1/appointments directly (ceiling)",
                        lambda: hub_direct(direct, count, connections),
                        count,
                    )
                print(f"  ratio SIU to the bare MLLP echo {ours / base:21.3f}")
                print(f"  ratio SIU to the hub's own ceiling {ours / ceiling:18.2f}")
                print(f"  target >= 500 msgs/s: SIU {'met' if ours >= 500 else 'NOT met'}, "
                      f"REF {'met' if letters >= 500 else 'NOT met'}")  # fmt: skip
                print(f"  outbox after the run: {adapter.outbox.depth} pending, "
                      f"{adapter.outbox.stats.refused} refused")  # fmt: skip
            finally:
                await adapter.stop()
                echo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(bench(args.messages, args.connections))


if __name__ == "__main__":
    main()
