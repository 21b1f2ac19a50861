"""The shared index at national scale: overview lookups against a hub serving a full index.

Builds a synthetic national index - by default 1.16 million children, 3 million cases and 10
million appointments (``--scale 0.01`` for a quick run) across 98 municipalities' PPR and
family departments, 5 regions' child psychiatry and 2,000 GP clinics, with consents for half
of the children - loaded in bulk straight into the hub's migrated schema (SQLite: sqlite3
``executemany``; PostgreSQL: ``COPY``). The CPR numbers are valid dates (children aged 0-17)
with serial numbers that are plainly fictitious.

Then ``samspil serve`` runs on it as its own process, and this process asks for overviews of
random children by organisations that have an active case for them (each answer with a
consent writes its access-log entry, as in production):

* latency: p50/p99 of single, sequential lookups (one client);
* throughput: lookups/s and p50/p99 with ``--concurrency`` clients;
* the hub's resident memory (VmRSS, and its peak VmHWM) while serving.

Targets: p99 <= 5 ms, RSS <= 300 MB.

Before measuring, the index's pages are read once into the operating system's cache (SQLite:
the file; PostgreSQL: its tables and indexes, with ``pg_prewarm``), as a hub
in service has them: otherwise the figures measure how much of a freshly built index the
machine happens to still cache (a national index is some 5 GB), not the hub.

With ``--fhir`` the same children's whole overview is also asked for as FHIR (``GET
/fhir/r4/Patient/$overview?identifier=urn:oid:1.2.208.176.1.2|<cpr>``, one searchset Bundle,
logged as one look): p50/p99 of single, sequential lookups beside the JSON overview's
(target p99 <= 10 ms).

The consents are attested (recorded by a PPR): under the hub's default policy they open
municipal data only; ``--attested-consent-opens ppr,family,psychiatry,gp`` runs the hub with
a policy that lets them open every sector's (``SAMSPIL_ATTESTED_CONSENT_OPENS``).

Run: ``.venv/bin/python bench/index.py [--scale S] [--db sqlite|postgres|both]
[--postgres-url URL] [--lookups N] [--seconds S] [--concurrency C] [--keep DIR]
[--attested-consent-opens SECTORS] [--fhir]``; with ``--keep`` the index is built once and reused by
later runs (to compare changes on one index).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
ROOT = _HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from coordinator.database.engine import create_engine, migrate, normalise_url, plain_postgres_dsn  # noqa: E402
from coordinator.mailbox.store import new_token, token_hash  # noqa: E402
from messages.identifiers import gln_check_digit  # noqa: E402

CHILDREN, CASES, APPOINTMENTS = 1_160_000, 3_000_000, 10_000_000
KINDS = {
    "ppr": "ppr-assessment",
    "family": "family-support",
    "psychiatry": "psychiatric-treatment",
    "gp": "gp-follow-up",
}
SAMPLE_PAIRS = 200_000  # (child, organisation with an active case) pairs kept for lookups
CHUNK = 50_000
CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"  # the child's identifier in FHIR searches


def gln(n: int) -> str:
    first12 = f"579{n:09d}"
    return first12 + str(gln_check_digit(first12))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the synthetic index -------------------------------------------------------------------


def organisations() -> list[tuple[str, str, str]]:
    """(gln, name, sector): 98 PPR, 98 family departments, 5 psychiatries, 2,000 GPs."""
    orgs = []
    n = 100_000
    for m in range(98):
        orgs.append((gln(n := n + 1), f"PPR kommune {m}", "ppr"))
        orgs.append((gln(n := n + 1), f"Familieafdeling kommune {m}", "family"))
    for r in range(5):
        orgs.append((gln(n := n + 1), f"BUP region {r}", "psychiatry"))
    for g in range(2000):
        orgs.append((gln(n := n + 1), f"Lægehus {g}", "gp"))
    return orgs


def synthetic_cprs(count: int, today: date) -> Iterator[tuple[str, date]]:
    """``count`` distinct CPRs of children aged 0-17: real dates, 7th digit 4 (2000s)."""
    days = 18 * 365
    per_day = -(-count // days)
    assert per_day <= 1000, "too many children for the serial range"
    made = 0
    for offset in range(days):
        born = today - timedelta(days=offset + 1)
        for serial in range(per_day):
            if made == count:
                return
            yield f"{born:%d%m%y}4{serial:03d}", born
            made += 1


class Plan:
    """Which organisations are involved with which child (deterministic by seed)."""

    def __init__(self, scale: float, seed: int = 2026) -> None:
        self.scale = scale
        self.children = max(100, int(CHILDREN * scale))
        self.cases = max(200, int(CASES * scale))
        self.appointments = max(500, int(APPOINTMENTS * scale))
        self.rng = random.Random(seed)
        self.today = datetime.now(UTC).date()
        self.orgs = organisations()
        self.by_sector: dict[str, list[tuple[str, str, str]]] = {}
        for org in self.orgs:
            self.by_sector.setdefault(org[2], []).append(org)
        self.pairs: list[tuple[str, str, str]] = []  # (cpr, org gln, sector)


def rows(plan: Plan) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Chunks of rows, table by table: ``(table, rows)``."""
    rng, now = plan.rng, datetime.now(UTC)
    cases_per_child = plan.cases / plan.children
    appointments_per_case = plan.appointments / plan.cases
    children: list[tuple[Any, ...]] = []
    cases: list[tuple[Any, ...]] = []
    appointments: list[tuple[Any, ...]] = []
    consents: list[tuple[Any, ...]] = []
    sectors = ["ppr", "family", "psychiatry", "gp"]
    weights = [0.35, 0.25, 0.15, 0.25]
    made_cases = made_appointments = 0
    keep_every = max(1, plan.cases // SAMPLE_PAIRS)
    for index, (cpr, born) in enumerate(synthetic_cprs(plan.children, plan.today)):
        children.append((uuid.uuid4(), cpr, born))
        n_cases = int(cases_per_child) + (rng.random() < cases_per_child % 1)
        if index == plan.children - 1:
            n_cases = max(0, plan.cases - made_cases)
        municipality = rng.randrange(98)
        for c in range(n_cases):
            sector = rng.choices(sectors, weights)[0]
            if sector in ("ppr", "family"):
                org = plan.by_sector[sector][municipality]
            else:
                org = rng.choice(plan.by_sector[sector])
            active = rng.random() < 0.7
            age_days = rng.randrange(1, 600)  # nothing is due for retention while measuring
            opened = plan.today - timedelta(days=age_days)
            ref = f"S{index}-{c}"
            cases.append(
                (
                    KINDS[sector],
                    "active" if active else "closed",
                    opened,
                    None if active else opened + timedelta(days=rng.randrange(0, age_days)),
                    None,
                    uuid.uuid4(),
                    org[0],
                    ref,
                    cpr,
                    "Kontakt Person",
                    "sagsbehandler",
                    "+45 70 00 00 00",
                    "kontakt@example.invalid",
                    now,
                    now,
                )
            )
            made_cases += 1
            if active and made_cases % keep_every == 0:
                plan.pairs.append((cpr, org[0], sector))
            n_apts = int(appointments_per_case) + (rng.random() < appointments_per_case % 1)
            for a in range(n_apts):
                if made_appointments >= plan.appointments:
                    break
                starts = now + timedelta(hours=rng.randrange(-24 * 120, 24 * 90))
                appointments.append(
                    (
                        starts,
                        starts + timedelta(hours=1),
                        "booked" if starts > now else "completed",
                        "Adresse 1",
                        uuid.uuid4(),
                        org[0],
                        f"{ref}-{a}",
                        cpr,
                        ref,
                        "Behandler",
                        "psykolog",
                        now,
                        now,
                    )
                )
                made_appointments += 1
        if rng.random() < 0.5:
            age = plan.today.year - born.year
            relation = "self" if age >= 15 else "custodial-parent"
            consents.append(
                (
                    "Forælder",
                    relation,
                    "digital",
                    now - timedelta(days=30),
                    None,
                    uuid.uuid4(),
                    cpr,
                    "family,gp,ppr,psychiatry",
                    plan.orgs[0][0],
                    "Bench",
                    now,
                    None,
                    None,
                )
            )
        if len(children) >= CHUNK:
            yield "index_child", children
            yield "index_case", cases
            yield "index_appointment", appointments
            yield "index_consent", consents
            children, cases, appointments, consents = [], [], [], []
    yield "index_child", children
    yield "index_case", cases
    yield "index_appointment", appointments
    yield "index_consent", consents


COLUMNS = {
    "index_child": ("id", "cpr", "born_on"),
    "index_case": (
        "kind", "status", "opened_on", "closed_on", "title", "id", "org_gln", "ref", "cpr",
        "contact_name", "contact_role", "contact_phone", "contact_email", "created_at",
        "updated_at",
    ),
    "index_appointment": (
        "starts_at", "ends_at", "status", "location", "id", "org_gln", "ref", "cpr", "case_ref",
        "with_name", "with_role", "created_at", "updated_at",
    ),
    "index_consent": (
        "given_by_name", "relation", "form", "valid_from", "valid_until", "id", "cpr",
        "sectors", "recorded_by_org", "recorded_by", "recorded_at", "revoked_at",
        "revoked_by_org",
    ),
}  # fmt: skip


async def build(url: str, plan: Plan) -> dict[str, str]:
    """Migrate, load the index and the organisations; a system token per organisation."""
    engine = create_engine(url)
    await migrate(engine)
    await engine.dispose()
    tokens = {org[0]: new_token() for org in plan.orgs}
    now = datetime.now(UTC)
    org_rows = [(uuid.uuid4(), g, name, sector, now) for g, name, sector in plan.orgs]
    cred_rows = [
        (uuid.uuid4(), g, f"{name} system", "system", token_hash(tokens[g]), False, now)
        for g, name, _ in plan.orgs
    ]
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        _load_sqlite(str(parsed.database), plan, org_rows, cred_rows)
    else:
        await _load_postgres(plan_dsn(url), plan, org_rows, cred_rows)
    return tokens


def plan_dsn(url: str) -> str:
    return plain_postgres_dsn(normalise_url(url))


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _load_sqlite(path: str, plan: Plan, org_rows: list[Any], cred_rows: list[Any]) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-400000")
    for table, columns, data in (
        ("organisation", ("id", "gln", "name", "sector", "created_at"), org_rows),
        (
            "credential",
            ("id", "org_gln", "name", "role", "token_hash", "disabled", "created_at"),
            cred_rows,
        ),
    ):
        _sqlite_insert(db, table, columns, data)
    for table, data in rows(plan):
        _sqlite_insert(db, table, COLUMNS[table], data)
    db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()


def _sqlite_insert(
    db: sqlite3.Connection, table: str, columns: tuple[str, ...], data: list[Any]
) -> None:
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - our names
    db.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in data])


async def _load_postgres(dsn: str, plan: Plan, org_rows: list[Any], cred_rows: list[Any]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "organisation", records=org_rows, columns=["id", "gln", "name", "sector", "created_at"]
        )
        await conn.copy_records_to_table(
            "credential",
            records=cred_rows,
            columns=["id", "org_gln", "name", "role", "token_hash", "disabled", "created_at"],
        )
        for table, data in rows(plan):
            if data:
                await conn.copy_records_to_table(table, records=data, columns=COLUMNS[table])
        # as a served database is: vacuumed (visibility map, hint bits) and analysed
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()


# --- serving and measuring -----------------------------------------------------------------


def rss_kib(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values.get("VmRSS", 0), values.get("VmHWM", 0)


def cpu_seconds(pid: int) -> float:
    """The CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hub_env(url: str, **settings: str) -> dict[str, str]:
    """The environment ``samspil serve`` runs in: this one without its ``SAMSPIL_*``, the
    index's database, and ``settings`` as ``SAMSPIL_<NAME>`` (e.g. ``attested_consent_opens``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMSPIL_")}
    env.update(SAMSPIL_DATABASE_URL=url, SAMSPIL_ENVIRONMENT="test")
    env.update({f"SAMSPIL_{name.upper()}": value for name, value in settings.items()})
    return env


def start_hub(url: str, **settings: str) -> tuple[subprocess.Popen[bytes], str]:
    """``samspil serve`` on the index at ``url`` as its own process; (process, base URL)."""
    port = free_port()
    hub = subprocess.Popen(  # noqa: S603 - our own command, started once
        [sys.executable, "-m", "samspil", "serve", "--port", str(port)],
        env=hub_env(url, **settings),
        stderr=subprocess.DEVNULL,
    )
    return hub, f"http://127.0.0.1:{port}"


def stop_hub(hub: subprocess.Popen[bytes]) -> None:
    hub.send_signal(signal.SIGTERM)
    hub.wait(timeout=60)


async def wait_ready(session: aiohttp.ClientSession, base: str, within: float = 60) -> None:
    """Poll the hub's ``/readyz`` until it answers 200 (at most ``within`` seconds)."""
    deadline = time.monotonic() + within
    while True:
        try:
            async with session.get(base + "/readyz") as r:
                if r.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the hub did not come up")
        await asyncio.sleep(0.1)


async def measure(
    url: str,
    plan: Plan,
    tokens: dict[str, str],
    *,
    lookups: int,
    seconds: float,
    concurrency: int,
    attested_opens: str | None = None,
    fhir: bool = False,
) -> dict[str, float]:
    settings = {}
    if attested_opens is not None:
        settings["attested_consent_opens"] = attested_opens
    hub, base = start_hub(url, **settings)
    rng = random.Random(7)
    try:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            await wait_ready(session, base)

            async def lookup(as_fhir: bool = False) -> float:
                cpr, org, _ = rng.choice(plan.pairs)
                headers = {
                    "Authorization": f"Bearer {tokens[org]}",
                    "X-On-Behalf-Of": "Bench Caseworker",
                }
                path = f"/v1/children/{cpr}/overview"
                if as_fhir:
                    path = f"/fhir/r4/Patient/$overview?identifier={CPR_SYSTEM}|{cpr}"
                started = time.perf_counter()
                async with session.get(base + path, headers=headers) as r:
                    body = await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"overview answered {r.status}")
                took = time.perf_counter() - started
                if as_fhir:
                    if json.loads(body)["resourceType"] != "Bundle":
                        raise RuntimeError("the FHIR overview is not a Bundle")
                    return took
                # an answer that disclosed others' entries waited for its access-log commit
                (logged if json.loads(body)["disclosed"] else unlogged).append(took)
                return took

            logged: list[float] = []
            unlogged: list[float] = []

            for _ in range(min(200, lookups)):  # warm the token cache and the pages
                await lookup()
            logged.clear()
            unlogged.clear()
            cpu = cpu_seconds(hub.pid)
            single = [await lookup() for _ in range(lookups)]
            cpu_each = (cpu_seconds(hub.pid) - cpu) / lookups
            split = (list(logged), list(unlogged))
            as_fhir: list[float] = [0.0]
            if fhir:
                for _ in range(min(200, lookups)):
                    await lookup(as_fhir=True)
                as_fhir = [await lookup(as_fhir=True) for _ in range(lookups)]
            loaded: list[float] = []
            stop = time.monotonic() + seconds

            async def worker() -> None:
                while time.monotonic() < stop:
                    loaded.append(await lookup())

            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.monotonic() - started
            rss, hwm = rss_kib(hub.pid)
    finally:
        stop_hub(hub)
    return {
        "cpu_us": cpu_each * 1e6,
        "logged_share": len(split[0]) / len(single),
        "logged_p50_ms": percentile(split[0] or [0.0], 0.5) * 1000,
        "logged_p99_ms": percentile(split[0] or [0.0], 0.99) * 1000,
        "unlogged_p50_ms": percentile(split[1] or [0.0], 0.5) * 1000,
        "unlogged_p99_ms": percentile(split[1] or [0.0], 0.99) * 1000,
        "p50_ms": statistics.median(single) * 1000,
        "p99_ms": percentile(single, 0.99) * 1000,
        "fhir_p50_ms": statistics.median(as_fhir) * 1000,
        "fhir_p99_ms": percentile(as_fhir, 0.99) * 1000,
        "rate": len(loaded) / elapsed,
        "loaded_p50_ms": statistics.median(loaded) * 1000,
        "loaded_p99_ms": percentile(loaded, 0.99) * 1000,
        "rss_mib": rss / 1024,
        "hwm_mib": hwm / 1024,
    }


def _kept(keep: Path, kind: str, scale: float) -> Path:
    return keep / f"{kind}-{scale:g}.json"


def kept_state(keep: Path, kind: str, scale: float) -> dict[str, Any]:
    """What a run with ``--keep`` left for the index: ``tokens`` (a system token per
    organisation's GLN) and ``pairs`` ([cpr, GLN, sector] of children with an active case)."""
    state: dict[str, Any] = json.loads(_kept(keep, kind, scale).read_text())
    return state


def sqlite_url(folder: Path, scale: float) -> str:
    return f"sqlite+aiosqlite:///{folder}/index-{scale:g}.sqlite"


def kept_database(scale: float) -> str:
    """The PostgreSQL database a run with ``--keep`` keeps the index in."""
    return f"samspil_bench_kept_{str(scale).replace('.', '_')}"


def _read_file(path: Path) -> int:
    with path.open("rb") as f:
        while f.read(1 << 20):
            pass
    return path.stat().st_size


async def warm(kind: str, url: str) -> None:
    """Read the index's pages into the operating system's cache (see the module's doc)."""
    started = time.monotonic()
    if kind == "sqlite":
        size = await asyncio.to_thread(_read_file, Path(make_url(url).database or ""))
    else:
        conn = await asyncpg.connect(plain_postgres_dsn(make_url(url)))
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            names = await conn.fetch(
                "SELECT c.oid::int8 AS oid, pg_relation_size(c.oid) AS size FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i')"
            )
            size = 0
            for row in names:
                await conn.execute("SELECT pg_prewarm($1::int8::oid::regclass, 'read')", row["oid"])
                size += row["size"]
        finally:
            await conn.close()
    print(
        f"[{kind}] read {size / 2**20:,.0f} MiB of the index into the cache in "
        f"{time.monotonic() - started:.0f} s"
    )


async def _built(kind: str, url: str, plan: Plan, keep: Path | None) -> dict[str, str]:
    """Build the index, or with ``--keep`` reuse the one an earlier run left there."""
    saved = _kept(keep, kind, plan.scale) if keep is not None else None
    if saved is not None and saved.exists():
        state = json.loads(saved.read_text())
        plan.pairs = [(p[0], p[1], p[2]) for p in state["pairs"]]
        print(f"[{kind}] reusing the index kept in {keep}")
        return dict(state["tokens"])
    started = time.monotonic()
    tokens = await build(url, plan)
    print(
        f"[{kind}] built {plan.children:,} children, {plan.cases:,} cases, "
        f"{plan.appointments:,} appointments in {time.monotonic() - started:.0f} s"
    )
    if saved is not None:
        saved.write_text(json.dumps({"tokens": tokens, "pairs": plan.pairs}))
    return tokens


async def one_database(kind: str, args: argparse.Namespace) -> None:
    plan = Plan(args.scale)
    keep: Path | None = args.keep
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        if kind == "sqlite":
            folder = keep if keep is not None else Path(tmp)
            url = sqlite_url(folder, args.scale)
            if keep is None or not _kept(keep, kind, args.scale).exists():
                for stale in folder.glob(f"index-{args.scale:g}.sqlite*"):
                    stale.unlink()
            dbname = None
        else:
            dbname = f"samspil_bench_{uuid.uuid4().hex[:8]}"
            if keep is not None:
                dbname = kept_database(args.scale)
            admin = await asyncpg.connect(args.postgres_url)
            if keep is None or not _kept(keep, kind, args.scale).exists():
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                await admin.execute(f'CREATE DATABASE "{dbname}"')
            await admin.close()
            url = make_url(args.postgres_url).set(database=dbname).render_as_string(False)
        try:
            tokens = await _built(kind, url, plan, keep)
            await warm(kind, url)
            r = await measure(
                url,
                plan,
                tokens,
                lookups=args.lookups,
                seconds=args.seconds,
                concurrency=args.concurrency,
                attested_opens=args.attested_consent_opens,
                fhir=args.fhir,
            )
            print(
                f"[{kind}] overview, one client:  p50 {r['p50_ms']:.2f} ms  "
                f"p99 {r['p99_ms']:.2f} ms   (target p99 <= 5 ms)"
            )
            if args.fhir:
                print(
                    f"[{kind}] FHIR overview Bundle, one client:  p50 {r['fhir_p50_ms']:.2f} ms"
                    f"  p99 {r['fhir_p99_ms']:.2f} ms   (target p99 <= 10 ms)"
                )
            print(
                f"[{kind}]   {r['logged_share']:.0%} disclosed others' entries and waited for "
                f"their access-log commit: p50 {r['logged_p50_ms']:.2f} ms "
                f"p99 {r['logged_p99_ms']:.2f} ms; "
                f"the others p50 {r['unlogged_p50_ms']:.2f} ms p99 {r['unlogged_p99_ms']:.2f} ms; "
                f"the hub's CPU time {r['cpu_us']:,.0f} µs each"
            )
            print(
                f"[{kind}] overview, {args.concurrency} clients: {r['rate']:,.0f} lookups/s  "
                f"p50 {r['loaded_p50_ms']:.2f} ms  p99 {r['loaded_p99_ms']:.2f} ms"
            )
            print(
                f"[{kind}] hub memory while serving: RSS {r['rss_mib']:.0f} MiB "
                f"(peak {r['hwm_mib']:.0f} MiB; target <= 300 MB)"
            )
        finally:
            if dbname is not None and keep is None:
                admin = await asyncpg.connect(args.postgres_url)
                await admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
                await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the national size (default 1.0)"
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "SAMSPIL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--lookups", type=int, default=2000, help="sequential lookups timed")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the loaded run")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tmp", default=None, help="folder for the SQLite file")
    parser.add_argument(
        "--keep",
        default=None,
        help="folder to keep the built index in and reuse it from on the next run "
        "(PostgreSQL: a database named after the scale); compare changes on one index",
    )
    parser.add_argument(
        "--attested-consent-opens",
        default=None,
        help="the hub's SAMSPIL_ATTESTED_CONSENT_OPENS (default: the hub's own, ppr,family)",
    )
    parser.add_argument(
        "--fhir",
        action="store_true",
        help="also time the whole overview as a FHIR Bundle (GET /fhir/r4/Patient/$overview)",
    )
    args = parser.parse_args()
    if args.keep is not None:
        args.keep = Path(args.keep).resolve()
        args.keep.mkdir(parents=True, exist_ok=True)
    print(f"{os.cpu_count()} CPUs; scale {args.scale}")
    for kind in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        asyncio.run(one_database(kind, args))


if __name__ == "__main__":
    main()
