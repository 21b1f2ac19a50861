"""Fixed hub answers for the SVG snapshots: shaped exactly as the real endpoints answer (the
behaviour tests check the real ones), with fixed ids and times around ``FIXED_NOW``."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

from adapters.simulation.region import pilot_region
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message
from messages.medcom.model import Party, Patient
from tests.tui.conftest import BUP, CHILD, GP, PPR

ME = {
    "name": "Pia Psykolog",
    "role": "caseworker",
    "organisation": {
        "gln": PPR,
        "name": "PPR Aalborg",
        "sector": "ppr",
        "letters_consumed_by": "people",
    },
}
OPERATOR = {
    "name": "Ole Operatør",
    "role": "operator",
    "organisation": {"gln": "5790000000005", "name": "Region Nordjylland", "sector": None},
}
DIRECTORY = [
    {"gln": GP, "name": "Lægehuset Vestbyen", "sector": "gp", "municipality": None},
    {"gln": PPR, "name": "PPR Aalborg", "sector": "ppr", "municipality": "851"},
    {"gln": BUP, "name": "Børne- og Ungdomspsyk.", "sector": "psychiatry", "municipality": None},
]


def _case(org: str, name: str, sector: str, kind: str, status: str, person: str, phone: str) -> Any:
    return {
        "organisation": org,
        "organisation_name": name,
        "sector": sector,
        "kind": kind,
        "status": status,
        "opened_on": "2026-09-01" if status == "active" else "2026-05-02",
        "closed_on": None if status == "active" else "2026-08-12",
        "contact": {"name": person, "role": "behandler", "phone": phone, "email": None},
    }


def _appointment(org: str, name: str, sector: str, starts: str, role: str) -> Any:
    return {
        "organisation": org,
        "organisation_name": name,
        "sector": sector,
        "starts_at": starts,
        "ends_at": starts.replace(":00:00", ":45:00"),
        "status": "booked",
        "location": None,
        "with": {"name": "—", "role": role},
    }


OVERVIEW = {
    "own": {
        "cases": [
            _case(
                PPR, "PPR Aalborg", "ppr", "ppr-assessment", "active", "Pia Psykolog", "99 99 99 99"
            )
        ],
        "appointments": [
            _appointment(PPR, "PPR Aalborg", "ppr", "2026-12-04T12:00:00Z", "testning")
        ],
    },
    "others": {
        "cases": [
            _case(
                BUP,
                "Børne- og Ungdomspsyk.",
                "psychiatry",
                "psychiatric-assessment",
                "active",
                "Bo Overlæge",
                "88 88 88 88",
            ),
            _case(GP, "Lægehuset Vestbyen", "gp", "gp-follow-up", "closed", "Lise Læge", ""),
        ],
        "appointments": [
            _appointment(
                BUP,
                "Børne- og Ungdomspsyk.",
                "psychiatry",
                "2026-12-03T08:00:00Z",
                "samtale, overlæge",
            )
        ],
    },
    "coordinator": {
        "organisation": PPR,
        "organisation_name": "PPR Aalborg",
        "sector": "ppr",
        "contact": {"name": "Pia Psykolog", "role": "psykolog", "phone": None, "email": None},
    },
    "consent": {
        "state": "partial",
        "age": 10,
        "rule": "under-15",
        "sectors": {
            "ppr": "shared",
            "family": "no-consent",
            "psychiatry": "shared",
            "gp": "verified-consent-needed",
        },
        "opened_by": [
            {
                "id": "c0000000-0000-4000-8000-000000000003",
                "relation": "custodial-parent",
                "verification": "verified",
                "valid_until": "2027-06-30T21:59:00Z",
                "sectors": ["ppr", "psychiatry"],
                "recorded_by_you": False,
            }
        ],
        "would_open": {
            relation: {
                "ppr": "shared",
                "family": "shared",
                "psychiatry": "verified-consent-needed",
                "gp": "verified-consent-needed",
            }
            for relation in ("custodial-parent", "guardian")
        },
    },
    "hints": [{"code": "appointments-within-48h", "sectors": ["psychiatry", "ppr"]}],
    "disclosed": [BUP, GP],
}
ACCESS_LOG = [
    {
        "at": f"2026-12-0{d}T10:00:00Z",
        "organisation": BUP,
        "organisation_name": "Børne- og Ungdomspsyk.",
        "person": "Bo Overlæge",
        "on_behalf_of": False,
        "disclosed": [{"organisation": PPR, "name": "PPR Aalborg"}],
    }
    for d in (1, 2)
] + [
    {
        "at": "2026-12-02T09:00:00Z",
        "organisation": GP,
        "organisation_name": "Lægehuset Vestbyen",
        "person": "Lise Læge",
        "on_behalf_of": True,
        "disclosed": [{"organisation": PPR, "name": "PPR Aalborg"}],
    }
]
EPISODE = "3f2b8c4e9d0a4b1c8e7f6a5b4c3d2e1f"


def _received(
    n: int,
    sender: str,
    at: str,
    subject: str | None,
    *,
    kind: str = "XDIS91",
    episode: str | None = None,
    unread: bool = True,
    suggested: bool = False,
    in_reply_to: str | None = None,
) -> Any:
    return {
        "id": f"7f3a0000-0000-4000-8000-00000000000{n}",
        "type": kind,
        "sender": sender,
        "received_at": at,
        "size": 3120,
        "status": "accepted" if unread else "downloaded",
        "letter_id": f"R{n}",
        "episode_id": episode,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "suggested_case": suggested,
    }


INBOX = [
    _received(1, GP, "2026-12-02T13:05:00Z", "Henvisning: Mads J.", episode=EPISODE),
    _received(2, BUP, "2026-12-02T12:40:00Z", "Svar på status", episode="9" * 32, in_reply_to="L4"),
    _received(3, GP, "2026-12-02T10:02:00Z", None, kind="XCTL03", unread=False),
    _received(
        4,
        GP,
        "2026-12-01T08:15:00Z",
        "Forhåndsorientering: Mads J.",
        episode=EPISODE,
        unread=False,
    ),
    _received(
        5, GP, "2026-12-02T11:30:00Z", "Henvisning: Sofie L.", episode="5" * 32, suggested=True
    ),
]


def _sent(n: int, receiver: str, status: str, at: str, subject: str, overdue: bool = False) -> Any:
    return {
        "id": f"9b1c0000-0000-4000-8000-00000000000{n}",
        "type": "XDIS91",
        "receiver": receiver,
        "envelope_id": f"E{n}",
        "letter_id": f"L{n}",
        "status": status,
        "received_at": at,
        "updated_at": at,
        "size": 3000,
        "resend": False,
        "overdue": overdue,
        "receipt_id": None,
        "subject": subject,
    }


OUTBOX = [
    _sent(1, BUP, "downloaded", "2026-12-02T13:20:00Z", "Sv: Svar på status"),
    _sent(2, GP, "receipted", "2026-12-02T09:10:00Z", "Sv: Henvisning: Mads J."),
    _sent(3, GP, "accepted", "2026-12-02T09:00:00Z", "Status på testning", overdue=True),
    _sent(4, BUP, "rejected", "2026-12-01T15:00:00Z", "Forespørgsel om samarbejde"),
]


def _consent(n: int, **fields: Any) -> dict[str, Any]:
    """A consent as GET /v1/children/{cpr}/consents lists it."""
    return {
        "id": f"c0000000-0000-4000-8000-00000000000{n}",
        "organisations": [],
        "verification": "attested",
        "valid_from": "2026-11-03T09:00:00Z",
        "valid_until": None,
        "revoked_at": None,
        "recorded_at": "2026-11-03T09:00:00Z",
        "recorded_by_you": True,
        "recorded_by_org": PPR,
        "recorded_by": "Pia Psykolog",
        "active": True,
        "disputes": [],
        **fields,
    }


CONSENTS = [
    _consent(  # signed through the consent service: opens psychiatry's entries to PPR
        3,
        given_by_name="Henrik Jensen",
        relation="custodial-parent",
        sectors=["ppr", "psychiatry"],
        form="digital",
        verification="verified",
        valid_from="2026-11-20T10:00:00Z",
        valid_until="2027-06-30T21:59:00Z",
        recorded_at="2026-11-20T10:00:00Z",
        recorded_by_you=False,
        recorded_by_org=BUP,
        recorded_by="Bo Overlæge",
        opens={"ppr": "shared", "psychiatry": "shared"},
    ),
    _consent(  # attested at PPR: by the hub's policy it does not open health data
        1,
        given_by_name="Mette Jensen",
        relation="custodial-parent",
        sectors=["ppr", "psychiatry", "gp"],
        form="written",
        valid_until="2027-05-31T21:59:00Z",
        opens={
            "ppr": "shared",
            "psychiatry": "verified-consent-needed",
            "gp": "verified-consent-needed",
        },
        disputes=[
            {
                "organisation": GP,
                "organisation_name": "Lægehuset Vestbyen",
                "person": "Lise Læge",
                "reason": "faderen har også forældremyndighed",
                "at": "2026-11-05T08:00:00Z",
            }
        ],
    ),
    _consent(
        2,
        given_by_name="Henrik Jensen",
        relation="custodial-parent",
        sectors=["ppr", "family"],
        form="oral",
        valid_from="2026-06-10T09:00:00Z",
        revoked_at="2026-10-01T08:15:00Z",
        recorded_at="2026-06-10T09:00:00Z",
        active=False,
        opens={"ppr": "no-consent", "family": "no-consent"},
    ),
]
NOTIFICATIONS = [
    {  # the child psychiatry opened its first case for the child: PPR was told
        "at": "2026-12-01T08:30:00Z",
        "child_cpr": CHILD,
        "kind": "new-partner",
        "about": {"organisation": BUP, "name": "Børne- og Ungdomspsyk.", "sector": "psychiatry"},
        "consent_id": None,
        "contact": {
            "name": "Bo Overlæge",
            "role": "overlæge",
            "phone": "88 88 88 88",
            "email": None,
        },
        "detail": None,
    },
    {
        "at": "2026-12-02T10:00:00Z",
        "child_cpr": CHILD,
        "kind": "overview",
        "viewer": {
            "organisation": BUP,
            "name": "Børne- og Ungdomspsyk.",
            "sector": "psychiatry",
            "person": "Bo Overlæge",
            "on_behalf_of": False,
            "operator": False,
        },
    },
    {
        "at": "2026-12-02T09:00:00Z",
        "child_cpr": CHILD,
        "kind": "overview",
        "viewer": {
            "organisation": GP,
            "name": "Lægehuset Vestbyen",
            "sector": "gp",
            "person": "Lise Læge",
            "on_behalf_of": True,
            "operator": False,
        },
    },
]
LETTER_ID = INBOX[0]["id"]


@cache
def letter_xml() -> bytes:
    """The GP's referral in the inbox (its envelope ids vary; the screen shows none)."""
    letter = new_correspondence(
        sender=Party(GP, GP, "lokationsnummer", organisation_name="Lægehuset Vestbyen"),
        receiver=Party(PPR, PPR, "lokationsnummer", organisation_name="PPR Aalborg"),
        patient=Patient(cpr=CHILD, surname="Jensen", given_name="Mads"),
        subject="Henvisning: Mads J.",
        text=(
            "Kære PPR\n"
            "Mads har i en periode haft det svært i skolen og sover dårligt.\n"
            "Forældrene ønsker en PPR-vurdering; samtykke er givet.\n\n"
            "Venlig hilsen\nLise Læge"
        ),
        ask_for_receipt=True,
        episode_of_care_identifier=EPISODE,
        now=datetime.fromisoformat("2026-12-02T13:04:00+00:00"),
    )
    return build_message(letter)


LETTER_STATUS = {
    "id": LETTER_ID,
    "type": "XDIS91",
    "status": "downloaded",
    "events": [
        {"status": "accepted", "at": "2026-12-02T13:05:00Z"},
        {"status": "downloaded", "at": "2026-12-02T13:31:00Z"},
    ],
    "receipt_id": None,
    "resend": False,
    "overdue": False,
}


def _filed(
    n: int,
    direction: str,
    other: str,
    at: str,
    subject: str | None,
    status: str,
    *,
    in_inbox: bool = False,
    removed_at: str | None = None,
) -> Any:
    """One letter of the archive (``POST /v1/letters/search``)."""
    incoming = direction == "incoming"
    return {
        "id": f"5a2e0000-0000-4000-8000-0000000000{n:02d}",
        "type": "XDIS91",
        "direction": direction,
        "sender": other if incoming else PPR,
        "receiver": PPR if incoming else other,
        "letter_id": f"A{n}",
        "episode_id": None,
        "subject": subject,
        "in_reply_to": None,
        "status": status,
        "in_inbox": in_inbox,
        "overdue": False,
        "receipt_id": None,
        "received_at": at,
        "updated_at": at,
        "removed_at": removed_at,
    }


ARCHIVE = {
    "letters_consumed_by": "system",  # PPR's case system takes the letters in: read-only here
    "letters": [
        _filed(
            1,
            "incoming",
            GP,
            "2026-12-02T13:05:00Z",
            "Henvisning: Mads J.",
            "accepted",
            in_inbox=True,
        ),
        _filed(2, "sent", BUP, "2026-12-02T09:10:00Z", "Status på Mads J.", "receipted"),
        _filed(3, "incoming", BUP, "2026-11-28T14:00:00Z", "Svar på status", "acknowledged"),
        _filed(4, "sent", GP, "2026-11-20T08:00:00Z", "Sv: Skolevægring", "rejected"),
        _filed(
            5,
            "incoming",
            GP,
            "2026-09-01T10:00:00Z",
            None,
            "receipted",
            removed_at="2026-11-30T02:00:00Z",
        ),
    ],
    "next": "MjAyNi0wOS0wMVQxMDowMDowMCswMDowMHw1YTJlMDAwMA",
}


def caseworker_routes() -> dict[tuple[str, str], Any]:
    return {
        ("GET", f"/v1/children/{CHILD}/consents"): {"consents": CONSENTS},
        ("GET", "/v1/access-notifications"): {"notifications": NOTIFICATIONS},
        ("GET", f"/v1/messages/{LETTER_ID}"): letter_xml(),
        ("GET", f"/v1/messages/{LETTER_ID}/status"): LETTER_STATUS,
        ("GET", "/healthz"): {"status": "ok"},
        ("GET", "/v1/whoami"): ME,
        ("GET", "/v1/organisations"): {"organisations": DIRECTORY},
        ("GET", f"/v1/children/{CHILD}/overview"): OVERVIEW,
        ("GET", f"/v1/children/{CHILD}/access-log"): {"entries": ACCESS_LOG},
        ("GET", "/v1/inbox"): {"messages": INBOX},
        ("GET", "/v1/outbox"): {"messages": OUTBOX},
        ("POST", "/v1/letters/search"): ARCHIVE,
    }


def _queued(
    n: int, message_id: str, sender: str, at: str, *, ack: bool, overdue: bool, size: int
) -> dict[str, Any]:
    """A message as the operator's queue and trail list it."""
    return {
        "id": message_id,
        "type": "XDIS91",
        "sender": sender,
        "receiver": GP,
        "envelope_id": f"E{n}",
        "letter_id": f"L{n}",
        "episode_id": None,
        "ack_requested": ack,
        "status": "accepted",
        "in_inbox": True,
        "resend": False,
        "resend_of": None,
        "original_id": None,
        "receipt_id": None,
        "overdue": overdue,
        "size": size,
        "received_at": at,
        "updated_at": at,
    }


QUEUED = [
    _queued(
        1,
        "7f3a5c1e-0000-4000-8000-000000000001",
        PPR,
        "2026-12-02T12:02:00Z",
        ack=True,
        overdue=True,
        size=3000,
    ),
    _queued(
        2,
        "81d0aa00-0000-4000-8000-000000000002",
        BUP,
        "2026-12-02T12:40:00Z",
        ack=False,
        overdue=False,
        size=2100,
    ),
]
TRAIL = {
    **QUEUED[0],
    "events": [
        {"status": "accepted", "at": "2026-12-02T12:02:00.412Z"},
    ],
}
THROUGHPUT = [3, 5, 8, 12, 20, 31, 40, 44, 38, 30, 22, 14, 9, 7, 9, 13, 21, 30, 37, 41]


def _rate(org: str, name: str, kind: str, today: int, usual: float) -> dict[str, Any]:
    return {
        "organisation": org,
        "name": name,
        "kind": kind,
        "today": today,
        "usual": usual,
        "flagged": today >= 10 and today > 3 * usual,  # the hub's default rule
    }


def monitor_routes(*, stolen_token: bool = False) -> dict[tuple[str, str], Any]:
    """The monitor's answers; ``stolen_token``: PPR registers far more children today than
    usual and attests consents it never attests (the summary flags both)."""
    total = (THROUGHPUT * 3)[:60]
    rates = [
        _rate(BUP, "Børne- og Ungdomspsyk.", "new-children", 2, 1.5),
        _rate(PPR, "PPR Aalborg", "attested-consents", 14 if stolen_token else 1, 0.5),
        _rate(PPR, "PPR Aalborg", "new-children", 41 if stolen_token else 3, 2.36),
    ]
    return {
        ("GET", "/healthz"): {"status": "ok"},
        ("GET", "/v1/whoami"): OPERATOR,
        ("GET", "/v1/organisations"): {"organisations": DIRECTORY},
        ("GET", "/v1/operator/summary"): {
            "by_status": {
                "accepted": 361,
                "downloaded": 40,
                "acknowledged": 12,
                "receipted": 9870,
                "rejected": 12,
                "expired": 0,
            },
            "organisations": [],
            "overdue_receipts": 3,
            "expired": 0,
            "errors": {},
            "processes": [
                {
                    "host": "samspil-1",
                    "pid": 4711,
                    "version": "0.1.0",
                    "started_at": "2026-12-01T13:32:00Z",
                    "seen_at": "2026-12-02T13:31:55Z",
                },
                {
                    "host": "samspil-2",
                    "pid": 5222,
                    "version": "0.1.0",
                    "started_at": "2026-12-01T13:33:10Z",
                    "seen_at": "2026-12-02T13:31:58Z",
                },
            ],
            "stale_processes": 0,
            "index_rates": rates,
            "region": "Region Nordjylland",
        },
        ("GET", "/v1/operator/throughput"): {
            "until": "2026-12-02T13:32:00Z",
            "minutes": 60,
            "by_type": {"XDIS91": total},
            "total": total,
        },
        ("GET", "/v1/operator/health"): {
            "database": {"ok": True, "latency_ms": 0.4},
            "disk_used_percent": 41.0,
            "uptime_seconds": 86400.0,
            "submit_p99_ms": 10.0,
            "responses": 1000,
            "server_errors": 1,
            "error_rate_percent": 0.1,
        },
        ("GET", "/v1/operator/organisations"): {
            "organisations": [
                {
                    "gln": PPR,
                    "name": "PPR Aalborg",
                    "sector": "ppr",
                    "inbox_depth": 2,
                    "oldest_waiting": "2026-12-02T13:20:00Z",
                    "last_poll": "2026-12-02T13:31:56Z",
                    "token_disabled": False,
                    "format": "oioxml",
                },
                {
                    "gln": BUP,
                    "name": "Børne- og Ungdomspsyk.",
                    "sector": "psychiatry",
                    "inbox_depth": 0,
                    "oldest_waiting": None,
                    "last_poll": "2026-12-02T13:31:58Z",
                    "token_disabled": False,
                    "format": "fhir",
                },
                {
                    "gln": GP,
                    "name": "Lægehuset Vestbyen",
                    "sector": "gp",
                    "inbox_depth": 14,
                    "oldest_waiting": "2026-12-02T10:20:00Z",
                    "last_poll": "2026-12-02T10:20:00Z",
                    "token_disabled": False,
                    "format": "oioxml",
                },
            ]
        },
        ("GET", f"/v1/operator/messages/{TRAIL['id']}"): TRAIL,
        ("GET", f"/v1/operator/organisations/{GP}/queue"): {
            "organisation": GP,
            "messages": QUEUED,
        },
    }


def region_organisations() -> list[dict[str, Any]]:
    """The pilot region's 26 organisations as the monitor reads them: inboxes and last polls
    vary by position (every seventh system silent for hours, the last never polled)."""
    states = []
    for n, org in enumerate(pilot_region()):
        if n == 25:
            poll = None
        elif n % 7 == 3:
            poll = f"2026-12-02T10:{n:02d}:00Z"  # hours ago: stale
        else:
            poll = f"2026-12-02T13:31:{n * 2:02d}Z"
        states.append(
            {
                "gln": org.gln,
                "name": org.name,
                "sector": org.kind.value,
                "inbox_depth": (n * 5) % 17,
                "oldest_waiting": None,
                "last_poll": poll,
                "token_disabled": False,
                "format": "fhir" if n % 4 == 1 else "oioxml",  # the region is moving to FHIR
            }
        )
    return states


def region_routes() -> dict[tuple[str, str], Any]:
    """The monitor's answers for the whole pilot region: 26 organisations, every queue
    empty."""
    routes = monitor_routes()
    organisations = region_organisations()
    routes[("GET", "/v1/operator/organisations")] = {"organisations": organisations}
    routes[("GET", "/v1/organisations")] = {
        "organisations": [
            {"gln": o["gln"], "name": o["name"], "sector": o["sector"], "municipality": None}
            for o in organisations
        ]
    }
    for o in organisations:
        routes[("GET", f"/v1/operator/organisations/{o['gln']}/queue")] = {
            "organisation": o["gln"],
            "messages": [],
        }
    return routes
