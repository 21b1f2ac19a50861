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

With ``--national DIR`` the hub is instead ``samspil serve`` as its own process on the
national index ``bench/index.py --keep DIR`` built and kept (``--db sqlite|postgres``; read
into the cache first, as there; served as kept: no migration at start-up, and no
per-credential rate limit). The GP clinic with the most children among the kept pairs asks
(its system token from the kept file) for those children's overviews. Each line then also
gives p50/p99 per query and the CPU time per query of the hub's process beside this one's
(the adapter and the MLLP or HTTP clients).

Run: ``.venv/bin/python bench/queries.py [--queries N] [--children K] [--connections C]``,
or ``.venv/bin/python bench/queries.py --national DIR [--db sqlite|postgres] [--scale S]
[--postgres-url URL] [--queries N] [--connections C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
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

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from adapters.gp import GpAdapter  # noqa: E402
from adapters.simulation.region import children  # noqa: E402
from bench.adapters import echo_server, gp_config, hub_in_process  # noqa: E402
from bench.index import (  # noqa: E402
    cpu_seconds,
    kept_database,
    kept_state,
    percentile,
    rss_kib,
    sqlite_url,
    start_hub,
    stop_hub,
    wait_ready,
    warm,
)
from coordinator.database.engine import plain_postgres_dsn  # noqa: E402
from coordinator.security.credentials import add_user, local_actor  # noqa: E402
from coordinator.state import ENGINE  # noqa: E402
from coordinator.tables import Role, Sector  # noqa: E402
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


Run = tuple[float, dict[str, int]]
"""A timed run: (seconds, answers by kind)."""


async def drive(
    port: int, payloads: list[bytes], connections: int, took: list[float] | None = None
) -> Run:
    """Send every payload over ``connections`` MLLP connections; (seconds, answers by
    ``MSA-1``/``QAK-2``). Each query's time from send to answer goes to ``took``."""
    codes: dict[str, int] = {}
    queue = list(reversed(payloads))
    took = [] if took is None else took

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        decoder = MllpDecoder()
        try:
            while queue:
                sent = time.perf_counter()
                await write_frame(writer, queue.pop())
                answer = await read_frame(reader, decoder)
                took.append(time.perf_counter() - sent)
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
    hub: HubClient, cprs: list[str], count: int, connections: int, took: list[float] | None = None
) -> Run:
    """The same overviews asked straight from the hub: its own ceiling."""
    queue = list(range(count))
    codes = {"2xx": 0}
    took = [] if took is None else took

    async def client() -> None:
        while queue:
            n = queue.pop()
            sent = time.perf_counter()
            await hub.overview(cprs[n % len(cprs)], on_behalf_of=str(ASKER))
            took.append(time.perf_counter() - sent)
            codes["2xx"] += 1

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return time.perf_counter() - start, codes


class Served:
    """A hub serving as its own process; with ``dsn`` (PostgreSQL) its database's server
    processes too, whose CPU time is the database's share of the work."""

    def __init__(self, pid: int, dsn: str | None) -> None:
        self.pid, self.dsn = pid, dsn

    async def cpu(self) -> tuple[float, dict[int, float]]:
        """The CPU time the hub has used so far, and each of its database's backends'."""
        backends: dict[int, float] = {}
        if self.dsn is not None:
            conn = await asyncpg.connect(self.dsn)
            try:
                pids = await conn.fetch(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await conn.close()
            for row in pids:
                with contextlib.suppress(OSError):  # ended meanwhile, or not on this machine
                    backends[row["pid"]] = cpu_seconds(row["pid"])
        return cpu_seconds(self.pid), backends


async def measure(
    label: str,
    run: Callable[[list[float]], Awaitable[Run]],
    count: int,
    *,
    served: Served | None = None,
) -> float:
    """Time ``run`` (which adds each query's time to the list it is given); print the rate
    and the CPU time per query of this process, and with ``served`` (a hub serving as its
    own process) the p50/p99 and the CPU time per query of the hub's process (and of its
    PostgreSQL backends) as well."""
    took: list[float] = []
    before = await served.cpu() if served is not None else (0.0, {})
    cpu = time.process_time()
    seconds, codes = await run(took)
    cpu_us = (time.process_time() - cpu) / count * 1e6
    rate = count / seconds
    if served is None:
        print(
            f"  {label:<44} {rate:10,.0f} queries/s  ({count} in {seconds:.2f} s, "
            f"{cpu_us:,.0f} µs CPU each, answers {codes})"
        )
        return rate
    after = await served.cpu()
    hub_us = (after[0] - before[0]) / count * 1e6
    database = ""
    if served.dsn is not None:  # a backend that ended during the run is not counted
        used = sum(spent - before[1].get(pid, 0.0) for pid, spent in after[1].items())
        database = f", PostgreSQL {used / count * 1e6:5,.0f} µs"
    print(
        f"  {label:<40} {rate:7,.0f} queries/s  p50 {percentile(took, 0.5) * 1000:6.2f} ms  "
        f"p99 {percentile(took, 0.99) * 1000:6.2f} ms  CPU each: here {cpu_us:5,.0f} µs, "
        f"hub {hub_us:5,.0f} µs{database}  ({count} in {seconds:.2f} s, answers {codes})"
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
        organisations = ((GP_GLN, Sector.GP), (BUP_GLN, Sector.PSYCHIATRY))
        async with hub_in_process(root, organisations) as (app, url, tokens):
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
            adapter = GpAdapter(gp_config(root, url, tokens[GP_GLN]))
            echo, echo_port = await echo_server()
            await adapter.start()
            try:
                qbp = queries(cprs, count)
                print(f"GP adapter, {connections} MLLP connections, hub on SQLite on this machine")
                base = await measure(
                    "bare MLLP echo, ACK only (baseline)",
                    lambda took: drive(echo_port, qbp, connections, took),
                    count,
                )
                await drive(adapter.mllp_port, queries(cprs, 50, prefix="W"), 4)  # warm up
                ours = await measure(
                    "QBP^Q11 → hub overview → RSP^K11",
                    lambda took: drive(adapter.mllp_port, qbp, connections, took),
                    count,
                )
                async with HubClient(url, tokens[GP_GLN]) as direct:
                    ceiling = await measure(
                        "hub GET overview directly (ceiling)",
                        lambda took: hub_direct(direct, cprs, count, connections, took),
                        count,
                    )
                verdict(ours, base, ceiling, adapter)
            finally:
                await adapter.stop()
                echo.close()


def verdict(ours: float, base: float, ceiling: float, adapter: GpAdapter) -> None:
    print(f"  ratio QBP to the bare MLLP echo {ours / base:21.3f}")
    print(f"  ratio QBP to the hub's own ceiling {ours / ceiling:18.2f}")
    print(f"  target >= 300 queries/s: {'met' if ours >= 300 else 'NOT met'}")
    print(f"  answers by status at the adapter: {adapter.queries.answered}")


def gp_children(pairs: list[list[str]]) -> tuple[str, list[str]]:
    """The GP clinic with the most children among the kept pairs, and those children."""
    by_gp: dict[str, list[str]] = {}
    for cpr, org, sector in pairs:
        if sector == "gp":
            by_gp.setdefault(org, []).append(cpr)
    if not by_gp:
        raise SystemExit("the kept index names no GP with an active case")
    gln = max(by_gp, key=lambda org: len(by_gp[org]))
    return gln, list(dict.fromkeys(by_gp[gln]))


def kept_index(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The database URL of the national index ``bench/index.py --keep`` left in
    ``--national``, and what it kept beside it (tokens, pairs)."""
    keep: Path = args.national
    if args.db == "sqlite":
        url = sqlite_url(keep, args.scale)
        if not Path(make_url(url).database or "").exists():  # or the hub would make one
            raise SystemExit(
                f"no kept SQLite index in {keep}: build one with bench/index.py --keep"
            )
    else:
        database = kept_database(args.scale)
        url = make_url(args.postgres_url).set(database=database).render_as_string(False)
    try:
        return url, kept_state(keep, args.db, args.scale)
    except FileNotFoundError:
        raise SystemExit(
            f"no kept {args.db} index in {keep}: build one with bench/index.py --keep"
        ) from None


async def national(args: argparse.Namespace, url: str, state: dict[str, Any]) -> None:
    """The queries against ``samspil serve`` on the national index ``bench/index.py`` kept."""
    logging.basicConfig(level=logging.ERROR)
    keep: Path = args.national
    kind, count, connections = args.db, args.queries, args.connections
    gp_gln, cprs = gp_children(state["pairs"])
    token = state["tokens"][gp_gln]
    await warm(kind, url)
    # the kept index as it is: no migration at start-up, no per-credential rate limit
    hub, hub_url = start_hub(url, run_migrations="false", rate_limit_per_second="0")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, hub_url)
        with tempfile.TemporaryDirectory(prefix="samspil-bench-") as tmp:
            root = Path(tmp)
            adapter = GpAdapter(gp_config(root, hub_url, token, gp_gln))
            echo, echo_port = await echo_server()
            await adapter.start()
            try:
                qbp = queries(cprs, count)
                print(
                    f"GP adapter, {connections} MLLP connections, hub `samspil serve` on the "
                    f"national index ({kind}, kept in {keep}) as its own process; "
                    f"GP {gp_gln}: {len(cprs)} children"
                )
                pid = hub.pid
                dsn = plain_postgres_dsn(make_url(url)) if kind == "postgres" else None
                served = Served(pid, dsn)
                base = await measure(
                    "bare MLLP echo, ACK only (baseline)",
                    lambda took: drive(echo_port, qbp, connections, took),
                    count,
                    served=served,
                )
                warm_up = queries(cprs, 200, prefix="W")
                await drive(adapter.mllp_port, warm_up, connections)
                ours = await measure(
                    "QBP^Q11 → hub overview → RSP^K11",
                    lambda took: drive(adapter.mllp_port, qbp, connections, took),
                    count,
                    served=served,
                )
                async with HubClient(hub_url, token) as direct:
                    await hub_direct(direct, cprs, 200, connections)  # warm up
                    ceiling = await measure(
                        "hub GET overview directly (ceiling)",
                        lambda took: hub_direct(direct, cprs, count, connections, took),
                        count,
                        served=served,
                    )
                verdict(ours, base, ceiling, adapter)
                rss, hwm = rss_kib(pid)
                print(f"  the hub's memory: RSS {rss / 1024:.0f} MiB (peak {hwm / 1024:.0f} MiB)")
            finally:
                await adapter.stop()
                echo.close()
    finally:
        stop_hub(hub)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--national",
        type=Path,
        default=None,
        metavar="DIR",
        help="against `samspil serve` on the national index bench/index.py kept in DIR "
        "(its --keep); the children are then the kept GP's (no --children)",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--scale", type=float, default=1.0, help="the kept index's --scale")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SAMSPIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="the PostgreSQL server the kept index is on (its database is bench/index.py's)",
    )
    args = parser.parse_args()
    if args.national is not None:
        args.national = args.national.resolve()
        url, state = kept_index(args)
        asyncio.run(national(args, url, state))
    else:
        asyncio.run(bench(args.queries, args.children, args.connections))


if __name__ == "__main__":
    main()
