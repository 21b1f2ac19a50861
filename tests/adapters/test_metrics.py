"""Each adapter's ``GET /metrics``: Prometheus text beside ``/healthz`` and ``/status``,
read over HTTP from real adapters talking to a real hub — MLLP messages by ACK code, items
sent and refused by kind, messages handed over by type, rejected files, retries and the
hub's reachability while it is away and after it is back."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import aiohttp

from adapters.filedrop import write_atomically
from adapters.metrics import AdapterCounters, render
from adapters.outbox import ItemKind
from messages.hl7.build import build_episode_event, build_referral
from messages.hl7.model import Organisation
from messages.hl7.samples import (
    CHILD_CPR,
    GP_GLN,
    PPR_GLN,
    make_episode_event,
    make_referral,
    make_routing,
)
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually, gln, mllp_send

SAMPLE = re.compile(r'^(samspil_adapter_[a-z_]+)\{((?:[a-z_]+="[^"\\]*",?)*)\} (-?[0-9.]+)$')

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(port: int) -> tuple[str, Samples]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/metrics") as answer,
    ):
        assert answer.status == 200
        assert answer.content_type == "text/plain"
        text = await answer.text()
    samples: Samples = {}
    families: dict[str, set[str]] = {}
    for line in text.splitlines():
        if line.startswith("# "):
            marker, name = line.split(" ", 3)[1:3]
            families.setdefault(name, set()).add(marker)
            continue
        match = SAMPLE.match(line)
        assert match is not None, f"not a Prometheus sample: {line!r}"
        name, raw_labels, value = match.groups()
        assert families.get(name) == {"HELP", "TYPE"}, f"{name} has no HELP and TYPE before it"
        labels = frozenset(
            tuple(p.split("=", 1)) for p in re.findall(r'[a-z_]+="[^"]*"', raw_labels)
        )
        samples[(name, frozenset((k, v.strip('"')) for k, v in labels))] = float(value)
    return text, samples


def value(samples: Samples, name: str, default: float | None = None, **labels: str) -> float:
    for (found, found_labels), number in samples.items():
        if found == f"samspil_adapter_{name}" and set(labels.items()) <= set(found_labels):
            return number
    if default is not None:  # a counter by label has no sample before its first count
        return default
    raise AssertionError(f"no sample {name} {labels}")


async def test_adapters_expose_what_they_did_as_prometheus_text(
    make_adapter: MakeAdapter, hub: RestartableHub
) -> None:
    started = time.time()
    gp = await make_adapter("gp", GP_GLN, status_port=0)
    ppr = await make_adapter("municipality", PPR_GLN, status_port=0)
    assert gp.status_port
    assert ppr.status_port

    _, fresh = await scrape(gp.status_port)
    assert value(fresh, "mllp_messages_total", ack="AA") == 0
    # 0 until the first answer from the hub, then the Unix time of the latest one
    first_contact = value(fresh, "last_hub_contact_seconds")
    assert first_contact == 0 or started <= first_contact <= time.time()
    assert value(fresh, "outbox_depth", adapter="gp", organisation=GP_GLN) == 0

    ack = await mllp_send(gp.mllp_port, build_referral(make_referral(), make_routing()))
    assert str(ack.segment("MSA")[1]) == "AA"
    bad = build_referral(make_referral(), make_routing(), control_id="BAD").replace(
        CHILD_CPR, "3113164321"
    )
    assert str((await mllp_send(gp.mllp_port, bad)).segment("MSA")[1]) == "AE"
    stranger = make_referral(receiver=Organisation(gln(9_999), "Ukendt PPR"))
    ack = await mllp_send(gp.mllp_port, build_referral(stranger, make_routing(), control_id="U"))
    assert str(ack.segment("MSA")[1]) == "AE"
    assert gp.filedrop.config is not None
    write_atomically(gp.filedrop.config.outbox, "broken.xml", b"<Emessage><unclosed>")

    async def settled() -> Samples | None:
        _, gp_now = await scrape(gp.status_port or 0)
        done = (
            value(gp_now, "files_rejected_total") == 1
            and value(gp_now, "delivered_total", 0, type="XCTL03") == 1
            and value(gp_now, "outbox_depth") == 0
        )
        return gp_now if done else None

    gp_now: Samples = await eventually(settled, within=30.0)
    assert value(gp_now, "mllp_messages_total", ack="AA") == 1
    assert value(gp_now, "mllp_messages_total", ack="AE") == 2
    assert value(gp_now, "mllp_messages_total", ack="AR") == 0
    assert value(gp_now, "mllp_unreadable_total") == 0

    # every sender above closed its connection; one left open is counted
    async def open_connections(n: int) -> bool:
        _, now = await scrape(gp.status_port or 0)
        return value(now, "mllp_open_connections") == n

    await eventually(lambda: open_connections(0))
    _, held = await asyncio.open_connection("127.0.0.1", gp.mllp_port)
    try:
        await eventually(lambda: open_connections(1))
    finally:
        held.close()
        await held.wait_closed()
    await eventually(lambda: open_connections(0))
    assert value(gp_now, "items_sent_total", kind="message") == 1
    assert value(gp_now, "items_refused_total", kind="message") == 1
    assert value(gp_now, "hub_reachable") == 1
    assert started <= value(gp_now, "last_hub_contact_seconds") <= time.time()
    ppr_text, ppr_now = await scrape(ppr.status_port)
    assert value(ppr_now, "delivered_total", type="XDIS91") == 1
    assert value(ppr_now, "items_sent_total", kind="message") == 1  # its XCTL03 receipt
    assert value(ppr_now, "events_total", outcome="rejected") == 0
    assert "mllp_messages_total" not in ppr_text
    assert CHILD_CPR not in ppr_text

    # the hub goes away: the clinic's new follow-up is stored, retried, and counted so
    cases_before = value(gp_now, "items_sent_total", 0, kind="case")
    await hub.stop()
    ack = await mllp_send(
        gp.mllp_port,
        build_episode_event(make_episode_event(case_ref="GP-9"), make_routing(), control_id="E"),
    )
    assert str(ack.segment("MSA")[1]) == "AA"

    async def waiting() -> Samples | None:
        _, now = await scrape(gp.status_port or 0)
        away = value(now, "hub_reachable") == 0 and value(now, "retries_total") > 0
        return now if away and value(now, "outbox_depth") == 1 else None

    away: Samples = await eventually(waiting, within=30.0)
    assert value(away, "mllp_messages_total", ack="AA") == 2
    await hub.start()

    async def back() -> Any:
        _, now = await scrape(gp.status_port or 0)
        return value(now, "outbox_depth") == 0 and value(now, "hub_reachable") == 1

    await eventually(back, within=30.0)
    _, after = await scrape(gp.status_port)
    assert value(after, "items_sent_total", kind="case") == cases_before + 1
    assert value(after, "last_hub_contact_seconds") >= value(gp_now, "last_hub_contact_seconds")


def _health() -> dict[str, Any]:
    return {
        "kind": "municipality",
        "organisation": PPR_GLN,
        "outbox_depth": 3,
        "stored": 5,
        "retries": 1,
        "duplicates": 0,
        "hub_reachable": False,
        "credential_refused": False,
        "delivery_failures": 0,
        "files_sent": 0,
        "files_rejected": 0,
        "uptime_seconds": 1.5,
    }


def test_label_values_are_escaped_and_every_family_is_declared() -> None:
    counters = AdapterCounters()
    counters.delivered['odd"type\\with\nnewline'] += 2
    text = render(_health(), counters)
    assert 'type="odd\\"type\\\\with\\nnewline"} 2' in text
    assert (
        f'samspil_adapter_hub_reachable{{adapter="municipality",organisation="{PPR_GLN}"}} 0'
        in text
    )
    assert "mllp" not in text  # a municipality has no MLLP listener
    declared = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    used = {line.split("{")[0] for line in text.splitlines() if not line.startswith("#")}
    assert used <= declared


def test_every_item_kind_is_exposed_and_families_follow_what_health_holds() -> None:
    counters = AdapterCounters()
    counters.sent[ItemKind.CONSENT] += 3
    counters.refused[ItemKind.CONSENT_REVOKE] += 1
    base = f'adapter="municipality",organisation="{PPR_GLN}"'
    text = render(_health(), counters)
    for kind in ItemKind:
        sent = 3 if kind is ItemKind.CONSENT else 0
        refused = 1 if kind is ItemKind.CONSENT_REVOKE else 0
        assert f'samspil_adapter_items_sent_total{{{base},kind="{kind}"}} {sent}' in text
        assert f'samspil_adapter_items_refused_total{{{base},kind="{kind}"}} {refused}' in text
    assert "events_total" not in text  # no event feed in this health: no family for it
    with_events = render({**_health(), "events": 0}, counters)
    assert f'samspil_adapter_events_total{{{base},outcome="rejected"}} 0' in with_events
