"""The simulated pilot region, run against a hub: every organisation with its own real
adapter, its simulated sector system on the far side, and synthetic children moving through
realistic pathways.

A child's pathway (choices from a random generator seeded with ``seed`` and the child's
number, so a run is the same for the same seed whatever the timing):

1. the GP opens a follow-up (``ADT^A04``) and refers the child (``REF^I12``) to the PPR of
   the child's municipality or, for about a third, to child and adolescent psychiatry;
   — having first asked its adapter for the child's overview with an HL7 query
   (``QBP^Q11``, answered ``RSP^K11`` from the hub's overview);
2. the receiver's system waits for the referral letter in its inbox (the adapter has sent the
   XCTL03 the GP asked for), then opens its own case (PPR: a case event; BUP: ``ADT^A04``);
   for some children the family department opens a family-support case too;
3. consent is recorded by the municipality for most families (a custodial parent under 15,
   the young person from 15), missing for some, and revoked later for a few. Most families
   sign it at the consent service: the case system asks the service over HTTP and puts the
   signed document in its consent event (a **verified** consent); the rest are recorded on
   the caseworker's word (**attested**), as are all when the hub trusts no consent service;
4. the receiver books one to three appointments (``SIU^S12`` or appointment events), moves
   (``S13``) or cancels (``S15``) some, and the PPR caseworker looks at the child's overview;
   child psychiatry's EHR reads it through the hub's FHIR API
   (``GET /fhir/r4/Patient/$overview``); the municipal case systems take in the partner events
   their adapters hand over (other organisations' changes about their own children, under
   consent);
5. the receiver writes back to the GP (an XDIS91 through its file drop or a letter event);
6. the course ends (``ADT^A03`` / a closing case event) and the GP closes its follow-up —
   except for a share of the children (:data:`OPEN_SHARE`, and every child of the
   organisations in :attr:`SimulationSettings.keep_open`), whose course is still under way
   when the run ends: their cases stay active, for a caseworker to look them up afterwards
   (:attr:`Progress.still_open`).

Late in the run (once half the pathways are done, or at the end) someone uses a stolen
system token of one GP clinic to register many other children in a burst
(:mod:`adapters.simulation.intruder`), for the operators' stolen-token signal to catch.

Time runs at ``speed`` simulated days per real second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import shutil
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from adapters.base import Adapter
from adapters.config import (
    AdapterConfig,
    ContactConfig,
    EventsConfig,
    FileDropConfig,
    MllpConfig,
    PartnerEventsConfig,
)
from adapters.gp import GpAdapter
from adapters.hl7feed import Hl7Adapter
from adapters.logsafe import where
from adapters.municipality import MunicipalityAdapter
from adapters.outbox import OutboxSettings
from adapters.psychiatry import PsychiatryAdapter
from adapters.simulation.intruder import Intrusion, register_with_stolen_token
from adapters.simulation.region import Child, Org, OrgKind, children, pilot_region
from adapters.simulation.systems import (
    Desk,
    EventWriter,
    Mailroom,
    MllpClient,
    PartnerEventReader,
)
from messages.errors import Hl7Error, MessageError
from messages.fhir.build import build_fhir
from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.hl7.build import build_appointment, build_episode_event, build_referral
from messages.hl7.model import (
    COPENHAGEN,
    Appointment,
    AppointmentEvent,
    AppointmentStatus,
    CareEpisodeEvent,
    EpisodeEventKind,
    Organisation,
    PersonName,
    Practitioner,
    Referral,
    ReferralPriority,
    ReferringGp,
    Routing,
)
from messages.hl7.query import OverviewQuery, QueryStatus, build_query, read_response
from messages.identifiers import parse_cpr
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import Party, Patient
from messages.medcom.registry import SchemaRegistry
from wire.client import HubClient
from wire.consent_document import ConsentRequest
from wire.consent_service import ConsentServiceClient
from wire.errors import HubError

__all__ = [
    "OPEN_SHARE",
    "HubAccess",
    "HubProvider",
    "OpenPathway",
    "Progress",
    "Region",
    "SimulationSettings",
    "simulate",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HubAccess:
    """A running hub with the region's organisations registered: its URL and their tokens."""

    url: str
    tokens: dict[str, str] = field(repr=False)
    caseworker_token: str = field(default="", repr=False)
    operator_token: str = field(default="", repr=False)
    """An operator's token (the operators' summary), when the provider made one."""
    token_file: Path | None = None
    ca_file: Path | None = None
    """The CA of an https:// hub's certificate (None: the system's CAs)."""
    consent_service: str = ""
    """The URL of the consent service whose keys the hub trusts: families sign consents there
    (``wire.consent_service.sign_consent``); empty when the hub has none."""
    caseworker_files: dict[str, Path] = field(default_factory=dict)
    """GLN -> the file holding the token of a caseworker of that organisation (the caseworker
    TUI's ``--token-file``), for the municipal organisations and child psychiatry, when the
    provider made them."""


class HubProvider(Protocol):
    """Starts (or finds) a hub with these organisations registered, for the run's length."""

    def __call__(
        self, orgs: Sequence[Org], workdir: Path
    ) -> AbstractAsyncContextManager[HubAccess]: ...


@dataclass(frozen=True, slots=True)
class SimulationSettings:
    children: int = 40
    speed: float = 1.0
    """Simulated days per real second."""
    duration: float = 0.0
    """Real seconds to run; 0 runs until every child's pathway has ended."""
    seed: int = 2026
    workdir: Path = Path("var/simulation")
    progress_every: float = 2.0
    """Seconds between two progress lines (0: none)."""
    patience: float = 5.0
    """Real seconds at least that the run waits for what it expects (a referral to arrive,
    the outboxes to drain at the end) before it counts it missing. A check that must not
    depend on how busy the machine is sets it high: waiting longer never changes a run
    that succeeds."""
    stolen_token_children: int = 0
    """Children someone registers with a stolen GP token late in the run (0: nobody does;
    ``samspil simulate`` and ``demo`` use :func:`adapters.simulation.intruder.burst_size`)."""
    keep_open: frozenset[str] = frozenset()
    """Organisations (GLNs) whose pathways all stay under way when the run ends, besides the
    :data:`OPEN_SHARE` of everyone's: ``samspil demo`` names its caseworker's, so that
    caseworker has children to find ("Mine børn") whatever the seed."""


@dataclass(frozen=True, slots=True)
class OpenPathway:
    """A child whose course is still under way when the run ends, and the organisations
    whose cases for the child stay active (the receiver's first, then the family
    department's)."""

    cpr: str = field(repr=False)
    """The synthetic child's CPR number (fictitious, made up from the seed)."""
    orgs: tuple[Org, ...]


@dataclass(slots=True)
class Progress:
    started: int = 0
    completed: int = 0
    referrals: int = 0
    referrals_arrived: int = 0
    letters: int = 0
    cases_opened: int = 0
    cases_closed: int = 0
    appointments: int = 0
    consents_verified: int = 0
    """Consents the family signed at the consent service, sent with the signed document."""
    consents_attested: int = 0
    """Consents recorded on the caseworker's word."""
    revoked: int = 0
    overviews: int = 0
    overviews_shared: int = 0
    queries: int = 0
    """Overview queries (``QBP^Q11``) the clinics' systems sent before they referred."""
    queries_shared: int = 0
    """Queries answered with other organisations' entries (``QAK-2`` ``OK``)."""
    fhir_reads: int = 0
    """Overviews child psychiatry's EHR read through the FHIR API."""
    partner_events: int = 0
    """Partner events the municipal case systems took in (each once, by its id)."""
    errors: int = 0
    intrusion: Intrusion | None = None
    """What the stolen token did, once it has."""
    still_open: list[OpenPathway] = field(default_factory=list)
    """The pathways whose course was still under way when they left off, in that order."""
    started_at: float = field(default_factory=time.monotonic)

    @property
    def consents(self) -> int:
        return self.consents_verified + self.consents_attested

    def line(self, region: Region) -> str:
        acks = region.ack_counts()
        health = [a.health() for a in region.adapters.values()]
        depth = sum(h["outbox_depth"] for h in health)
        receipts = sum(m.stats.receipts for m in region.mail.values())
        hub = "hub ok" if all(h["hub_reachable"] for h in health) else "HUB UNREACHABLE"
        elapsed = time.monotonic() - self.started_at
        return (
            f"t={elapsed:5.0f}s day {region.clock.day():4.0f} | children {self.started}"
            f" started, {self.completed} done | referrals {self.referrals} sent,"
            f" {self.referrals_arrived} arrived, receipts back {receipts} | letters"
            f" {self.letters} | cases +{self.cases_opened} -{self.cases_closed} |"
            f" appointments {self.appointments} | consents {self.consents_verified} verified,"
            f" {self.consents_attested} attested ({self.revoked} revoked) | overviews"
            f" {self.overviews} ({self.overviews_shared} with partners) | queries"
            f" {self.queries} ({self.queries_shared} with partners) | FHIR reads"
            f" {self.fhir_reads} | partner events {region.partner_events()} | ACK AA {acks['AA']}"
            f" AE {acks['AE']} AR {acks['AR']} | outbox {depth} | {hub}{self._stolen()}"
        )

    def _stolen(self) -> str:
        if self.intrusion is None:
            return ""
        return (
            f" | stolen token of {self.intrusion.org.name}: +{self.intrusion.children}"
            f" children, +{self.intrusion.consents} attested consents"
        )


class Clock:
    """Simulated time: ``speed`` days per real second from the start of the run."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.t0 = time.monotonic()
        self.start = datetime.now(COPENHAGEN).replace(second=0, microsecond=0)

    def day(self) -> float:
        return (time.monotonic() - self.t0) * self.speed

    def now(self) -> datetime:
        return self.start + timedelta(days=self.day())

    async def days(self, n: float) -> None:
        await asyncio.sleep(max(0.0, n) / self.speed)


CONTACTS = {
    OrgKind.GP: ("Jens Hjørring", "praktiserende læge"),
    OrgKind.PPR: ("Hanne Østergaard", "psykolog"),
    OrgKind.FAMILY: ("Mette Lund", "socialrådgiver"),
    OrgKind.PSYCHIATRY: ("Søren Bach", "overlæge"),
}
CASE_KINDS = {
    OrgKind.GP: "gp-follow-up",
    OrgKind.PPR: "ppr-assessment",
    OrgKind.FAMILY: "family-support",
    OrgKind.PSYCHIATRY: "psychiatric-assessment",
}
OPEN_SHARE = 0.3
"""The share of pathways whose course is still under way when the run ends: the receiver's
(and the family department's) case and the GP's follow-up stay open."""
SIGNED_SHARE = 0.75
"""The share of families who sign their consent at the consent service (the rest consent to
the caseworker: attested)."""
_ADAPTERS: dict[str, type[Adapter]] = {
    "gp": GpAdapter,
    "psychiatry": PsychiatryAdapter,
    "municipality": MunicipalityAdapter,
}


class Region:
    """Every organisation's adapter and simulated system. :meth:`start`, :meth:`run`,
    :meth:`stop`."""

    def __init__(self, settings: SimulationSettings, hub: HubAccess) -> None:
        self.settings = settings
        self.hub = hub
        self.orgs = pilot_region()
        self.registry = SchemaRegistry()
        self.clock = Clock(settings.speed)
        self.progress = Progress()
        self.adapters: dict[str, Adapter] = {}
        self.mail: dict[str, Mailroom] = {}
        self.mllp: dict[str, MllpClient] = {}
        self.events: dict[str, EventWriter] = {}
        self.partner_readers: dict[str, PartnerEventReader] = {}
        self.consent_service: ConsentServiceClient | None = None
        """The consent service families sign at (None: the hub trusts none)."""
        self._half_done = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def _config(self, org: Org) -> AdapterConfig:
        root = self.settings.workdir / org.slug
        name, role = CONTACTS[org.kind]
        return AdapterConfig(
            kind=org.kind.adapter,
            hub_url=self.hub.url,
            token=self.hub.tokens[org.gln],
            ca_file=self.hub.ca_file,
            gln=org.gln,
            name=org.name,
            data_dir=root / "adapter",
            contact=ContactConfig(name=name, role=role, phone="+45 96 00 00 00"),
            mllp=MllpConfig(port=0) if org.kind.adapter != "municipality" else None,
            filedrop=FileDropConfig(root=root / "medcom", poll_interval=0.2),
            events=EventsConfig(folder=root / "events", poll_interval=0.2)
            if org.kind.adapter == "municipality"
            else None,
            partner_events=PartnerEventsConfig(folder=self._partner_folder(org), poll_interval=0.2)
            if org.kind.adapter == "municipality"
            else None,
            outbox=OutboxSettings(base_delay=0.2, max_delay=3.0),
            poll_wait=10.0,
            case_kind=CASE_KINDS[org.kind],
        )

    def _partner_folder(self, org: Org) -> Path:
        return self.settings.workdir / org.slug / "case-system" / "partner-events"

    def partner_events(self) -> int:
        """The partner events the municipal case systems have taken in so far."""
        return sum(len(reader.seen) for reader in self.partner_readers.values())

    async def start(self) -> None:
        """Start every organisation's adapter and system, each on a fresh folder: a run is a
        fresh region, so what an earlier run left in ``workdir/<org slug>`` (the adapters'
        outboxes and local databases, the file drops, the event folders) is removed first —
        the run's ids come from the seed, and an outbox that remembers them from an earlier
        run would count this run's messages as sent already."""
        await asyncio.to_thread(self._clear_folders)
        if self.hub.consent_service:
            self.consent_service = ConsentServiceClient(self.hub.consent_service)
        for org in self.orgs:
            adapter = _ADAPTERS[org.kind.adapter](self._config(org), registry=self.registry)
            await adapter.start()
            self.adapters[org.gln] = adapter
            assert adapter.config.filedrop is not None
            mailroom = Mailroom(adapter.config.filedrop.root, self.registry)
            self.mail[org.gln] = mailroom
            self._own(mailroom.watch())
            if adapter.letters_taken_by_people:  # the hub says its people take them in
                self._desk(org, mailroom)
            if isinstance(adapter, Hl7Adapter):
                self.mllp[org.gln] = MllpClient("127.0.0.1", adapter.mllp_port)
            if isinstance(adapter, MunicipalityAdapter):
                self.events[org.gln] = EventWriter(adapter.events.folder, org.slug)
                reader = PartnerEventReader(self._partner_folder(org))
                self.partner_readers[org.gln] = reader
                self._own(reader.watch())
        log.info("simulated region started: %d organisations", len(self.orgs))

    def _desk(self, org: Org, mailroom: Mailroom) -> None:
        """The organisation's people look at its inbox in the hub (:class:`Desk`)."""
        token_file = self.hub.caseworker_files.get(org.gln)
        if token_file is None:
            log.warning(
                "%s: its people take its letters in, and the run has no caseworker token for "
                "it: its letters are not watched",
                org.name,
            )
            return
        token = token_file.read_text(encoding="utf-8").strip()
        client = HubClient(self.hub.url, token, ca_file=self.hub.ca_file)
        self._own(Desk(client, mailroom).watch())

    def _clear_folders(self) -> None:
        for org in self.orgs:  # only the region's own folders, never the rest of workdir
            root = self.settings.workdir / org.slug
            if root.is_symlink():
                root.unlink()
            elif root.is_dir():
                shutil.rmtree(root)

    def _own(self, work: Any) -> None:
        self._tasks.append(asyncio.create_task(work))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for client in self.mllp.values():
            await client.close()
        for adapter in self.adapters.values():
            await adapter.stop(grace=2.0)
        if self.consent_service is not None:
            await self.consent_service.close()

    def ack_counts(self) -> dict[str, int]:
        total = {"AA": 0, "AE": 0, "AR": 0}
        for client in self.mllp.values():
            for code, n in client.acks.items():
                total[code] = total.get(code, 0) + n
        return total

    def health(self) -> list[dict[str, Any]]:
        return [a.health() for a in self.adapters.values()]

    async def drain(self, within: float) -> bool:
        """Wait until every adapter's outbox is empty (True) or ``within`` seconds pass."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if all(a.outbox.depth == 0 for a in self.adapters.values()):
                return True
            await asyncio.sleep(0.1)
        return False

    async def run(self, *, report: Callable[[str], None] | None = None) -> Progress:
        """Run every child's pathway (until done, or ``duration`` seconds)."""
        count, stolen = self.settings.children, self.settings.stolen_token_children
        # the intruder's children follow the pathways' in the same seeded sequence: never one
        # of them
        everyone = children(count + stolen, self.settings.seed, today=self.clock.start.date())
        kids, theirs = everyone[:count], everyone[count:]
        spread = max(3.0, len(kids) / 4)
        stories = [asyncio.create_task(self._story(kid, n, spread)) for n, kid in enumerate(kids)]
        intruder = asyncio.create_task(self._intrude(theirs)) if theirs else None
        reporter = None
        if report is not None and self.settings.progress_every > 0:
            reporter = asyncio.create_task(self._report(report))
        try:
            if self.settings.duration > 0:
                await asyncio.wait(stories, timeout=self.settings.duration)
            else:
                await asyncio.gather(*stories)
            self._half_done.set()  # the intruder has not come yet: it comes now
            if intruder is not None:
                await intruder
        finally:
            for task in (*stories, *([intruder] if intruder else [])):
                task.cancel()
            await asyncio.gather(*stories, *([intruder] if intruder else []),
                                 return_exceptions=True)  # fmt: skip
            if reporter is not None:
                reporter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reporter
        return self.progress

    async def _intrude(self, kids: Sequence[Child]) -> None:
        """Late in the run, a GP clinic's stolen token registers ``kids`` in a burst."""
        await self._half_done.wait()
        clinics = [o for o in self.orgs if o.kind is OrgKind.GP]
        org = random.Random(f"{self.settings.seed}-stolen").choice(clinics)
        intrusion = await register_with_stolen_token(
            self.hub.url,
            self.hub.tokens[org.gln],
            org,
            kids,
            today=self.clock.start.date(),
            seed=self.settings.seed,
            ca_file=self.hub.ca_file,
        )
        self.progress.intrusion = intrusion
        self.progress.errors += intrusion.failed

    async def _report(self, report: Callable[[str], None]) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_every)
            report(self.progress.line(self))

    # --- one child --------------------------------------------------------------------------

    def _org(self, kind: OrgKind, municipality: str | None = None) -> Org:
        return next(
            o
            for o in self.orgs
            if o.kind is kind and (municipality is None or o.municipality == municipality)
        )

    async def _story(self, child: Child, n: int, spread: float) -> None:
        rng = random.Random(f"{self.settings.seed}-{n}")
        await self.clock.days(rng.uniform(0, spread))
        self.progress.started += 1
        try:
            await _Pathway(self, child, n, rng).run()
            self.progress.completed += 1
            if self.progress.completed * 2 >= self.settings.children:
                self._half_done.set()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.progress.errors += 1
            log.error("simulated pathway %d failed: %s", n, where(exc))


class _Pathway:
    """One child's way through the region (see the module docstring)."""

    def __init__(self, region: Region, child: Child, n: int, rng: random.Random) -> None:
        self.r = region
        self.child = child
        self.n = n
        self.rng = rng
        clinics = [o for o in region.orgs if o.kind is OrgKind.GP]
        local = [o for o in clinics if o.municipality == child.municipality] or clinics
        self.gp = rng.choice(local)
        self.ppr = region._org(OrgKind.PPR, child.municipality)
        self.family = region._org(OrgKind.FAMILY, child.municipality)
        self.bup = region._org(OrgKind.PSYCHIATRY)
        self.cpr = parse_cpr(child.cpr)
        self.name = PersonName(child.family, child.given)
        self.controls = 0

    def _control(self) -> str:
        self.controls += 1
        return f"SIM{self.r.settings.seed}-{self.n}-{self.controls}"

    def _routing(self, org: Org) -> Routing:
        app = "LÆGESYSTEM" if org.kind is OrgKind.GP else "EPJ"
        return Routing(app, org.gln, "SAMSPIL", "SAMSPIL")

    async def _hl7(self, org: Org, er7: str) -> str:
        return await self.r.mllp[org.gln].send(er7)

    def _today(self) -> str:
        return self.r.clock.now().date().isoformat()

    async def run(self) -> None:
        rng, clock, progress = self.rng, self.r.clock, self.r.progress
        to_bup = rng.random() < 0.35
        receiver = self.bup if to_bup else self.ppr
        gp_case = f"GP-{self.r.settings.seed}-{self.n:05d}"
        await self._episode(self.gp, gp_case, EpisodeEventKind.START)
        ref_id = f"HEN-{self.r.settings.seed}-{self.n:05d}"
        referral = Referral(
            referral_id=ref_id,
            child_cpr=self.cpr,
            child_name=self.name,
            referring_gp=ReferringGp(PersonName("Hjørring", "Jens"), f"{self.n % 90000:06d}"),
            receiver=Organisation(receiver.gln, receiver.name),
            reason="Trivsel og søvn; bekymring fra skolen",
            priority=ReferralPriority.ROUTINE,
            requests_case=True,
            referred_at=clock.now(),
        )
        await self._query(self.gp)
        expected = self.r.mail[receiver.gln].expect(f"Henvisning {ref_id}")
        await self._hl7(
            self.gp, build_referral(referral, self._routing(self.gp), control_id=self._control())
        )
        progress.referrals += 1
        try:
            patience = self.r.settings.patience
            await asyncio.wait_for(expected, timeout=max(patience, 30 / clock.speed))
            progress.referrals_arrived += 1
        except TimeoutError:
            log.warning("pathway %d: the referral did not arrive in time", self.n)
        await clock.days(rng.uniform(1, 5))
        case_ref = f"{'BUP' if to_bup else 'PPR'}-{self.r.settings.seed}-{self.n:05d}"
        opened = self._today()
        await self._open(receiver, case_ref, opened)
        family_ref = None
        if rng.random() < (0.5 if to_bup else 0.3):
            family_ref = f"FAM-{self.r.settings.seed}-{self.n:05d}"
            await self._open(self.family, family_ref, self._today())
        # consent is recorded by a municipal partner with an active case for the child
        consenter = self.ppr if not to_bup else (self.family if family_ref else None)
        consent_ref = f"SAMTYKKE-{self.r.settings.seed}-{self.n:05d}"
        consent_given = consenter is not None and rng.random() < 0.8
        signed = rng.random() < SIGNED_SHARE
        if consenter is not None and consent_given:
            await self._consent(consenter, consent_ref, signed=signed)
        for number in range(rng.randint(1, 3)):
            await clock.days(rng.uniform(2, 8))
            await self._appointment(receiver, case_ref, number)
        if consenter is not None:
            await self._look(consenter)
        if to_bup:
            await self._read_fhir(self.bup)
        await clock.days(rng.uniform(1, 4))
        await self._letter_back(receiver)
        if consenter is not None and consent_given and rng.random() < 0.15:
            await clock.days(rng.uniform(1, 5))
            self._revoke(consenter, consent_ref)
        goes_on = rng.random() < OPEN_SHARE  # drawn always: the same run for the same seed
        kept = {receiver.gln, *([self.family.gln] if family_ref else [])}
        if goes_on or kept & self.r.settings.keep_open:  # the course goes on after the run
            progress.still_open.append(
                OpenPathway(self.child.cpr, (receiver, *([self.family] if family_ref else [])))
            )
            return
        await clock.days(rng.uniform(5, 20))
        await self._close(receiver, case_ref, opened)
        if family_ref:
            await self._close(self.family, family_ref, opened)
        await self._episode(self.gp, gp_case, EpisodeEventKind.END)

    # --- steps -----------------------------------------------------------------------------

    async def _episode(self, org: Org, case_ref: str, kind: EpisodeEventKind) -> None:
        event = CareEpisodeEvent(kind, case_ref, self.cpr, self.name, self.r.clock.now())
        await self._hl7(
            org, build_episode_event(event, self._routing(org), control_id=self._control())
        )
        if kind is EpisodeEventKind.START:
            self.r.progress.cases_opened += 1
        else:
            self.r.progress.cases_closed += 1

    async def _open(self, org: Org, ref: str, opened: str) -> None:
        if org.kind is OrgKind.PSYCHIATRY:
            await self._episode(org, ref, EpisodeEventKind.START)
            return
        self.r.events[org.gln].write(self._case_event(org, ref, "active", opened, None))
        self.r.progress.cases_opened += 1

    async def _close(self, org: Org, ref: str, opened: str) -> None:
        if org.kind is OrgKind.PSYCHIATRY:
            await self._episode(org, ref, EpisodeEventKind.END)
            return
        closed = max(self._today(), opened)
        self.r.events[org.gln].write(self._case_event(org, ref, "closed", opened, closed))
        self.r.progress.cases_closed += 1

    def _case_event(
        self, org: Org, ref: str, status: str, opened: str, closed: str | None
    ) -> dict[str, Any]:
        return {
            "id": f"{ref}-{status}",
            "type": "case",
            "ref": ref,
            "child_cpr": self.child.cpr,
            "kind": CASE_KINDS[org.kind],
            "status": status,
            "opened_on": opened,
            "closed_on": closed,
        }

    def _age(self) -> int:
        """The child's age as the hub judges a consent: on the real date, not the simulated
        one (which runs ahead), so a child near 15 is not told apart differently by the two."""
        return self.cpr.age_on(datetime.now(COPENHAGEN).date())

    async def _consent(self, org: Org, ref: str, *, signed: bool) -> None:
        """The family consents: at the consent service, whose signed document the case
        system puts in its event (verified), or to the caseworker (attested)."""
        own = self._age() >= 15
        who = self.child.given if own else f"Forælder {self.child.family}"
        relation = "self" if own else "custodial-parent"
        sectors = ["ppr", "family", "psychiatry", "gp"]
        form = self.rng.choice(["written", "digital", "oral"])
        event: dict[str, Any] = {
            "id": f"{ref}-given",
            "type": "consent",
            "ref": ref,
            "child_cpr": self.child.cpr,
        }
        service = self.r.consent_service
        if signed and service is not None:
            request = ConsentRequest.model_validate(
                {"child_cpr": self.child.cpr, "given_by_name": who, "relation": relation,
                 "sectors": sectors}
            )  # fmt: skip
            event["document"] = (await service.sign(request)).document
            self.r.progress.consents_verified += 1
        else:
            event.update(
                given_by_name=who,
                relation=relation,
                form=form,
                sectors=sectors,
                # the hub judges consent on its own (real) clock, not the simulated one
                valid_from=(datetime.now(COPENHAGEN) - timedelta(minutes=1)).isoformat(),
            )
            self.r.progress.consents_attested += 1
        self.r.events[org.gln].write(event)

    def _revoke(self, org: Org, ref: str) -> None:
        self.r.events[org.gln].write(
            {"id": f"{ref}-revoked", "type": "consent-revoked", "ref": ref,
             "child_cpr": self.child.cpr}
        )  # fmt: skip
        self.r.progress.revoked += 1

    async def _appointment(self, org: Org, case_ref: str, number: int) -> None:
        rng = self.rng
        start = (self.r.clock.now() + timedelta(days=rng.uniform(3, 20))).replace(
            minute=0, second=0, microsecond=0
        )
        ref = f"{case_ref}-A{number}"
        moved = rng.random() < 0.25
        cancelled = rng.random() < 0.1
        name, role = CONTACTS[org.kind]
        steps = [(AppointmentEvent.NEW, start)]
        if moved:
            steps.append((AppointmentEvent.RESCHEDULED, start + timedelta(days=rng.randint(1, 5))))
        if cancelled:
            steps.append((AppointmentEvent.CANCELLED, steps[-1][1]))
        for event, when in steps:
            status = (
                AppointmentStatus.CANCELLED
                if event is AppointmentEvent.CANCELLED
                else AppointmentStatus.BOOKED
            )
            if org.kind is OrgKind.PSYCHIATRY:
                appointment = Appointment(
                    appointment_id=ref,
                    event=event,
                    status=status,
                    child_cpr=self.cpr,
                    child_name=self.name,
                    start=when,
                    end=when + timedelta(hours=1),
                    location="BUP Aalborg, ambulatoriet",
                    with_whom=Practitioner(PersonName(*name.split(" ", 1)[::-1]), role),
                    case_ref=case_ref,
                )
                er7 = build_appointment(appointment, self._routing(org), control_id=self._control())
                await self._hl7(org, er7)
            else:
                self.r.events[org.gln].write(
                    {
                        "id": f"{ref}-{event.value}",
                        "type": "appointment",
                        "ref": ref,
                        "child_cpr": self.child.cpr,
                        "starts_at": when.isoformat(),
                        "ends_at": (when + timedelta(hours=1)).isoformat(),
                        "status": status.value.lower(),
                        "location": "PPR, skolens mødelokale",
                        "case_ref": case_ref,
                        "with": {"name": name, "role": role},
                    }
                )
            self.r.progress.appointments += 1
            await self.r.clock.days(self.rng.uniform(0.5, 2))

    async def _look(self, org: Org) -> None:
        """The municipal caseworker opens the child's overview in the case system."""
        adapter = self.r.adapters[org.gln]
        try:
            overview = await adapter.hub.overview(
                self.child.cpr, on_behalf_of=CONTACTS[org.kind][0]
            )
        except HubError:
            return  # no active PPR case (a psychiatry pathway) or the hub is away
        self.r.progress.overviews += 1
        others = overview.get("others", {})
        if others.get("cases") or others.get("appointments"):
            self.r.progress.overviews_shared += 1

    async def _query(self, org: Org) -> None:
        """The clinic's system asks its adapter for the child's overview before it refers
        (``QBP^Q11``, in the name of the doctor); the answer is an ``RSP^K11``."""
        family, given = CONTACTS[org.kind][0].rsplit(" ", 1)[::-1]
        query = OverviewQuery(
            self.cpr, PersonName(family, given), f"Q-{self.r.settings.seed}-{self.n}"
        )
        er7 = build_query(query, self._routing(org), control_id=self._control())
        answer = await self.r.mllp[org.gln].ask(er7)
        if answer is None:
            return
        self.r.progress.queries += 1
        try:
            if read_response(answer).status is QueryStatus.OK:
                self.r.progress.queries_shared += 1
        except (Hl7Error, MessageError) as exc:
            log.warning("pathway %d: the query's answer is unreadable: %s", self.n, exc.code)

    async def _read_fhir(self, org: Org) -> None:
        """Child psychiatry's EHR reads the child's overview as FHIR R4."""
        try:
            await self.r.adapters[org.gln].hub.fhir_overview(
                self.child.cpr, on_behalf_of=CONTACTS[org.kind][0]
            )
        except HubError:
            return  # the case is not at the hub yet, or the hub is away
        self.r.progress.fhir_reads += 1

    async def _letter_back(self, org: Org) -> None:
        subject = f"Status {self.child.given}"
        text = "Vi har set barnet og fortsætter forløbet. Kontakt os gerne."
        if org.kind is OrgKind.PSYCHIATRY:
            letter = new_correspondence(
                sender=Party(ean=org.gln, identifier=org.gln, identifier_code="lokationsnummer",
                             organisation_name=org.name[:35]),
                receiver=Party(ean=self.gp.gln, identifier=self.gp.gln,
                               identifier_code="lokationsnummer"),
                patient=Patient(surname=self.child.family, given_name=self.child.given,
                                cpr=self.child.cpr),
                subject=subject,
                text=text,
                ask_for_receipt=True,
            )  # fmt: skip
            mail = self.r.mail[org.gln]
            if org.speaks_fhir:  # its EHR writes MedCom FHIR: a CareCommunication
                directory = {o.gln: SorEntry(sor=o.sor, name=o.name) for o in (org, self.gp)}
                message = care_communication_from_oioxml(letter, directory=directory)
                await asyncio.to_thread(mail.post, build_fhir(message), "status", suffix=".json")
            else:
                await asyncio.to_thread(mail.post, build_message(letter), "status")
        else:
            self.r.events[org.gln].write(
                {
                    "id": f"letter-{self.r.settings.seed}-{self.n}",
                    "type": "letter",
                    "receiver_gln": self.gp.gln,
                    "child_cpr": self.child.cpr,
                    "child_name": {"family": self.child.family, "given": self.child.given},
                    "subject": subject,
                    "text": text,
                    "ask_for_receipt": True,
                }
            )
        self.r.progress.letters += 1


@contextlib.asynccontextmanager
async def running_region(settings: SimulationSettings, hub: HubAccess) -> AsyncIterator[Region]:
    region = Region(settings, hub)
    try:
        await region.start()
        yield region
    finally:
        await region.stop()


async def simulate(
    settings: SimulationSettings,
    provider: HubProvider,
    *,
    report: Callable[[str], None] | None = None,
    on_ready: Callable[[HubAccess, Region], None] | None = None,
) -> tuple[Progress, list[dict[str, Any]]]:
    """Start a hub (``provider``), the region's adapters and systems; run; stop."""
    async with (
        provider(pilot_region(), settings.workdir) as hub,
        running_region(settings, hub) as region,
    ):
        if on_ready is not None:
            on_ready(hub, region)
        progress = await region.run(report=report)
        await region.drain(max(10.0, settings.patience))
        await asyncio.sleep(min(3.0, 0.5 + 1 / settings.speed))  # let receipts come home
        if report is not None:
            report(progress.line(region))
        return progress, region.health()
