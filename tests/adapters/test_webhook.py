"""The municipal case system's webhook: ``POST /events`` with JSON lines, against the real
adapter on a real port and a real hub. Lines are judged as the events folder judges them,
a 202 comes only after every accepted line is committed, a batch posted twice sends
nothing twice, and strangers and oversize bodies are turned away."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import ssl
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import trustme

from adapters.config import WebhookConfig, load_config
from adapters.errors import AdapterConfigError, AdapterError
from adapters.municipality import MunicipalityAdapter
from adapters.outbox import ItemState, OutboxSettings
from coordinator.tables import Sector
from messages.hl7.model import COPENHAGEN
from messages.hl7.samples import CHILD_CPR, PPR_GLN
from tests.adapters.conftest import MakeAdapter, RestartableHub, case_event, eventually
from tests.adapters.processes import start_adapter, stop_adapter, write_config
from tests.commands import free_port

SECRET = "kommunens-delte-hemmelighed-0123456789"  # noqa: S105 - a test secret
NDJSON = "application/x-ndjson"
CASEWORKER = "Hanne Østergaard"


def webhook(**over: Any) -> WebhookConfig:
    return WebhookConfig(token=over.pop("token", SECRET), port=0, **over)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def post(
    session: aiohttp.ClientSession,
    adapter: MunicipalityAdapter,
    body: bytes | Any,
    *,
    token: str | None = SECRET,
    content_type: str = NDJSON,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    sent = {"Content-Type": content_type, **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    url = f"http://127.0.0.1:{adapter.webhook_port}/events"
    async with session.post(url, data=body, headers=sent) as answer:
        return answer.status, await answer.json(content_type=None)


def lines(*events: dict[str, Any] | str | bytes) -> bytes:
    out = []
    for event in events:
        if isinstance(event, dict):
            out.append(json.dumps(event).encode())
        else:
            out.append(event.encode() if isinstance(event, str) else event)
    return b"\n".join(out) + b"\n"


def appointment_event(event_id: str, ref: str = "PPR-W1-A1") -> dict[str, Any]:
    soon = datetime.now(COPENHAGEN).replace(microsecond=0, second=0) + timedelta(days=3)
    return {
        "id": event_id,
        "type": "appointment",
        "ref": ref,
        "child_cpr": CHILD_CPR,
        "starts_at": soon.isoformat(),
        "ends_at": (soon + timedelta(hours=1)).isoformat(),
        "status": "booked",
        "case_ref": "PPR-W1",
        "with": {"name": CASEWORKER, "role": "psykolog"},
    }


def committed_keys(adapter: MunicipalityAdapter) -> list[str]:
    """The outbox keys as another connection to the adapter's SQLite file sees them."""
    with sqlite3.connect(adapter.config.data_dir / "adapter.sqlite") as conn:
        return [row[0] for row in conn.execute("SELECT key FROM outbox ORDER BY id")]


async def all_sent(adapter: MunicipalityAdapter) -> bool:
    items = await adapter.outbox.items()
    return bool(items) and all(i.state is ItemState.SENT for i in items)


async def municipality(make_adapter: MakeAdapter, **over: Any) -> MunicipalityAdapter:
    adapter = await make_adapter("municipality", PPR_GLN, webhook=webhook(**over))
    assert isinstance(adapter, MunicipalityAdapter)
    return adapter


async def test_posted_events_reach_the_hubs_index_and_a_repeat_sends_nothing_twice(
    make_adapter: MakeAdapter,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ppr = await municipality(make_adapter)
    batch = lines(case_event("w-1"), appointment_event("w-2"))
    status, answer = await post(session, ppr, batch)
    assert status == 202, answer
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (2, 0, 0)
    assert answer["lines"] == [
        {"line": 1, "id": "w-1", "status": "accepted"},
        {"line": 2, "id": "w-2", "status": "accepted"},
    ]
    # a 202 means committed: another connection to the adapter's file sees both
    assert await asyncio.to_thread(committed_keys, ppr) == ["event:w-1", "event:w-2"]
    await eventually(lambda: all_sent(ppr), within=30.0)
    overview = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert [c["ref"] for c in overview["own"]["cases"]] == ["PPR-W1"]
    assert [a["ref"] for a in overview["own"]["appointments"]] == ["PPR-W1-A1"]

    status, again = await post(session, ppr, batch)
    assert status == 202, again
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert [line["status"] for line in again["lines"]] == ["duplicate", "duplicate"]
    assert await asyncio.to_thread(committed_keys, ppr) == ["event:w-1", "event:w-2"]
    assert ppr.outbox.depth == 0
    assert ppr.outbox.stats.sent == 2
    overview = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert len(overview["own"]["cases"]) == len(overview["own"]["appointments"]) == 1

    # an event that came through the folder is a duplicate on the webhook, and back
    closing = case_event("w-3", status="closed")
    (ppr.events.folder / ".w3.tmp").write_text(json.dumps(closing) + "\n")
    (ppr.events.folder / ".w3.tmp").rename(ppr.events.folder / "w3.jsonl")
    await eventually(
        lambda: asyncio.to_thread((ppr.events.processed / "w3.jsonl").exists), within=30.0
    )
    status, answer = await post(session, ppr, lines(closing))
    assert (status, answer["lines"][0]["status"]) == (202, "duplicate")
    assert ppr.health()["webhook_requests"] == 3
    assert SECRET not in caplog.text
    assert CHILD_CPR not in caplog.text


async def test_each_bad_line_gets_its_code_and_the_good_lines_still_go(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession
) -> None:
    ppr = await municipality(make_adapter)
    good = case_event("ok-1", ref="PPR-9")
    batch = lines(
        good,
        "{not json",
        {**good, "id": "bad-cpr", "child_cpr": "3113164321"},
        {"id": "what", "type": "gossip"},
        {**good, "id": "no-ref", "ref": ""},
        "[1, 2]",
        b'{"id": "\xff\xfe"}',
        "",
        {"type": "case"},
        "[" * 100_000,
        {**good, "id": "ok-2", "ref": "PPR-10"},
        {**good, "id": "ok-1", "ref": "PPR-11"},  # the id was taken three lines up
    )
    status, answer = await post(session, ppr, batch)
    assert status == 202, answer
    by_line = {line["line"]: line for line in answer["lines"]}
    assert 8 not in by_line  # a blank line is no event
    assert {n: (v["status"], v.get("code")) for n, v in by_line.items()} == {
        1: ("accepted", None),
        2: ("rejected", "invalid-json"),
        3: ("rejected", "invalid-cpr"),
        4: ("rejected", "unknown-type"),
        5: ("rejected", "missing-field"),
        6: ("rejected", "not-an-object"),
        7: ("rejected", "invalid-encoding"),
        9: ("rejected", "missing-id"),
        10: ("rejected", "invalid-json"),
        11: ("accepted", None),
        12: ("duplicate", None),
    }
    assert by_line[3]["id"] == "bad-cpr"
    assert all(v["detail"] for v in by_line.values() if v["status"] == "rejected")
    assert CHILD_CPR not in json.dumps(answer)
    assert "3113164321" not in json.dumps(answer)
    assert (answer["accepted"], answer["duplicates"], answer["rejected"]) == (2, 1, 8)
    assert await asyncio.to_thread(committed_keys, ppr) == ["event:ok-1", "event:ok-2"]
    await eventually(lambda: all_sent(ppr), within=30.0)

    metrics = ppr.metrics()
    assert 'samspil_adapter_events_total{adapter="municipality",' in metrics
    assert f'organisation="{PPR_GLN}",outcome="rejected"}} 8' in metrics
    assert f'organisation="{PPR_GLN}",status="202"}} 1' in metrics


async def test_strangers_oversize_bodies_and_other_media_types_are_turned_away(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession
) -> None:
    ppr = await municipality(make_adapter, max_body=4096)
    batch = lines(case_event("s-1"))
    for token, headers in (
        (None, {}),
        ("not-the-secret-at-all-0123456789", {}),
        (SECRET[:-1], {}),
        (None, {"Authorization": f"Basic {SECRET}"}),
        (None, {"Authorization": "Bearer "}),
    ):
        status, answer = await post(session, ppr, batch, token=token, headers=headers)
        assert (status, answer["code"]) == (401, "unauthorized"), (token, headers)
        assert SECRET not in json.dumps(answer)

    big = lines(*(case_event(f"big-{n}", ref=f"PPR-{n}") for n in range(40)))
    assert len(big) > 4096
    status, answer = await post(session, ppr, big)
    assert (status, answer["code"]) == (413, "payload-too-large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
        for n in range(0, len(big), 1000):
            yield big[n : n + 1000]

    status, answer = await post(session, ppr, chunks())
    assert (status, answer["code"]) == (413, "payload-too-large")
    # an unauthenticated oversize body learns nothing but 401
    status, answer = await post(session, ppr, big, token=None)
    assert status == 401

    status, answer = await post(session, ppr, batch, content_type="application/json")
    assert (status, answer["code"]) == (415, "unsupported-media-type")
    status, answer = await post(session, ppr, b"\n \n", content_type="application/jsonl")
    assert (status, answer["code"]) == (400, "no-events")
    assert await asyncio.to_thread(committed_keys, ppr) == []

    status, answer = await post(session, ppr, batch, content_type="application/jsonl")
    assert (status, answer["accepted"]) == (202, 1)
    assert ppr.counters.webhook == {401: 6, 413: 2, 415: 1, 400: 1, 202: 1}


async def test_a_full_outbox_answers_503_and_stores_none_of_the_batch(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession
) -> None:
    adapter = await make_adapter(
        "municipality",
        PPR_GLN,
        webhook=webhook(),
        outbox=OutboxSettings(max_pending=1, base_delay=0.05, max_delay=0.3),
    )
    status, answer = await post(
        session, adapter, lines(case_event("f-1"), appointment_event("f-2"))
    )
    assert (status, answer["code"]) == (503, "outbox-full")
    assert await asyncio.to_thread(committed_keys, adapter) == []
    status, answer = await post(session, adapter, lines(case_event("f-1")))
    assert (status, answer["accepted"]) == (202, 1)


def test_the_webhook_is_configured_in_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "webhook.token").write_text(SECRET + "\n")
    base = f"""
[hub]
url = "http://127.0.0.1:1"
token = "t"
[organisation]
gln = "{PPR_GLN}"
name = "PPR"
[filedrop]
root = "medcom"
[events]
folder = "events"
"""
    path = tmp_path / "kommune.toml"
    path.write_text(base + '[webhook]\nport = 0\ntoken_file = "webhook.token"\nmax_body = 10\n')
    config = load_config("municipality", path)
    assert config.webhook is not None
    assert (config.webhook.token, config.webhook.max_body) == (SECRET, 10)
    assert SECRET not in repr(config)
    path.write_text(base + '[webhook]\ntoken = "short"\n')
    with pytest.raises(AdapterConfigError, match="16"):
        load_config("municipality", path)
    path.write_text(
        base.replace("[events]", "[mllp]\n[events]") + f'[webhook]\ntoken = "{SECRET}"\n'
    )
    with pytest.raises(AdapterConfigError, match="only a municipality"):
        load_config("gp", path)


async def test_logs_hold_no_event_content(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ppr = await municipality(make_adapter)
    status, _ = await post(session, ppr, lines(case_event("secret-event-id"), "{bad"))
    assert status == 202
    await eventually(lambda: all_sent(ppr), within=30.0)
    assert "secret-event-id" not in caplog.text
    assert "lines=2 accepted=1 duplicates=0 rejected=1" in caplog.text


async def test_the_municipality_adapter_process_serves_its_webhook_from_its_toml(
    hub: RestartableHub, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    token = await hub.org(PPR_GLN, Sector.PPR)
    (tmp_path / "webhook.token").write_text(SECRET)
    status_port, webhook_port = free_port(), free_port()
    config = write_config(
        tmp_path,
        "municipality",
        hub.url,
        token,
        f"""
[adapter]
data_dir = "state"
status_port = {status_port}
poll_wait = 1
[filedrop]
root = "medcom"
[events]
folder = "events"
[webhook]
port = {webhook_port}
token_file = "webhook.token"
""",
    )
    process = await start_adapter("municipality", config)
    base = f"http://127.0.0.1:{webhook_port}/events"
    try:
        answer: tuple[int, Any] = (0, None)
        for _ in range(300):
            try:
                async with session.post(
                    base,
                    data=lines(case_event("p-1")),
                    headers={"Content-Type": NDJSON, "Authorization": f"Bearer {SECRET}"},
                ) as response:
                    answer = (response.status, await response.json(content_type=None))
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        assert answer[0] == 202, answer
        assert answer[1]["accepted"] == 1

        async def sent() -> bool:
            async with session.get(f"http://127.0.0.1:{status_port}/status") as response:
                health = await response.json()
            return bool(health["sent"] == 1 and health["outbox_depth"] == 0)

        await eventually(sent, within=30.0)
        async with session.get(f"http://127.0.0.1:{status_port}/metrics") as response:
            metrics = await response.text()
        assert 'outcome="accepted"} 1' in metrics
        assert 'samspil_adapter_items_sent_total{adapter="municipality"' in metrics
    finally:
        err = await stop_adapter(process)
    assert process.returncode == 0, err
    assert "events webhook listening" in err
    assert SECRET not in err
    assert token not in err


async def test_the_webhook_serves_https_with_a_certificate(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert, key = tmp_path / "webhook.pem", tmp_path / "webhook.key"
    issued.cert_chain_pems[0].write_to_path(str(cert))
    issued.private_key_pem.write_to_path(str(key))
    ppr = await municipality(make_adapter, tls_cert=cert, tls_key=key)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    url = f"https://127.0.0.1:{ppr.webhook_port}/events"
    headers = {"Content-Type": NDJSON, "Authorization": f"Bearer {SECRET}"}
    async with (
        aiohttp.ClientSession() as client,
        client.post(url, data=lines(case_event("t-1")), headers=headers, ssl=trusting) as answer,
    ):
        assert answer.status == 202
        assert (await answer.json())["accepted"] == 1
    async with aiohttp.ClientSession() as client:  # a client that does not trust the CA
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.post(url, data=b"{}\n", headers=headers)
        with pytest.raises(aiohttp.ClientError):  # plain HTTP to the TLS port
            await client.post(url.replace("https", "http"), data=b"{}\n", headers=headers)
    assert await asyncio.to_thread(committed_keys, ppr) == ["event:t-1"]


async def test_a_webhook_certificate_that_cannot_be_loaded_stops_the_start(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    (tmp_path / "broken.pem").write_text("not a certificate")
    with pytest.raises(AdapterError) as failed:
        await municipality(make_adapter, tls_cert=tmp_path / "broken.pem")
    assert failed.value.code == "webhook-tls"


async def test_a_bom_before_the_first_line_is_read_as_the_folder_reads_it(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession
) -> None:
    ppr = await municipality(make_adapter)
    body = b"\xef\xbb\xbf" + lines(case_event("bom-1", ref="PPR-BOM"))
    status, answer = await post(session, ppr, body)
    assert status == 202, answer
    assert answer["lines"] == [{"line": 1, "id": "bom-1", "status": "accepted"}]
    # the same bytes as a folder file: accepted too, and a duplicate of the posted event
    (ppr.events.folder / ".bom.tmp").write_bytes(body)
    (ppr.events.folder / ".bom.tmp").rename(ppr.events.folder / "bom.jsonl")
    await eventually(
        lambda: asyncio.to_thread((ppr.events.processed / "bom.jsonl").exists), within=30.0
    )
    assert not (ppr.events.rejected / "bom.jsonl").exists()
    assert await asyncio.to_thread(committed_keys, ppr) == ["event:bom-1"]
    await eventually(lambda: all_sent(ppr), within=30.0)


async def test_an_event_the_hub_would_refuse_is_refused_on_its_own_line(
    make_adapter: MakeAdapter, session: aiohttp.ClientSession
) -> None:
    """Each case or appointment event is judged with the hub's own model and rules before
    the line is answered: ``accepted`` means the hub takes it, so a close without a date
    never leaves the case active for ever behind an ``accepted``."""
    ppr = await municipality(make_adapter)
    good = case_event("j-0", ref="PPR-J0")
    closed = case_event("x", ref="PPR-J1", status="closed")
    no_date = {k: v for k, v in closed.items() if k != "closed_on"}
    visit = {**appointment_event("x", ref="PPR-J0-A1"), "case_ref": "PPR-J0"}
    batch = lines(
        good,
        {**good, "id": "j-1", "kind": "astrology"},
        {**no_date, "id": "j-2"},
        {**good, "id": "j-3", "closed_on": good["opened_on"]},
        {**good, "id": "j-4", "opened_on": "1. marts 2026"},
        {**closed, "id": "j-5", "closed_on": "2000-01-01"},
        {**good, "id": "j-6", "ref": "PPR J6/with spaces"},
        {**visit, "id": "j-7", "starts_at": "2026-03-01T10:00:00"},
        {**visit, "id": "j-8", "ends_at": visit["starts_at"]},
        {**visit, "id": "j-9", "status": "maybe"},
        {**visit, "id": "j-10", "case_ref": "no such/ref"},
        {**visit, "id": "j-11", "ref": "PPR-J0-A1"},
    )
    status, answer = await post(session, ppr, batch)
    assert status == 202, answer
    codes = {line["id"]: (line["status"], line.get("code")) for line in answer["lines"]}
    assert codes == {
        "j-0": ("accepted", None),
        "j-1": ("rejected", "invalid-entry"),
        "j-2": ("rejected", "closed-without-date"),
        "j-3": ("rejected", "active-with-closed-date"),
        "j-4": ("rejected", "invalid-entry"),
        "j-5": ("rejected", "invalid-period"),
        "j-6": ("rejected", "invalid-ref"),
        "j-7": ("rejected", "naive-time"),
        "j-8": ("rejected", "invalid-period"),
        "j-9": ("rejected", "invalid-entry"),
        "j-10": ("rejected", "invalid-ref"),
        "j-11": ("accepted", None),
    }
    details = {line["id"]: line.get("detail", "") for line in answer["lines"]}
    assert "kind" in details["j-1"]
    assert "opened_on" in details["j-4"]
    assert CHILD_CPR not in json.dumps(answer)
    # what was accepted, the hub took: nothing refused, both entries in the index
    await eventually(lambda: all_sent(ppr), within=30.0)
    assert ppr.outbox.stats.refused == 0
    overview = await ppr.hub.overview(CHILD_CPR, on_behalf_of=CASEWORKER)
    assert [c["ref"] for c in overview["own"]["cases"]] == ["PPR-J0"]
    assert [a["ref"] for a in overview["own"]["appointments"]] == ["PPR-J0-A1"]
