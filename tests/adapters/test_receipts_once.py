"""One positive receipt per letter from a MedCom-capable EHR behind the psychiatry adapter:
``[filedrop] receipts = "system"`` leaves the XCTL03 to the EHR, and should both send one,
the hub keeps the first and the adapter takes the refusal of the second quietly."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from adapters.base import Adapter
from adapters.config import FileDropConfig, ReceiptsBy, load_config
from adapters.errors import AdapterConfigError
from adapters.filedrop import write_atomically
from adapters.outbox import ItemState
from messages.hl7.samples import GP_GLN
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import Correspondence
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import BUP_GLN, MakeAdapter, eventually
from tests.adapters.test_filedrop import letter_bytes

REGISTRY = SchemaRegistry()


async def _letter_delivered(gp: Adapter, psychiatry: Adapter) -> tuple[str, Path]:
    """The GP sends a letter asking for a receipt; its id and the file the EHR got."""
    sent = await gp.hub.submit(letter_bytes(GP_GLN, BUP_GLN, ask=True))
    delivered = psychiatry.filedrop.config.inbox / f"XDIS91_{sent['id']}.xml"
    await eventually(lambda: asyncio.to_thread(delivered.exists))

    async def acknowledged() -> bool:
        state = await gp.hub.status(sent["id"])
        return bool(state["status"] in ("acknowledged", "receipted"))

    await eventually(acknowledged)
    return sent["id"], delivered


def _ehr_receipts(psychiatry: Adapter, delivered: Path, name: str) -> None:
    """The EHR's MedCom module writes its own XCTL03 into the file drop."""
    letter = parse_message(delivered.read_bytes(), registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    write_atomically(psychiatry.filedrop.config.outbox, name, build_message(receipt_for(letter)))


async def _receipts_at_the_gp(gp: Adapter) -> list[Path]:
    return await asyncio.to_thread(lambda: sorted(gp.filedrop.config.inbox.glob("XCTL03_*")))


async def test_with_receipts_by_the_system_the_ehr_sends_the_only_receipt(
    make_adapter: MakeAdapter, tmp_path: Path
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    psychiatry = await make_adapter(
        "psychiatry",
        BUP_GLN,
        filedrop=FileDropConfig(
            root=tmp_path / "ehr-medcom", poll_interval=0.05, receipts=ReceiptsBy.SYSTEM
        ),
    )
    letter_id, delivered = await _letter_delivered(gp, psychiatry)
    assert (await gp.hub.status(letter_id))["status"] == "acknowledged"
    assert [i for i in await psychiatry.outbox.items() if i.kind == "message"] == []

    _ehr_receipts(psychiatry, delivered, "kvittering.xml")

    async def receipted() -> str | None:
        state = await gp.hub.status(letter_id)
        return str(state["receipt_id"]) if state["status"] == "receipted" else None

    receipt_id = await eventually(receipted)
    [at_the_gp] = await eventually(lambda: _receipts_at_the_gp(gp))
    assert at_the_gp.name == f"XCTL03_{receipt_id}.xml"
    [item] = [i for i in await psychiatry.outbox.items() if i.kind == "message"]
    assert item.state is ItemState.SENT  # the EHR's file, not one of the adapter's


async def test_a_second_receipt_from_the_ehr_is_refused_quietly_and_the_first_stays(
    make_adapter: MakeAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    gp = await make_adapter("gp", GP_GLN)
    psychiatry = await make_adapter("psychiatry", BUP_GLN)  # receipts = "adapter", the default

    letter_id, delivered = await _letter_delivered(gp, psychiatry)

    async def receipted() -> str | None:
        state = await gp.hub.status(letter_id)
        return str(state["receipt_id"]) if state["status"] == "receipted" else None

    first = await eventually(receipted)  # the adapter's XCTL03
    _ehr_receipts(psychiatry, delivered, "kvittering.xml")  # and the EHR's own

    async def refused() -> list[str | None]:
        items = await psychiatry.outbox.items(ItemState.REFUSED)
        return [i.code for i in items]

    assert await eventually(refused) == ["already-receipted"]
    assert (psychiatry.filedrop.config.sent / "kvittering.xml").exists()  # taken, not rejected
    assert (await gp.hub.status(letter_id))["receipt_id"] == first
    [at_the_gp] = await eventually(lambda: _receipts_at_the_gp(gp))
    assert at_the_gp.name == f"XCTL03_{first}.xml"
    assert await gp.hub.inbox() == []  # nothing more on its way to the GP
    assert sum(psychiatry.counters.refused.values()) == 0
    assert 'items_refused_total{kind="message"}' not in psychiatry.metrics()
    assert not await asyncio.to_thread(
        lambda: any(psychiatry.filedrop.config.inbox.glob("XCTL01_*"))
    )  # nothing goes back to the EHR
    alarms = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert alarms == [], [r.getMessage() for r in alarms]


def _config(tmp_path: Path, receipts: str) -> Path:
    path = tmp_path / "psychiatry.toml"
    path.write_text(
        f"""
[hub]
url = "http://127.0.0.1:8080"
token = "t"

[organisation]
gln = "{BUP_GLN}"
name = "Børne- og ungdomspsykiatrien"

[mllp]
port = 0

[filedrop]
root = "medcom"
receipts = "{receipts}"
""",
        encoding="utf-8",
    )
    return path


def test_who_receipts_is_read_from_the_toml_and_an_unknown_value_is_refused(
    tmp_path: Path,
) -> None:
    config = load_config("psychiatry", _config(tmp_path, "system"))
    assert config.filedrop is not None
    assert config.filedrop.receipts is ReceiptsBy.SYSTEM
    with pytest.raises(AdapterConfigError) as refused:
        load_config("psychiatry", _config(tmp_path, "ehr"))
    assert refused.value.code == "adapter-config"
    assert '"adapter" or "system"' in refused.value.message
    assert "'ehr'" in refused.value.message
