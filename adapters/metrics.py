"""An adapter's Prometheus text exposition (``GET /metrics`` beside ``/healthz`` and ``/status``).

Written out by hand, as the hub does (:mod:`coordinator.operations.metrics`): a handful of counters
and
gauges need no client library. What is exposed, all prefixed ``samspil_adapter_``:

==================================  =======  ==============================================
``outbox_depth``                    gauge    items not yet sent (nor refused)
``items_stored_total``              counter  items the sector system handed over, stored
``items_sent_total{kind}``          counter  items the hub took, by kind (every ItemKind)
``items_refused_total{kind}``       counter  items the hub refused for good, by kind
``retries_total``                   counter  attempts that will be tried again
``duplicates_total``                counter  hand-overs recognised as already stored
``hub_reachable``                   gauge    1 while the hub answers, 0 from a failed call
``credential_refused``              gauge    1 while the hub refuses our credential (paused)
``last_hub_contact_seconds``        gauge    Unix time of the last answer from the hub
``delivered_total{type}``           counter  inbound messages handed to the sector system
``delivery_failures_total``         counter  hand-overs that failed (tried again later)
``files_sent_total``                counter  file-drop files stored and moved to ``sent/``
``files_rejected_total``            counter  file-drop files moved to ``rejected/``
``mllp_messages_total{ack}``        counter  HL7 messages answered, by ACK code (gp, psychiatry)
``mllp_unreadable_total``           counter  frames without a readable MSH (no ACK possible)
``mllp_oversize_frames_total``      counter  frames over ``max_frame``
``mllp_open_connections``           gauge    MLLP connections open now
``events_total{outcome}``           counter  event lines accepted, duplicate or rejected
                                             (municipality)
``webhook_requests_total{status}``  counter  ``POST /events`` answers by HTTP status
``uptime_seconds``                  gauge    seconds since the adapter started
==================================  =======  ==============================================

Every sample carries the labels ``adapter`` (its kind) and ``organisation`` (its GLN). The
``kind`` label takes every value of :class:`adapters.outbox.ItemKind`, zero until counted;
which optional families appear follows from what :meth:`Adapter.health` holds (``acks``: an
MLLP listener; ``events``: an event feed), not from the adapter's kind. Label values are
escaped; nothing here holds a CPR number, a token or a message body.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from adapters.outbox import ItemKind

__all__ = ["AdapterCounters", "render"]

PREFIX = "samspil_adapter_"


@dataclass(slots=True)
class AdapterCounters:
    """What the adapter counts beyond its outbox's own statistics."""

    sent: Counter[ItemKind] = field(default_factory=Counter)
    refused: Counter[ItemKind] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    webhook: Counter[int] = field(default_factory=Counter)
    last_hub_contact: float = 0.0

    def hub_answered(self) -> None:
        self.last_hub_contact = time.time()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Writer:
    def __init__(self, labels: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.base = labels

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: Iterable[tuple[dict[str, str], float]],
    ) -> None:
        full = PREFIX + name
        self.lines.append(f"# HELP {full} {help_text}")
        self.lines.append(f"# TYPE {full} {kind}")
        for labels, value in samples:
            merged = {**self.base, **labels}
            text = ",".join(f'{k}="{_escape(v)}"' for k, v in merged.items())
            number = f"{value:.3f}" if isinstance(value, float) else str(value)
            self.lines.append(f"{full}{{{text}}} {number}")

    def one(self, name: str, kind: str, help_text: str, value: float) -> None:
        self.family(name, kind, help_text, [({}, value)])


def _by(label: str, counts: dict[Any, int], always: Iterable[str] = ()) -> list[Any]:
    keys = {str(k) for k in counts} | set(always)
    values = {str(k): v for k, v in counts.items()}
    return [({label: key}, values.get(key, 0)) for key in sorted(keys)]


def render(health: dict[str, Any], counters: AdapterCounters) -> str:
    """The Prometheus text for one adapter, from its :meth:`Adapter.health` and counters."""
    out = _Writer({"adapter": str(health["kind"]), "organisation": str(health["organisation"])})
    out.one("outbox_depth", "gauge", "Items not yet sent to the hub.", health["outbox_depth"])
    out.one("items_stored_total", "counter", "Items stored in the outbox.", health["stored"])
    kinds = [kind.value for kind in ItemKind]
    out.family(
        "items_sent_total",
        "counter",
        "Items the hub took, by kind.",
        _by("kind", counters.sent, kinds),
    )
    out.family(
        "items_refused_total",
        "counter",
        "Items the hub refused for good, by kind.",
        _by("kind", counters.refused, kinds),
    )
    out.one("retries_total", "counter", "Attempts to be tried again.", health["retries"])
    out.one("duplicates_total", "counter", "Hand-overs already stored.", health["duplicates"])
    out.one(
        "hub_reachable",
        "gauge",
        "1 while the hub answers, 0 after a failed call.",
        int(bool(health["hub_reachable"])),
    )
    out.one(
        "credential_refused",
        "gauge",
        "1 while the hub refuses our credential (401/403): sending paused, nothing dropped.",
        int(bool(health["credential_refused"])),
    )
    out.one(
        "last_hub_contact_seconds",
        "gauge",
        "Unix time of the last answer from the hub (0: none yet).",
        float(counters.last_hub_contact),
    )
    out.family(
        "delivered_total",
        "counter",
        "Inbound messages handed to the sector system, by type.",
        _by("type", counters.delivered),
    )
    out.one(
        "delivery_failures_total",
        "counter",
        "Hand-overs to the sector system that failed.",
        health["delivery_failures"],
    )
    out.one("files_sent_total", "counter", "File-drop files sent.", health["files_sent"])
    out.one(
        "files_rejected_total",
        "counter",
        "File-drop files moved to rejected/.",
        health["files_rejected"],
    )
    if "acks" in health:
        out.family(
            "mllp_messages_total",
            "counter",
            "HL7 messages answered over MLLP, by ACK code.",
            _by("ack", health["acks"], ("AA", "AE", "AR")),
        )
        out.family(
            "mllp_queries_total",
            "counter",
            "Overview queries (QBP^Q11) answered over MLLP, by QAK-2 status.",
            _by("status", health["queries"], ("OK", "NF", "AE", "AR")),
        )
        out.one(
            "mllp_unreadable_total",
            "counter",
            "MLLP frames with no readable MSH (closed, not acknowledged).",
            health["unreadable"],
        )
        out.one(
            "mllp_oversize_frames_total",
            "counter",
            "MLLP frames over the size limit.",
            health["oversize_frames"],
        )
        out.one(
            "mllp_open_connections",
            "gauge",
            "Open MLLP connections.",
            health["mllp_open_connections"],
        )
    if "events" in health:
        out.family(
            "events_total",
            "counter",
            "Event lines by outcome.",
            _by("outcome", counters.events, ("accepted", "duplicate", "rejected")),
        )
        out.family(
            "webhook_requests_total",
            "counter",
            "POST /events answers by HTTP status.",
            _by("status", counters.webhook),
        )
    out.one(
        "uptime_seconds", "gauge", "Seconds since the adapter started.", health["uptime_seconds"]
    )
    return "\n".join(out.lines) + "\n"
