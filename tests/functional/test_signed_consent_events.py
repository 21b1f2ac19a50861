"""Signed consents from a municipal case system: a consent event carrying the consent
service's document goes through the real municipal adapter to a real hub (SQLite and
PostgreSQL) that checks it against the running consent service's keys and records it as
verified, beside an attested one; a document the hub refuses lands in the events folder's
``rejected/`` with the hub's code and sentence, and one that is no document at all is
rejected on its own line."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.config import AdapterConfig, EventsConfig, FileDropConfig
from adapters.filedrop import write_atomically
from adapters.municipality import MunicipalityAdapter, refusal_file_name
from adapters.outbox import ItemState, OutboxSettings
from coordinator.tables import Sector
from samspil.consent_service.server import RunningService, running_service
from tests.functional.conftest import PPR_GLN, Client, MakeHub
from tests.functional.index_samples import cpr_aged, ok
from wire.consent_document import ConsentRequest
from wire.consent_service import sign_consent

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(tmp_path / "consent-service") as running:
        yield running


async def _signed(service: RunningService, cpr: str, name: str) -> str:
    request = ConsentRequest.model_validate(
        {"child_cpr": cpr, "given_by_name": name, "relation": "custodial-parent",
         "sectors": ["ppr", "family", "psychiatry"]}
    )  # fmt: skip
    return (await sign_consent(service.url, request)).document


async def _eventually(check: Callable[[], Awaitable[Any]], *, within: float = 30.0) -> Any:
    """``check``'s first truthy answer (a settled state), polled; fails after ``within``."""
    deadline = asyncio.get_running_loop().time() + within
    while not (result := await check()):
        assert asyncio.get_running_loop().time() < deadline, "the state did not settle in time"
        await asyncio.sleep(0.05)
    return result


@pytest.fixture
async def ppr(
    make_hub: MakeHub, service: RunningService, tmp_path: Path
) -> AsyncIterator[tuple[MunicipalityAdapter, Client]]:
    hub = await make_hub(consent_jwks=service.jwks_url)
    client = await hub.org(PPR_GLN, Sector.PPR, "PPR Aalborg")
    root = tmp_path / "ppr"
    adapter = MunicipalityAdapter(
        AdapterConfig(
            kind="municipality",
            hub_url=hub.base,
            token=client.token,
            gln=PPR_GLN,
            name="PPR Aalborg",
            data_dir=root / "state",
            filedrop=FileDropConfig(root=root / "medcom", poll_interval=0.05),
            events=EventsConfig(folder=root / "events", poll_interval=0.05),
            outbox=OutboxSettings(base_delay=0.05, max_delay=0.3),
            poll_wait=1.0,
        )
    )
    await adapter.start()
    try:
        yield adapter, client
    finally:
        await adapter.stop(grace=1.0)


async def _through(adapter: MunicipalityAdapter, name: str, *events: dict[str, Any]) -> None:
    """Write ``events`` as the case system does and wait until the file is processed and
    everything it stored is answered by the hub."""
    body = "".join(json.dumps(e) + "\n" for e in events).encode()
    folder = adapter.events.folder
    hidden = await asyncio.to_thread(write_atomically, folder, f".{name}.part", body)
    await asyncio.to_thread(hidden.rename, folder / name)
    await _eventually(lambda: asyncio.to_thread((adapter.events.processed / name).exists))
    assert await adapter.outbox.drain(30.0), "the outbox did not drain"


async def test_a_signed_consent_event_is_recorded_verified_and_a_refused_one_is_told(
    ppr: tuple[MunicipalityAdapter, Client], service: RunningService
) -> None:
    adapter, client = ppr
    child, other = cpr_aged(9), cpr_aged(11)
    document = await _signed(service, child, "Søren Madsen")
    elsewhere = await _signed(service, other, "Karen Bach")
    header, payload, signature = document.split(".")
    tampered = ".".join((header, payload, ("B" if signature[0] == "A" else "A") + signature[1:]))
    events: list[dict[str, Any]] = [
        {"id": "ev-1", "type": "case", "ref": "PPR-1", "child_cpr": child,
         "kind": "ppr-assessment", "status": "active", "opened_on": "2026-03-02"},
        {"id": "ev-2", "type": "consent", "ref": "S-1", "child_cpr": child, "document": document},
        {"id": "ev-3", "type": "consent", "ref": "S-2", "child_cpr": child,
         "given_by_name": "Mette Nielsen", "relation": "custodial-parent", "form": "written",
         "sectors": ["ppr", "family"], "valid_from": "2026-03-02T10:00:00+01:00"},
        {"id": "ev-4", "type": "consent", "ref": "S-3", "child_cpr": child,
         "document": elsewhere},
        {"id": "ev-5", "type": "consent", "ref": "S-4", "child_cpr": child,
         "document": tampered},
        {"id": "ev/6 again", "type": "consent", "ref": "S-5", "child_cpr": child,
         "document": document},
        {"id": "ev-7", "type": "consent", "ref": "S-6", "child_cpr": child,
         "document": "signed by Søren Madsen"},
    ]  # fmt: skip
    await _through(adapter, "consents.jsonl", *events)

    # the line that holds no signed document at all is rejected on its own line
    rejected = adapter.events.rejected
    reason = (rejected / "consents.jsonl.reason.txt").read_text(encoding="utf-8")
    assert "line 7: consent-document-malformed: " in reason
    assert (rejected / "consents.jsonl").read_text(encoding="utf-8") == json.dumps(events[6]) + "\n"
    assert adapter.counters.events["accepted"] == 6

    # the hub recorded the signed one as verified (who consented: the document's) and the
    # attested one as attested
    listed = (await ok(client, "GET", f"/v1/children/{child}/consents"))["consents"]
    by_kind = {c["verification"]: c for c in listed}
    assert sorted(by_kind) == ["attested", "verified"]
    assert len(listed) == 2
    assert by_kind["verified"]["given_by_name"] == "Søren Madsen"
    assert by_kind["attested"]["given_by_name"] == "Mette Nielsen"

    # each refusal: the item refused with the hub's code, and a file in rejected/ saying so
    refused = {i.key: i.code for i in await adapter.outbox.items(ItemState.REFUSED)}
    assert refused == {
        "event:ev-4": "consent-document-other-child",
        "event:ev-5": "consent-document-bad-signature",
        "event:ev/6 again": "consent-document-reused",
    }
    for event_id, line, code in (
        ("ev-4", 4, "consent-document-other-child"),
        ("ev-5", 5, "consent-document-bad-signature"),
        ("ev/6 again", 6, "consent-document-reused"),
    ):
        told = (rejected / refusal_file_name(event_id)).read_text(encoding="utf-8")
        assert told.startswith(f"event: {event_id}\ntype: consent\nfile: consents.jsonl\nat: ")
        assert f"\nline {line}: {code}: refused by the hub: " in told
        for secret in (document, elsewhere, child):  # the file tells, it does not copy
            assert secret not in told
    assert refusal_file_name("ev/6 again").startswith("refused-ev_6_again-")

    # the same events again are duplicates: nothing is sent twice, nothing new is refused
    await _through(adapter, "again.jsonl", *events[:6])
    assert adapter.counters.events["duplicate"] == 6
    assert len((await ok(client, "GET", f"/v1/children/{child}/consents"))["consents"]) == 2

    # a verified consent is revoked like any other, by its ref
    await _through(
        adapter, "revoke.jsonl",
        {"id": "ev-8", "type": "consent-revoked", "ref": "S-1", "child_cpr": child},
    )  # fmt: skip
    listed = (await ok(client, "GET", f"/v1/children/{child}/consents"))["consents"]
    revoked = [c for c in listed if c["revoked_at"] is not None]
    assert [c["verification"] for c in revoked] == ["verified"]
