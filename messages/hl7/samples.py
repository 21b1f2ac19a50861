"""Synthetic, clearly fictitious HL7 domain objects for demos, benchmarks and tests.

Nothing here is real: the CPR numbers have real dates but were made up (``1203164321`` is a
child born 12.03.2016; the 7th digit 4 puts ``16`` in the 2000s), the GLNs carry correct GS1
check digits but name no real location, and the people and places are invented.
Each ``make_*`` takes keyword overrides for any attribute.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

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
from messages.identifiers import parse_cpr

__all__ = [
    "CHILD_CPR",
    "GP_GLN",
    "HUB_GLN",
    "PPR_GLN",
    "make_appointment",
    "make_episode_event",
    "make_referral",
    "make_routing",
]

CHILD_CPR = "1203164321"
"""A fictitious child, born 12 March 2016."""
GP_GLN = "5790001234560"
"""A fictitious GP practice."""
PPR_GLN = "5790009876540"
"""A fictitious municipal PPR (pedagogical-psychological counselling) unit."""
HUB_GLN = "5790005550017"
"""A fictitious Samspil hub."""

_WHEN = datetime(2024, 3, 12, 10, 15, tzinfo=COPENHAGEN)


def make_routing(**overrides: Any) -> Routing:
    """A GP system (``LÆGESYSTEM``) sending to the Samspil hub."""
    routing = Routing("LÆGESYSTEM", GP_GLN, "SAMSPIL", HUB_GLN)
    return replace(routing, **overrides)


def make_referral(**overrides: Any) -> Referral:
    """A routine referral of a fictitious child from a GP to a PPR unit, asking for a case."""
    referral = Referral(
        referral_id="HEN-2024-000042",
        child_cpr=parse_cpr(CHILD_CPR),
        child_name=PersonName("Sørensen-Æbelø", "Ida Åse"),
        referring_gp=ReferringGp(PersonName("Hjørring", "Jens Peter"), "012345", GP_GLN),
        receiver=Organisation(PPR_GLN, "PPR Østjylland, Børn & Unge"),
        reason="Trivsel i skolen; bekymring for søvn",
        priority=ReferralPriority.ROUTINE,
        requests_case=True,
        referred_at=_WHEN,
    )
    return replace(referral, **overrides)


def make_appointment(**overrides: Any) -> Appointment:
    """A new one-hour appointment with a psychologist, belonging to a case."""
    appointment = Appointment(
        appointment_id="AFT-778899",
        event=AppointmentEvent.NEW,
        status=AppointmentStatus.BOOKED,
        child_cpr=parse_cpr(CHILD_CPR),
        child_name=PersonName("Sørensen-Æbelø", "Ida Åse"),
        start=datetime(2024, 4, 2, 9, 0, tzinfo=COPENHAGEN),
        end=datetime(2024, 4, 2, 10, 0, tzinfo=COPENHAGEN),
        location="Børne- og ungeteamet, Ågade 7, lokale 3",
        with_whom=Practitioner(PersonName("Østergaard", "Hanne"), "psykolog"),
        case_ref="SAG-2024-0117",
    )
    return replace(appointment, **overrides)


def make_episode_event(**overrides: Any) -> CareEpisodeEvent:
    """An outpatient episode in child psychiatry starting."""
    event = CareEpisodeEvent(
        kind=EpisodeEventKind.START,
        case_ref="BUP-V-55501",
        child_cpr=parse_cpr(CHILD_CPR),
        child_name=PersonName("Sørensen-Æbelø", "Ida Åse"),
        occurred_at=_WHEN,
    )
    return replace(event, **overrides)
