"""The overview query: ``QBP^Q11`` in, ``RSP^K11`` out (HL7 v2.5 query by parameter).

A clinic or hospital system asks, over its MLLP connection, what the child's other
organisations have (cases, appointments, whom to call, the coordinator); the adapter asks the
hub's overview in the name of the person asking and answers with the result.

The query (``QBP^Q11^QBP_Q11``), laid out like IHE PIX/PDQ's queries by parameter::

    MSH|^~\\&|EPJ|5790001234560|SAMSPIL|5790005550017|20260301101500+0100||QBP^Q11^QBP_Q11|Q-1|P|2.5
    QPD|SamspilOverview^Samspil overview^HL70471|q-1|1203164321^^^CPR^NNDNK|^Hansen^Lise
    RCP|I

* ``QPD-1`` — the query name: :data:`QUERY_NAME` (``CE.1``; another name is ``AE``
  ``unknown-query``);
* ``QPD-2`` — the query tag, repeated in the answer's ``QAK-1`` (may be empty);
* ``QPD-3`` — the child's CPR number as ``PID-3`` carries it (``CX``, identifier type
  ``NNDNK`` or assigning authority ``CPR``; a single unlabelled identifier is the CPR);
* ``QPD-4`` — the person asking (``XCN``: ``.2`` family name, ``.3`` given name). The hub logs
  the disclosure naming them; ``XCN.1`` (an id, which in Danish systems may be a CPR number)
  is ignored and never sent on;
* ``RCP`` — optional; every query is answered at once and in full (``RCP-1`` ``I``).

The answer (``RSP^K11^RSP_K11``), segment by segment::

    MSA   AA (answered), AE (the query is wrong, or the hub refused it), AR (try again later)
    [ERR] why: severity E with AE/AR; severity W with AA when consent withholds sectors
    QAK   QAK-1 the query tag, QAK-2 OK / NF / AE / AR, QAK-3 the query name, QAK-4..6 hits
    QPD   the query's QPD, as it came
    per organisation shown (:class:`Partner`):
      PRD   PRD-1 sector (local code, table 0286), PRD-4.9 name, PRD-7 GLN (``PLN.2`` GLN)
      [ROL] the coordinator (tovholder) when this organisation is it: ROL-3 TOVHOLDER
      per case (:class:`PartnerCase`):
        PV1   PV1-2 N, PV1-41 status, PV1-44 opened on, PV1-45 closed on
        PV2   PV2-3 the case's kind (local code and its Danish name)
        ROL   whom to call: ROL-3 KONTAKT, ROL-4.2 name, ROL-9.2 role, ROL-12 phone and e-mail
      per appointment (:class:`PartnerAppointment`):
        SCH   SCH-6 and SCH-25 status (table 0278), SCH-11.4/.5 start and end,
              SCH-16.2 the person the child meets
        TQ1   TQ1-7/-8 start and end
        AIL   AIL-3.9 location
        AIP   AIP-3.2 the person the child meets, AIP-4.2 their role

A ``ROL`` (``ROL-2`` ``UC``) names its person in ``XCN.2`` whole, as the hub holds the name;
``ROL-12`` holds the phone number (``^WPN^PH``) and the e-mail address (``^NET^Internet^``)
as repetitions. Local codes use the coding system ``99SAMSPIL``. Nothing the hub keeps to the
owner (a local reference, a case title) is in the answer: the hub does not give it.

:func:`build_query`/:func:`read_query` and :func:`build_response`/:func:`read_response` are
pure and write ER7 text directly (the answer is on the adapter's hot path, as the ``ACK`` is
in :mod:`messages.hl7.ack`); tests check each segment against hl7apy's strict v2.5
definitions (whose ``QPD`` and ``RSP_K11`` stop before the query-specific parts) and read
both messages with python-hl7. No error message quotes a field value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from messages.errors import Hl7Error
from messages.hl7.ack import err_segment, reply_head
from messages.hl7.er7 import DEFAULT_SEPARATORS, Separators, format_ts, parse_ts
from messages.hl7.mapping import read_cpr
from messages.hl7.model import COPENHAGEN, AckCode, PersonName, Routing
from messages.hl7.parse import Hl7Message, Segment, parse_er7
from messages.identifiers import Cpr, new_message_id

__all__ = [
    "ASKER_MAX",
    "QUERY_NAME",
    "ContactPerson",
    "OverviewQuery",
    "OverviewResult",
    "Partner",
    "PartnerAppointment",
    "PartnerCase",
    "QueryResponse",
    "QueryStatus",
    "build_query",
    "build_response",
    "is_query",
    "read_query",
    "read_response",
]

QUERY_NAME = "SamspilOverview"
"""``QPD-1.1`` of the overview query (user-defined table 0471)."""
_QUERY_CE = f"{QUERY_NAME}^Samspil overview^HL70471"
ASKER_MAX = 200
"""The longest name of the person asking (the hub's ``X-On-Behalf-Of`` limit)."""
LOCAL = "99SAMSPIL"
"""The coding system of Samspil's local codes (HL7: ``99zzz`` is a local system)."""
COORDINATOR_ROLE = "TOVHOLDER"
CONTACT_ROLE = "KONTAKT"
_ROLE_TEXT = {COORDINATOR_ROLE: "Tovholder", CONTACT_ROLE: "Kontaktperson"}
SECTOR_TEXT = {
    "ppr": "PPR",
    "family": "Familieafdeling",
    "psychiatry": "Børne- og ungdomspsykiatri",
    "gp": "Almen praksis",
}
"""``PRD-1.2``: the sector's name, beside its code in ``PRD-1.1``."""
KIND_TEXT = {
    "ppr-assessment": "PPR-udredning",
    "ppr-counselling": "PPR-rådgivning",
    "family-support": "Familiestøtte",
    "family-investigation": "Børnefaglig undersøgelse",
    "psychiatric-assessment": "Psykiatrisk udredning",
    "psychiatric-treatment": "Psykiatrisk behandling",
    "gp-follow-up": "Opfølgning i almen praksis",
}
"""``PV2-3.2``: the case kind's name, beside its code in ``PV2-3.1``."""
_STATUS_0278 = {
    "booked": "Booked",
    "cancelled": "Cancelled",
    "completed": "Complete",
    "no-show": "Noshow",
}
_STATUS_FROM_0278 = {v.lower(): k for k, v in _STATUS_0278.items()}


class QueryStatus(StrEnum):
    """``QAK-2`` query response status, HL7 table 0208."""

    OK = "OK"
    """Data found, no errors."""
    NF = "NF"
    """No data found, no errors (consent may withhold sectors: ``ERR`` severity ``W``)."""
    AE = "AE"
    """Application error: the query is wrong or the hub refused it."""
    AR = "AR"
    """Application reject: nothing could be asked now; send the query again later."""


@dataclass(frozen=True, slots=True)
class OverviewQuery:
    """What a ``QBP^Q11`` asks: the child (``QPD-3``) and who asks (``QPD-4``)."""

    child_cpr: Cpr
    asked_by: PersonName
    query_tag: str = ""

    @property
    def person(self) -> str:
        """The person asking as the hub logs them: given name and family name."""
        return str(self.asked_by)


@dataclass(frozen=True, slots=True)
class ContactPerson:
    """Whom to call (a case's contact, the coordinator) or whom the child meets."""

    name: str
    role: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class PartnerCase:
    kind: str
    status: str
    opened_on: date
    closed_on: date | None
    contact: ContactPerson


@dataclass(frozen=True, slots=True)
class PartnerAppointment:
    starts_at: datetime
    ends_at: datetime
    status: str
    location: str | None
    with_whom: ContactPerson

    def __post_init__(self) -> None:
        for when in (self.starts_at, self.ends_at):
            if when.tzinfo is None or when.utcoffset() is None:
                raise ValueError("an appointment's times must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Partner:
    """One organisation shown: its entries, and its contact when it is the coordinator."""

    gln: str
    name: str
    sector: str
    cases: tuple[PartnerCase, ...] = ()
    appointments: tuple[PartnerAppointment, ...] = ()
    coordinator: ContactPerson | None = None


@dataclass(frozen=True, slots=True)
class OverviewResult:
    """The answer to a query the hub answered: what it shows, and why anything is withheld
    (the hub's sentence, or None when consent withholds nothing)."""

    partners: tuple[Partner, ...] = ()
    withheld: str | None = None

    @property
    def hits(self) -> int:
        """``QAK-4``: the cases, appointments and coordinator shown."""
        return sum(
            len(p.cases) + len(p.appointments) + (p.coordinator is not None) for p in self.partners
        )


@dataclass(frozen=True, slots=True)
class QueryResponse:
    """An ``RSP^K11`` as :func:`read_response` reads it."""

    ack: AckCode
    acknowledged: str
    """``MSA-2``: the query's control id."""
    status: QueryStatus
    query_tag: str
    result: OverviewResult = field(default_factory=OverviewResult)
    error_code: str | None = None
    """``ERR-5``: Samspil's code (``no-active-case``, ``consent-missing``...)."""
    error_text: str | None = None
    """``ERR-8``: the sentence."""


# --- the query ------------------------------------------------------------------------------


def is_query(msg: Hl7Message | None) -> bool:
    """Whether ``msg`` (or the ``MSH`` read of it) is a ``QBP^Q11``."""
    return msg is not None and msg.message_type == "QBP" and msg.trigger == "Q11"


def build_query(
    query: OverviewQuery,
    routing: Routing,
    *,
    control_id: str | None = None,
    sent_at: datetime | None = None,
) -> str:
    """A ``QBP^Q11`` asking for ``query`` (ER7; ``MSH-18`` ``UNICODE UTF-8``)."""
    esc = DEFAULT_SEPARATORS.escape_text
    msh = "|".join(
        (
            "MSH",
            "^~\\&",
            esc(routing.sending_application),
            esc(routing.sending_facility),
            esc(routing.receiving_application),
            esc(routing.receiving_facility),
            format_ts(sent_at or datetime.now(COPENHAGEN)),
            "",
            "QBP^Q11^QBP_Q11",
            esc(control_id or new_message_id()),
            "P",
            "2.5",
            "",
            "",
            "",
            "",
            "",
            "UNICODE UTF-8",
        )
    )
    asker = f"^{esc(query.asked_by.family)}^{esc(query.asked_by.given)}".rstrip("^")
    qpd = "|".join(
        ("QPD", _QUERY_CE, esc(query.query_tag), f"{query.child_cpr.digits}^^^CPR^NNDNK", asker)
    )
    return "\r".join((msh, qpd, "RCP|I"))


def read_query(msg: Hl7Message) -> OverviewQuery:
    """The overview query a ``QBP^Q11`` asks. Raises Hl7Error (``missing-segment``,
    ``unknown-query``, ``missing-cpr``, ``invalid-cpr``, ``missing-field``,
    ``invalid-value``), naming the field but never quoting it."""
    qpd = msg.require("QPD")
    if qpd.value(1, 1) != QUERY_NAME:
        raise Hl7Error(
            f"QPD-1 names a query Samspil does not answer; ask {QUERY_NAME}",
            segment="QPD",
            code="unknown-query",
        )
    if not qpd.raw(3):
        raise Hl7Error(
            "QPD-3 (the child's CPR number) is required", segment="QPD", code="missing-cpr"
        )
    cpr = read_cpr(qpd, 3)
    asked_by = PersonName(family=qpd.value(4, 2).strip(), given=qpd.value(4, 3).strip())
    person = str(asked_by)
    if not person:
        raise Hl7Error(
            "QPD-4 (the person asking: XCN.2 family name, XCN.3 given name) is required; "
            "the hub logs every disclosure with who asked",
            segment="QPD",
            code="missing-field",
        )
    if len(person) > ASKER_MAX or not person.isprintable():
        raise Hl7Error(
            f"QPD-4 (the person asking) must be 1-{ASKER_MAX} characters of text",
            segment="QPD",
            code="invalid-value",
        )
    return OverviewQuery(child_cpr=cpr, asked_by=asked_by, query_tag=qpd.value(2))


# --- the answer -----------------------------------------------------------------------------


def build_response(
    query: Hl7Message,
    *,
    result: OverviewResult | None = None,
    code: AckCode = AckCode.ACCEPT,
    error: Hl7Error | None = None,
    control_id: str | None = None,
    now: datetime | None = None,
    charset: str | None = None,
) -> str:
    """The ``RSP^K11`` answering ``query`` (ER7, in the query's own delimiters, version and
    character set; ``charset`` replaces the ``MSH-18`` written).

    ``AA`` with ``result`` (``QAK-2`` ``OK``, or ``NF`` when it shows nothing; an ``ERR``
    warning when consent withholds sectors), or ``AE``/``AR`` with ``error`` (the
    ``QAK-2`` of the same name). ``query`` may be only the ``MSH`` of a message whose
    rest could not be read: the ``QPD`` echoed is then the query name alone.
    """
    sep = query.separators
    fs, cs = sep.field, sep.component
    if code is AckCode.ACCEPT:
        shown = result or OverviewResult()
        status = QueryStatus.OK if shown.hits else QueryStatus.NF
        text = ""
    else:
        shown = OverviewResult()
        status = QueryStatus.AE if code is AckCode.ERROR else QueryStatus.AR
        text = error.message if error else "the query could not be answered"
    segments = reply_head(
        query,
        ("RSP", "K11", "RSP_K11"),
        code,
        error,
        text,
        control_id=control_id,
        now=now,
        charset=charset,
    )
    if code is AckCode.ACCEPT and shown.withheld:
        warning = Hl7Error(shown.withheld, code="consent-missing", segment=None)
        segments.append(err_segment(sep, warning, shown.withheld, severity="W"))
    qpd = query.segment("QPD")
    hits = str(shown.hits)
    segments.append(
        fs.join(
            (
                "QAK",
                qpd.raw(2) if qpd else "",
                status.value,
                qpd.raw(1) if qpd else _QUERY_CE.replace("^", cs),
                hits,
                hits,
                "0",
            )
        )
    )
    segments.append(fs.join(qpd.fields) if qpd else f"QPD{fs}{_QUERY_CE.replace('^', cs)}")
    writer = _Writer(sep)
    for partner in shown.partners:
        writer.partner(partner)
    segments.extend(writer.lines)
    return "\r".join(segments)


class _Writer:
    """The payload's segments, in one message's delimiters."""

    def __init__(self, sep: Separators) -> None:
        self.sep = sep
        self.lines: list[str] = []
        self.cases = 0
        self.appointments = 0

    def _join(self, *fields: str) -> None:
        self.lines.append(self.sep.field.join(fields).rstrip(self.sep.field))

    def _ce(self, *components: str) -> str:
        esc, cs = self.sep.escape_text, self.sep.component
        return cs.join(esc(c) for c in components).rstrip(cs)

    def partner(self, partner: Partner) -> None:
        cs = self.sep.component
        esc = self.sep.escape_text
        self._join(
            "PRD",
            self._ce(partner.sector, SECTOR_TEXT.get(partner.sector, ""), LOCAL),
            "",
            "",
            cs * 8 + esc(partner.name),
            "",
            "",
            self._ce(partner.gln, "GLN"),
        )
        if partner.coordinator is not None:
            self._rol(COORDINATOR_ROLE, partner.coordinator)
        for case in partner.cases:
            self._case(case)
        for appointment in partner.appointments:
            self._appointment(appointment)

    def _rol(self, role: str, person: ContactPerson) -> None:
        sep = self.sep
        esc, cs = sep.escape_text, sep.component
        phones = []
        if person.phone:
            phones.append(f"{esc(person.phone)}{cs}WPN{cs}PH")
        if person.email:
            phones.append(f"{cs}NET{cs}Internet{cs}{esc(person.email)}")
        self._join(
            "ROL",
            "",
            "UC",
            self._ce(role, _ROLE_TEXT[role], LOCAL),
            cs + esc(person.name),
            "",
            "",
            "",
            "",
            cs + esc(person.role),
            "",
            "",
            sep.repetition.join(phones),
        )

    def _case(self, case: PartnerCase) -> None:
        self.cases += 1
        esc = self.sep.escape_text
        fields = ["PV1", str(self.cases), "N"] + [""] * 43
        fields[41] = esc(case.status)
        fields[44] = case.opened_on.strftime("%Y%m%d")
        fields[45] = case.closed_on.strftime("%Y%m%d") if case.closed_on else ""
        self._join(*fields)
        self._join("PV2", "", "", self._ce(case.kind, KIND_TEXT.get(case.kind, ""), LOCAL))
        self._rol(CONTACT_ROLE, case.contact)

    def _appointment(self, appointment: PartnerAppointment) -> None:
        self.appointments += 1
        n = str(self.appointments)
        cs = self.sep.component
        esc = self.sep.escape_text
        start, end = format_ts(appointment.starts_at), format_ts(appointment.ends_at)
        status = _STATUS_0278.get(appointment.status, appointment.status)
        status_ce = self._ce(status, "", "HL70278")
        who = appointment.with_whom
        self._join(
            "SCH",
            "",
            "",
            "",
            "",
            "",
            status_ce,
            "",
            "",
            "",
            "",
            f"{cs * 3}{start}{cs}{end}",
            "",
            "",
            "",
            "",
            cs + esc(who.name),
            *[""] * 8,
            status_ce,
        )
        self._join("TQ1", n, "", "", "", "", "", start, end)
        self._join("AIL", n, "", cs * 8 + esc(appointment.location or ""))
        self._join("AIP", n, "", cs + esc(who.name), cs + esc(who.role))


def read_response(er7: str) -> QueryResponse:
    """An ``RSP^K11`` read back (for clinic-side tools and tests). Raises Hl7Error."""
    msg = parse_er7(er7)
    if msg.message_type != "RSP":
        raise Hl7Error("not an RSP message", segment="MSH", code="unsupported-message")
    msa, qak = msg.require("MSA"), msg.require("QAK")
    err = msg.segment("ERR")
    partners: list[Partner] = []
    withheld: str | None = None
    if err is not None and err.value(4) == "W":
        withheld = err.value(8)
    builder: _PartnerReader | None = None
    for seg in msg.segments:
        if seg.name == "PRD":
            if builder is not None:
                partners.append(builder.done())
            builder = _PartnerReader(seg)
        elif builder is not None:
            builder.add(seg)
    if builder is not None:
        partners.append(builder.done())
    try:
        ack, status = AckCode(msa.value(1)), QueryStatus(qak.value(2))
    except ValueError:
        raise Hl7Error(
            "MSA-1 or QAK-2 holds an unknown code", segment="MSA", code="unknown-value"
        ) from None
    return QueryResponse(
        ack=ack,
        acknowledged=msa.value(2),
        status=status,
        query_tag=qak.value(1),
        result=OverviewResult(tuple(partners), withheld),
        error_code=err.value(5) if err else None,
        error_text=err.value(8) if err else None,
    )


class _PartnerReader:
    def __init__(self, prd: Segment) -> None:
        self.gln = prd.value(7, 1)
        self.name = prd.value(4, 9)
        self.sector = prd.value(1, 1)
        self.cases: list[PartnerCase] = []
        self.appointments: list[PartnerAppointment] = []
        self.coordinator: ContactPerson | None = None
        self._case: Segment | None = None
        self._kind = ""
        self._sch: list[Segment] = []

    def add(self, seg: Segment) -> None:
        if seg.name == "ROL":
            person = _person(seg)
            if seg.value(3, 1) == COORDINATOR_ROLE:
                self.coordinator = person
            elif self._case is not None:
                self.cases.append(_case(self._case, self._kind, person))
                self._case = None
        elif seg.name == "PV1":
            self._case = seg
            self._kind = ""
        elif seg.name == "PV2" and self._case is not None:
            self._kind = seg.value(3, 1)
        elif seg.name == "SCH":
            self._flush()
            self._sch = [seg]
        elif seg.name in ("TQ1", "AIL", "AIP") and self._sch:
            self._sch.append(seg)

    def _flush(self) -> None:
        if self._sch:
            self.appointments.append(_appointment(self._sch))
            self._sch = []

    def done(self) -> Partner:
        self._flush()
        return Partner(
            self.gln,
            self.name,
            self.sector,
            tuple(self.cases),
            tuple(self.appointments),
            self.coordinator,
        )


def _person(rol: Segment) -> ContactPerson:
    phone = email = None
    for rep in range(1, rol.repetition_count(12) + 1):
        if rol.value(12, 2, repetition=rep) == "NET":
            email = rol.value(12, 4, repetition=rep) or None
        else:
            phone = rol.value(12, 1, repetition=rep) or None
    return ContactPerson(rol.value(4, 2), rol.value(9, 2), phone, email)


def _day(text: str) -> date:
    return parse_ts(text, segment="PV1", what="a case's date").date()


def _case(pv1: Segment, kind: str, contact: ContactPerson) -> PartnerCase:
    closed = pv1.value(45)
    return PartnerCase(
        kind=kind,
        status=pv1.value(41),
        opened_on=_day(pv1.value(44)),
        closed_on=_day(closed) if closed else None,
        contact=contact,
    )


def _appointment(segments: list[Segment]) -> PartnerAppointment:
    by_name = {seg.name: seg for seg in segments}
    sch = by_name["SCH"]
    tq1, ail, aip = by_name.get("TQ1"), by_name.get("AIL"), by_name.get("AIP")
    start = tq1.value(7) if tq1 else sch.value(11, 4)
    end = tq1.value(8) if tq1 else sch.value(11, 5)
    status = sch.value(25, 1)
    return PartnerAppointment(
        starts_at=parse_ts(start, segment="SCH", what="an appointment's start"),
        ends_at=parse_ts(end, segment="SCH", what="an appointment's end"),
        status=_STATUS_FROM_0278.get(status.lower(), status),
        location=(ail.value(3, 9) if ail else "") or None,
        with_whom=ContactPerson(aip.value(3, 2) if aip else "", aip.value(4, 2) if aip else ""),
    )
