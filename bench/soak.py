"""Soak: the simulated pilot region at a steady half of its measured maximum, for a long time.

``make soak`` (default 10 minutes; ``SOAK_SECONDS=N make soak`` or ``--seconds N``) runs a
fresh hub on embedded SQLite and the region's 26 real adapters with their simulated sector
systems, all in this process, then:

1. **measures the maximum** briefly (``--probe`` seconds): every GP clinic's system sends
   ``REF^I12`` referrals over MLLP as fast as the ACKs come (three connections per clinic);
   a referral counts when its XDIS91 letter is in the receiving PPR's or child
   psychiatry's system (the receiver's adapter fetched it from the hub, wrote it to the
   system's inbox, acknowledged it and sent the XCTL03 the GP asked for);
2. **holds half of it** for the rest of the run: referrals started at a steady rate whether
   or not earlier ones have finished (an open loop, so a slowdown shows as latency);
3. prints, every ``--report-every`` seconds (default 60): referrals per second, p50/p99 of
   the time from the clinic's send to the letter in the receiver's system, p99 of the ACK,
   in flight, the adapters' outbox depth, and this process's resident memory (hub and
   adapters together) split by what holds it (:func:`memory_parts`: Python's live blocks,
   SQLite's heap and page caches, glibc's heap, anonymous and file-backed RSS);
4. **passes** (exit 0) when no error occurred (every ACK ``AA``, every letter arrived
   within 30 s, nothing left in an outbox) and resident memory grew less than 10 % from
   the end of the warm-up (``--warmup``, a fraction of the run, default 0.2) to the end.

``--tracemalloc N`` traces Python allocations with ``N`` frames each, snapshots them at the
end of the warm-up and at the end of the run, and prints the tracebacks whose memory grew
most in between (the way to find what a growing RSS is made of; it slows the run down).

The referrals are synthetic (the simulation's fictitious children).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and bench/adapters.py would
# hide the ``adapters`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from adapters.simulation.region import Org, OrgKind, children, pilot_region  # noqa: E402
from adapters.simulation.run import Region, SimulationSettings, running_region  # noqa: E402
from adapters.simulation.systems import MllpClient  # noqa: E402
from messages.hl7.build import build_referral  # noqa: E402
from messages.hl7.model import (  # noqa: E402
    COPENHAGEN,
    Organisation,
    PersonName,
    Referral,
    ReferralPriority,
    ReferringGp,
    Routing,
)
from messages.identifiers import parse_cpr  # noqa: E402
from samspil.simulate import embedded_hub  # noqa: E402

CONNECTIONS_PER_CLINIC = 3
DELIVERY_TIMEOUT = 30.0
MAX_GROWTH = 0.10


def rss_mib() -> float:
    """This process's resident set size now (MiB)."""
    with (
        contextlib.suppress(OSError),
        open(f"/proc/{os.getpid()}/status", encoding="ascii") as status,
    ):
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the peak, not now


def memory_parts() -> dict[str, float]:
    """Resident memory by kind (MiB): ``anon`` (heaps: Python's, SQLite's page caches,
    libxml2's...), ``file`` (mapped files: code, SQLite's shared WAL index) and ``shmem``;
    and ``blocks``, the Python allocator's live blocks (thousands), which grow when Python
    objects leak and not when C libraries' caches fill."""
    parts = {"blocks": sys.getallocatedblocks() / 1000}
    parts.update(_c_heaps())
    with (
        contextlib.suppress(OSError),
        open(f"/proc/{os.getpid()}/status", encoding="ascii") as status,
    ):
        for line in status:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                parts[key.removeprefix("Rss").lower()] = int(value.split()[0]) / 1024
    return parts


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _c_heaps() -> dict[str, float]:
    """``sqlite``: SQLite's own heap (MiB) in this process, ``pages`` the page caches in it;
    ``malloc``/``free``: glibc's heap in use and held free. Empty where unavailable."""
    parts: dict[str, float] = {}
    with contextlib.suppress(OSError, AttributeError, ImportError):
        import _sqlite3

        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_memory_used.restype = ctypes.c_int64
        parts["sqlite"] = lib.sqlite3_memory_used() / 2**20
        current, highest = ctypes.c_int64(), ctypes.c_int64()
        # SQLITE_STATUS_PAGECACHE_OVERFLOW: page cache taken from the heap (all of it, as
        # no page-cache buffer is configured); the rest is statements, schemas, WAL indexes
        if lib.sqlite3_status64(2, ctypes.byref(current), ctypes.byref(highest), 0) == 0:
            parts["pages"] = current.value / 2**20
    with contextlib.suppress(OSError, AttributeError):
        mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
        mallinfo2.restype = _MallInfo2
        info = mallinfo2()
        parts["malloc"] = (info.uordblks + info.hblkhd) / 2**20
        parts["free"] = info.fordblks / 2**20
    return parts


def p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(slots=True)
class Window:
    """What happened since the last report."""

    done: int = 0
    delivery: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)


@dataclass(slots=True)
class Load:
    """Sends referrals through the region and waits for them to arrive."""

    region: Region
    clinics: list[Org]
    clients: asyncio.Queue[tuple[Org, MllpClient]]
    errors: list[str] = field(default_factory=list)
    window: Window = field(default_factory=Window)
    total: int = 0
    started: int = 0
    in_flight: int = 0
    _kids: list[tuple[str, str, str, str]] = field(default_factory=list)

    @classmethod
    async def create(cls, region: Region) -> Load:
        clinics = [o for o in region.orgs if o.kind is OrgKind.GP]
        queue: asyncio.Queue[tuple[Org, MllpClient]] = asyncio.Queue()
        for _ in range(CONNECTIONS_PER_CLINIC):
            for clinic in clinics:
                port = region.mllp[clinic.gln].port
                queue.put_nowait((clinic, MllpClient("127.0.0.1", port)))
        load = cls(region, clinics, queue)
        today = region.clock.start.date()
        load._kids = [
            (k.cpr, k.family, k.given, k.municipality) for k in children(500, 7, today=today)
        ]
        return load

    async def close(self) -> None:
        while not self.clients.empty():
            _, client = self.clients.get_nowait()
            await client.close()

    def _receiver(self, n: int, municipality: str) -> Org:
        kind = OrgKind.PSYCHIATRY if n % 3 == 0 else OrgKind.PPR
        return next(
            o
            for o in self.region.orgs
            if o.kind is kind and (kind is OrgKind.PSYCHIATRY or o.municipality == municipality)
        )

    async def one(self) -> None:
        """One referral, from the clinic's send to the letter in the receiver's system."""
        arrival = await self.send()
        if arrival is not None:
            await arrival

    async def send(self) -> asyncio.Task[None] | None:
        """Send one referral; returns once it is acknowledged, with the wait for its arrival."""
        n = self.started = self.started + 1
        self.in_flight += 1
        try:
            arrival = await self._send(n)
        except BaseException:
            self.in_flight -= 1
            raise
        if arrival is None:
            self.in_flight -= 1
            return None
        task = asyncio.create_task(arrival)
        task.add_done_callback(lambda _: self._landed())
        return task

    def _landed(self) -> None:
        self.in_flight -= 1

    async def _send(self, n: int) -> Coroutine[Any, Any, None] | None:
        cpr, family, given, municipality = self._kids[n % len(self._kids)]
        receiver = self._receiver(n, municipality)
        ref_id = f"SOAK-{n:08d}"
        arrived = self.region.mail[receiver.gln].expect(f"Henvisning {ref_id}")
        clinic, client = await self.clients.get()
        referral = Referral(
            referral_id=ref_id,
            child_cpr=parse_cpr(cpr),
            child_name=PersonName(family, given),
            referring_gp=ReferringGp(PersonName("Hjørring", "Jens"), f"{n % 90000:06d}"),
            receiver=Organisation(receiver.gln, receiver.name),
            reason="Trivsel og søvn",
            priority=ReferralPriority.ROUTINE,
            requests_case=False,
            referred_at=self.region.clock.now().astimezone(COPENHAGEN),
        )
        er7 = build_referral(
            referral, Routing("LÆGESYSTEM", clinic.gln, "SAMSPIL", "SAMSPIL"), control_id=ref_id
        )
        started = time.perf_counter()
        try:
            code = await client.send(er7)
        finally:
            self.clients.put_nowait((clinic, client))
        acked = time.perf_counter()
        if code != "AA":
            self.errors.append(f"{ref_id}: ACK {code}")
            arrived.cancel()
            return None

        async def arrival() -> None:
            try:
                await asyncio.wait_for(arrived, DELIVERY_TIMEOUT)
            except TimeoutError:
                self.errors.append(f"{ref_id}: not in the receiver's system in {DELIVERY_TIMEOUT}s")
                return
            self.window.done += 1
            self.total += 1
            self.window.delivery.append(time.perf_counter() - started)
            self.window.ack.append(acked - started)

        return arrival()

    def take_window(self) -> Window:
        window, self.window = self.window, Window()
        return window


async def probe(load: Load, seconds: float) -> float:
    """The maximum: every connection sending for ``seconds``, as fast as the ACKs come;
    referrals per second from the first send until the last letter arrived."""
    stop = time.monotonic() + seconds
    arrivals: list[asyncio.Task[None]] = []

    async def sender() -> None:
        while time.monotonic() < stop:
            arrival = await load.send()
            if arrival is not None:
                arrivals.append(arrival)

    load.take_window()
    began = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(load.clients.qsize())))
    await asyncio.gather(*arrivals)
    window = load.take_window()
    return window.done / (time.monotonic() - began)


@dataclass(slots=True)
class Report:
    at: float
    rate: float
    p50: float
    p99: float
    ack_p99: float
    in_flight: int
    outbox: int
    rss: float
    parts: dict[str, float] = field(default_factory=dict)


async def steady(
    load: Load,
    rate: float,
    seconds: float,
    every: float,
    say: Callable[[str], None],
    *,
    warm_at: float = 0.0,
    on_warm: Callable[[], None] | None = None,
) -> list[Report]:
    """``rate`` referrals per second for ``seconds``; a report every ``every`` seconds
    (``on_warm`` is called once with the first report at or after ``warm_at`` seconds)."""
    reports: list[Report] = []
    tasks: set[asyncio.Task[None]] = set()
    began = time.monotonic()
    next_report = began + every
    n = 0
    load.take_window()
    window_began = began
    while (now := time.monotonic()) < began + seconds:
        due = int((now - began) * rate) - n
        for _ in range(max(0, due)):
            task = asyncio.create_task(load.one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        if load.in_flight > max(50, rate * DELIVERY_TIMEOUT):
            load.errors.append(f"fell behind: {load.in_flight} referrals in flight")
            break
        if now >= next_report:
            window = load.take_window()
            report = Report(
                at=now - began,
                rate=window.done / (now - window_began),
                p50=p(window.delivery, 0.50),
                p99=p(window.delivery, 0.99),
                ack_p99=p(window.ack, 0.99),
                in_flight=load.in_flight,
                outbox=sum(a.outbox.depth for a in load.region.adapters.values()),
                rss=rss_mib(),
                parts=memory_parts(),
            )
            reports.append(report)
            say(
                f"t={report.at:6.0f}s  {report.rate:6.1f} referrals/s  delivered p50"
                f" {report.p50 * 1000:6.1f} ms p99 {report.p99 * 1000:6.1f} ms  ACK p99"
                f" {report.ack_p99 * 1000:6.1f} ms  in flight {report.in_flight:3d}  outbox"
                f" {report.outbox:3d}  RSS {report.rss:7.1f} MiB ("
                + " ".join(f"{k} {v:.1f}" for k, v in report.parts.items())
                + f")  errors {len(load.errors)}"
            )
            window_began, next_report = now, next_report + every
            if on_warm is not None and report.at >= warm_at:
                on_warm()
                on_warm = None
        await asyncio.sleep(0.005)
    if tasks:
        await asyncio.wait(tasks, timeout=DELIVERY_TIMEOUT + 5)
    return reports


async def soak(
    *,
    seconds: float,
    probe_seconds: float,
    every: float,
    warmup: float,
    workdir: Path,
    say: Callable[[str], None],
    trace_frames: int = 0,
) -> bool:
    snapshots: list[tracemalloc.Snapshot] = []

    def snapshot() -> None:
        if trace_frames:
            snapshots.append(tracemalloc.take_snapshot())

    if trace_frames:
        tracemalloc.start(trace_frames)
    settings = SimulationSettings(children=1, workdir=workdir, progress_every=0)
    async with (
        embedded_hub(pilot_region(), workdir) as hub,
        running_region(settings, hub) as region,
    ):
        load = await Load.create(region)
        try:
            say(f"soak: hub {hub.url}, {len(region.adapters)} adapters; RSS {rss_mib():.1f} MiB")
            maximum = await probe(load, probe_seconds)
            rate = maximum / 2
            say(
                f"soak: maximum {maximum:.1f} referrals/s over {probe_seconds:g}s"
                f" ({load.clients.qsize()} MLLP connections); holding {rate:.1f}/s for"
                f" {seconds:g}s"
            )
            probe_errors = list(load.errors)
            reports = await steady(
                load, rate, seconds, every, say, warm_at=warmup * seconds, on_warm=snapshot
            )
            snapshot()
            drained = await region.drain(30.0)
        finally:
            await load.close()
    errors = probe_errors + load.errors
    if not drained:
        errors.append("an adapter's outbox did not drain")
    after = [r for r in reports if r.at >= warmup * seconds] or reports[-1:]
    base, end = after[0].rss, max(r.rss for r in after)
    growth = (end - base) / base if base else 0.0
    mean_rate = statistics.mean(r.rate for r in reports) if reports else 0.0
    say(
        f"soak: {load.total} referrals delivered; steady {mean_rate:.1f}"
        f"/s (target {rate:.1f}); p99 {max((r.p99 for r in reports), default=0) * 1000:.1f} ms"
        f" at worst; RSS {base:.1f} MiB after warm-up, {end:.1f} MiB at most"
        f" ({growth:+.1%}); errors {len(errors)}"
    )
    for error in errors[:10]:
        say(f"soak: error: {error}")
    if len(snapshots) == 2:
        report_growth(snapshots[0], snapshots[1], say)
    ok = not errors and growth < MAX_GROWTH
    say(f"soak: {'PASS' if ok else 'FAIL'}")
    return ok


def report_growth(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, say: Callable[[str], None]
) -> None:
    """The tracebacks whose traced memory grew most between the snapshots."""
    ignore = (
        tracemalloc.Filter(inclusive=False, filename_pattern=tracemalloc.__file__),
        tracemalloc.Filter(inclusive=False, filename_pattern="<frozen importlib._bootstrap>"),
    )
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    total = sum(s.size for s in after.statistics("filename")) - sum(
        s.size for s in before.statistics("filename")
    )
    say(f"soak: traced Python memory {total / 1024:+.1f} KiB after warm-up; growing most:")
    for diff in after.compare_to(before, "traceback")[:15]:
        if diff.size_diff <= 0:
            break
        say(f"soak:   {diff.size_diff / 1024:+9.1f} KiB {diff.count_diff:+7d} blocks")
        for line in diff.traceback.format(limit=8, most_recent_first=True):
            say(f"soak:       {line.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=float(os.environ.get("SOAK_SECONDS", "600")),
        help="steady-load seconds (default: $SOAK_SECONDS or 600)",
    )
    parser.add_argument("--probe", type=float, default=15.0, help="seconds measuring the maximum")
    parser.add_argument("--report-every", type=float, default=60.0, help="seconds between lines")
    parser.add_argument("--warmup", type=float, default=0.2, help="fraction of the run")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument(
        "--tracemalloc",
        type=int,
        default=0,
        metavar="FRAMES",
        help="trace allocations with FRAMES frames and print what grew after the warm-up",
    )
    args = parser.parse_args(argv)

    def say(line: str) -> None:
        print(line, flush=True)

    with tempfile.TemporaryDirectory(prefix="samspil-soak-") as temp:
        ok = asyncio.run(
            soak(
                seconds=args.seconds,
                probe_seconds=args.probe,
                every=args.report_every,
                warmup=args.warmup,
                workdir=args.workdir or Path(temp),
                say=say,
                trace_frames=args.tracemalloc,
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
