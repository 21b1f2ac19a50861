"""Overview queries through the GP adapter: ``QBP^Q11`` over MLLP → the hub's overview →
``RSP^K11`` back, with the hub on this machine.

The index holds ``--children`` fictitious children, each with the GP's active case, child
psychiatry's case and one appointment, and a parent's consent recorded by child psychiatry
(it opens psychiatry's entries to the GP), so every answer shows a partner and every query
writes its access-log entry at the hub, as in production. In one run:

* **baseline** — a bare asyncio MLLP echo server answering every query with a fixed ACK
  (framing and TCP only), driven by the same client and the same queries;
* **QBP^Q11** — the queries through the GP adapter: read, ``GET /v1/children/{cpr}/overview``
  with ``X-On-Behalf-Of``, the hub's committed access-log entry, the ``RSP^K11`` written;
* **the hub's ceiling** — the same overviews asked straight from the hub (no adapter), with
  the same concurrency.

``--connections`` clinic connections ask one query at a time each, as MLLP senders do.
Target: >= 300 queries/s. Prints the ratios to the echo baseline and to the hub's ceiling,
and the CPU time per query of this process (adapter, hub and clients all run in it): on a
shared machine the rate follows the load of the moment, the CPU time much less so.

Run: ``.venv/bin/python bench/queries.py [--queries N] [--children K] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from adapters.config import AdapterConfig, FileDropConfig, MllpConfig  # noqa: E402
from adapters.gp import GpAdapter  # noqa: E402
from adapters.simulation.region import children  # noqa: E402
from bench.adapters import echo_server  # noqa: E402
from coordinator.app import create_app  # noqa: E402
from coordinator.security.credentials import add_user, local_actor, register_organisation  # noqa: E402
from coordinator.settings import Settings  # noqa: E402
from coordinator.state import ENGINE  # noqa: E402
from coordinator.tables import OrganisationCreate, Role, Sector  # noqa: E402
from messages.hl7.mapping import encode  # noqa: E402
from messages.hl7.mllp import MllpDecoder, read_frame, write_frame  # noqa: E402
from messages.hl7.model import COPENHAGEN, PersonName  # noqa: E402
from messages.hl7.query import OverviewQuery, build_query  # noqa: E402
from messages.hl7.samples import GP_GLN, make_routing  # noqa: E402
from messages.identifiers import parse_cpr  # noqa: E402
from wire.client import HubClient  # noqa: E402

BUP_GLN = "5790000040011"
ASKER = PersonName("Hansen", "Lise")
CONTACT = {"name": "Hanne Østergaard", "role": "psykolog", "phone": "+45 12 34 56 78"}


async def drive(port: int, payloads: list[bytes], connections: int) -> tuple[float, dict[str, int]]:
    """Send every payload over ``connections`` MLLP connections; (seconds, answers by
    ``MSA-1``/``QAK-2``)."""
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
                if b"\rQAK|" in answer:
                    code += "/" + answer.split(b"\rQAK|", 1)[1].split(b"|")[1].decode()
                codes[code] = codes.get(code, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - start, codes


async def hub_direct(
    hub: HubClient, cprs: list[str], count: int, connections: int
) -> tuple[float, dict[str, int]]:
    """The same overviews asked straight from the hub: its own ceiling."""
    queue = list(range(count))
    codes = {"2xx": 0}

    async def client() -> None:
        while queue:
            n = queue.pop()
            await hub.overview(cprs[n % len(cprs)], on_behalf_of=str(ASKER))
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
        f"  {label:<44} {rate:10,.0f} queries/s  ({count} in {seconds:.2f} s, "
        f"{cpu_us:,.0f} µs CPU each, answers {codes})"
    )
    return rate


async def in_parallel(jobs: list[Awaitable[Any]], width: int = 16) -> None:
    for start in range(0, len(jobs), width):
        await asyncio.gather(*jobs[start : start + width])


async def fill_index(url: str, gp_token: str, bup_token: str, worker: str, cprs: list[str]) -> None:
    """Per child: the GP's case, psychiatry's case and appointment, a parent's consent."""
    today = datetime.now(COPENHAGEN).replace(microsecond=0, second=0, minute=0)
    async with (
        HubClient(url, gp_token) as gp,
        HubClient(url, bup_token) as bup,
        HubClient(url, worker) as caseworker,
    ):

        def case(cpr: str, kind: str) -> dict[str, Any]:
            return {
                "child_cpr": cpr,
                "kind": kind,
                "status": "active",
                "opened_on": date.today().isoformat(),
                "closed_on": None,
                "contact": CONTACT,
            }

        async def child(n: int, cpr: str) -> None:
            await gp.put_case(f"GP-{n}", case(cpr, "gp-follow-up"))
            await bup.put_case(f"BUP-{n}", case(cpr, "psychiatric-assessment"))
            start = today + timedelta(days=1 + n % 20, hours=9)
            await bup.put_appointment(
                f"AFT-{n}",
                {
                    "child_cpr": cpr,
                    "starts_at": start.isoformat(),
                    "ends_at": (start + timedelta(hours=1)).isoformat(),
                    "status": "booked",
                    "location": "Ambulatoriet",
                    "case_ref": f"BUP-{n}",
                    "with": {"name": "Hanne Østergaard", "role": "psykolog"},
                },
            )
            await caseworker.add_consent(
                cpr,
                {
                    "given_by_name": "Mor Sørensen",
                    "relation": "custodial-parent",
                    "form": "written",
                    "sectors": ["gp", "psychiatry"],
                },
            )

        await in_parallel([child(n, cpr) for n, cpr in enumerate(cprs)])


def queries(cprs: list[str], count: int, prefix: str = "Q") -> list[bytes]:
    routing = make_routing(sending_application="EPJ")
    return [
        encode(
            build_query(
                OverviewQuery(parse_cpr(cprs[n % len(cprs)]), ASKER, f"{prefix}-{n}"),
                routing,
                control_id=f"{prefix}-{n}",
            )
        )
        for n in range(count)
    ]


async def bench(count: int, kids: int, connections: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="samspil-bench-") as tmp:
        root = Path(tmp)
        settings = Settings(  # a benchmark: no per-credential rate limit
            environment="test", data_dir=root / "hub", rate_limit_per_second=0
        ).check()
        (root / "hub").mkdir()
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        url = f"http://{host}:{port}"
        tokens = {}
        for gln, sector in ((GP_GLN, Sector.GP), (BUP_GLN, Sector.PSYCHIATRY)):
            _, tokens[gln] = await register_organisation(
                actor=local_actor(),
                engine=app[ENGINE],
                organisation=OrganisationCreate(gln=gln, name="Bench", sector=sector),
            )
        worker = await add_user(
            actor=local_actor(),
            engine=app[ENGINE],
            org_gln=BUP_GLN,
            name="Bench",
            role=Role.CASEWORKER,
        )
        # under 15: a parent's consent opens their data (older, their own is needed too)
        born = [kid.cpr for kid in children(kids * 3, 97, today=date.today())]
        cprs = [cpr for cpr in born if parse_cpr(cpr).age_on(date.today()) < 15][:kids]
        started = time.perf_counter()
        await fill_index(url, tokens[GP_GLN], tokens[BUP_GLN], worker, cprs)
        print(f"index: {len(cprs)} children filled in {time.perf_counter() - started:.1f} s")
        adapter = GpAdapter(
            AdapterConfig(
                kind="gp",
                hub_url=url,
                token=tokens[GP_GLN],
                gln=GP_GLN,
                name="Lægehuset Bench",
                data_dir=root / "gp",
                mllp=MllpConfig(port=0),
                filedrop=FileDropConfig(root=root / "gp-medcom"),
            )
        )
        echo, echo_port = await echo_server()
        await adapter.start()
        try:
            qbp = queries(cprs, count)
            print(f"GP adapter, {connections} MLLP connections, hub on SQLite on this machine")
            base = await measure(
                "bare MLLP echo, ACK only (baseline)",
                lambda: drive(echo_port, qbp, connections),
                count,
            )
            await drive(adapter.mllp_port, queries(cprs, 50, prefix="W"), 4)  # warm up
            ours = await measure(
                "QBP^Q11 → hub overview → RSP^K11",
                lambda: drive(adapter.mllp_port, qbp, connections),
                count,
            )
            async with HubClient(url, tokens[GP_GLN]) as direct:
                ceiling = await measure(
                    "hub GET overview directly (ceiling)",
                    lambda: hub_direct(direct, cprs, count, connections),
                    count,
                )
            print(f"  ratio QBP to the bare MLLP echo {ours / base:21.3f}")
            print(f"  ratio QBP to the hub's own ceiling {ours / ceiling:18.2f}")
            print(f"  target >= 300 queries/s: {'met' if ours >= 300 else 'NOT met'}")
            print(f"  answers by status at the adapter: {adapter.queries.answered}")
        finally:
            await adapter.stop()
            echo.close()
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(bench(args.queries, args.children, args.connections))


if __name__ == "__main__":
    main()
