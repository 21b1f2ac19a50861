"""The overview query at the HL7 adapters: ``QBP^Q11`` in, the hub's overview, ``RSP^K11`` out.

A clinic or hospital system asks over the same MLLP connection as its feed (the message
layout is :mod:`messages.hl7.query`). The adapter only translates; the hub decides:

1. the query is read (:func:`~messages.hl7.query.read_query`): a malformed one is answered
   ``AE`` (``QAK-2`` ``AE``) naming the field, a version the adapter does not speak ``AR``;
2. the hub's overview is asked with the adapter's system token in the name of the person
   asking (``X-On-Behalf-Of``, from ``QPD-4``): ``GET /v1/children/{cpr}/overview``. The hub
   logs the disclosure once, naming that person, before it answers;
3. its answer becomes the ``RSP^K11``: the other organisations' entries it shows (never the
   asker's own), grouped per organisation, and the coordinator.

=============================  =========  =========  ========================================
what the hub says              ``MSA-1``  ``QAK-2``  ``ERR``
=============================  =========  =========  ========================================
an overview showing something  AA         OK         W ``consent-missing`` if sectors are
                                                     withheld
an overview showing nothing    AA         NF         the same
403 ``no-active-case``         AE         AE         E ``no-active-case`` (204): no own
                                                     active case, the same answer as for an
                                                     unknown child
another refusal (4xx)          AE         AE         E, the hub's code
the credential refused         AR         AR         E ``credential-refused``
no answer, 429, 5xx            AR         AR         E ``hub-unavailable``: ask again later
=============================  =========  =========  ========================================

A query is not a write: nothing goes to the outbox and no control id is claimed, so a query
sent again is simply answered again (and logged again by the hub). Log lines name the
outcome, never the child or the person asking.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from pydantic import ValidationError

from messages.errors import Hl7Error
from messages.hl7.ack import ACK_VERSION, ack_code_for
from messages.hl7.mapping import FALLBACK_CHARSET, decode, encode, receive
from messages.hl7.model import AckCode
from messages.hl7.parse import Hl7Message, parse_er7
from messages.hl7.query import (
    ContactPerson,
    OverviewResult,
    Partner,
    PartnerAppointment,
    PartnerCase,
    QueryStatus,
    build_response,
    read_query,
)
from wire.client import HubClient
from wire.entries import Contact
from wire.errors import CredentialRefused, HubRefused, HubUnavailable
from wire.index import Overview

__all__ = ["OverviewQueries", "is_query_frame", "result_of"]

log = logging.getLogger(__name__)

_CHARSET_ERRORS = frozenset({"undecodable", "unsupported-charset"})


def is_query_frame(payload: bytes) -> bool:
    """Whether a frame's ``MSH-9`` says ``QBP^Q11`` (read from the first line's bytes only,
    so that the feed's messages are not parsed twice)."""
    data = payload.lstrip(b"\xef\xbb\xbf \t\r\n")
    if len(data) < 8 or not data.startswith(b"MSH"):
        return False
    end = min((i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0), default=len(data))
    fs = data[3:4]
    fields = data[:end].split(fs)
    if len(fields) < 9:
        return False
    cs = fields[1][:1]
    parts = fields[8].split(cs) if cs else [fields[8]]
    return parts[0] == b"QBP" and len(parts) > 1 and parts[1] == b"Q11"


class OverviewQueries:
    """Answers the overview queries of one adapter, through its hub client."""

    def __init__(self, hub: HubClient) -> None:
        self.hub = hub
        self.answered: dict[str, int] = {status.value: 0 for status in QueryStatus}

    async def answer(self, payload: bytes) -> bytes:
        """The ``RSP^K11`` for one ``QBP^Q11`` frame (see the module docstring)."""
        try:
            msg = parse_er7(decode(payload))
        except Hl7Error:
            return self._refused(payload)
        try:
            query = read_query(msg)
        except Hl7Error as exc:
            return self._reply(msg, AckCode.ERROR, error=exc)
        try:
            overview = await self.hub.overview(query.child_cpr.digits, on_behalf_of=query.person)
            result = result_of(overview)
        except CredentialRefused:
            refused = Hl7Error(
                "the hub refuses this system's credential; ask again later",
                code="credential-refused",
            )
            return self._reply(msg, AckCode.REJECT, error=refused)
        except HubRefused as exc:
            return self._reply(msg, AckCode.ERROR, error=_refusal(exc))
        except HubUnavailable:
            unavailable = Hl7Error(
                "the hub cannot be reached now; nothing was asked: send the query again later",
                code="hub-unavailable",
            )
            return self._reply(msg, AckCode.REJECT, error=unavailable)
        except ValidationError:
            unreadable = Hl7Error(
                "the hub's answer could not be read; send the query again later",
                code="hub-unavailable",
            )
            return self._reply(msg, AckCode.REJECT, error=unreadable)
        return self._reply(msg, AckCode.ACCEPT, result=result)

    def _refused(self, payload: bytes) -> bytes:
        """The answer to a frame that is not a readable message: what the feed's reader
        (:func:`~messages.hl7.mapping.receive`) makes of it, as an ``RSP^K11`` when its
        ``MSH`` could be read (only the ``MSH``, undecodable bytes, a version not 2.x)."""
        received = receive(payload)
        msg, error = received.message, received.error
        if msg is None or error is None:  # not even an MSH: the feed's answer (an ACK AR)
            return encode(received.ack)
        if not msg.version.startswith("2."):
            msg = replace(msg, version=ACK_VERSION)
        charset = FALLBACK_CHARSET if error.code in _CHARSET_ERRORS else None
        return self._reply(msg, ack_code_for(error), error=error, charset=charset)

    def _reply(
        self,
        msg: Hl7Message,
        code: AckCode,
        *,
        result: OverviewResult | None = None,
        error: Hl7Error | None = None,
        charset: str | None = None,
    ) -> bytes:
        er7 = build_response(msg, result=result, code=code, error=error, charset=charset)
        if code is AckCode.ACCEPT:
            status = QueryStatus.OK if result is not None and result.hits else QueryStatus.NF
        else:
            status = QueryStatus.AE if code is AckCode.ERROR else QueryStatus.AR
        self.answered[status.value] += 1
        if error is not None:
            log.warning("hl7 query status=%s code=%s", status.value, error.code)
        else:
            log.info("hl7 query status=%s hits=%d", status.value, result.hits if result else 0)
        return encode(er7)


def _refusal(exc: HubRefused) -> Hl7Error:
    if exc.code == "no-active-case":
        # the same sentence whether or not the child is known anywhere (the hub's rule)
        return Hl7Error(
            "your organisation has no active case for this child: nothing can be shown",
            code="no-active-case",
            segment="QPD",
        )
    return Hl7Error(f"the hub refused the query ({exc.code}): {exc.detail}", code=exc.code)


def _contact(contact: Contact) -> ContactPerson:
    return ContactPerson(contact.name, contact.role, contact.phone, contact.email)


def result_of(answer: Any) -> OverviewResult:
    """The hub's overview (``GET /v1/children/{cpr}/overview``, read with its wire model) as
    the query answers it: the other organisations' cases and appointments, grouped per
    organisation in the order the hub lists them, and the coordinator (the asker's own
    organisation included when it is the coordinator). Raises pydantic's ValidationError
    for an answer that is not an overview."""
    overview = Overview.model_validate(answer)
    partners: dict[str, dict[str, Any]] = {}

    def group(gln: str, name: str, sector: str) -> dict[str, Any]:
        return partners.setdefault(
            gln,
            {"gln": gln, "name": name, "sector": sector, "cases": [], "appointments": []},
        )

    for case in overview.others.cases:
        group(case.organisation, case.organisation_name, case.sector.value)["cases"].append(
            PartnerCase(
                kind=case.kind.value,
                status=case.status.value,
                opened_on=case.opened_on,
                closed_on=case.closed_on,
                contact=_contact(case.contact),
            )
        )
    for appointment in overview.others.appointments:
        entry = group(
            appointment.organisation, appointment.organisation_name, appointment.sector.value
        )
        entry["appointments"].append(
            PartnerAppointment(
                starts_at=appointment.starts_at,
                ends_at=appointment.ends_at,
                status=appointment.status.value,
                location=appointment.location,
                with_whom=ContactPerson(appointment.with_.name, appointment.with_.role),
            )
        )
    coordinator = overview.coordinator
    if coordinator is not None:
        entry = group(
            coordinator.organisation, coordinator.organisation_name, coordinator.sector.value
        )
        entry["coordinator"] = _contact(coordinator.contact)
    return OverviewResult(
        partners=tuple(
            Partner(
                gln=p["gln"],
                name=p["name"],
                sector=p["sector"],
                cases=tuple(p["cases"]),
                appointments=tuple(p["appointments"]),
                coordinator=p.get("coordinator"),
            )
            for p in partners.values()
        ),
        withheld=overview.consent.detail,
    )
