"""Message fuzzing through the full path: sender → (adapter →) real hub → receiver.

Valid XDIS91 letters, XCTL03 receipts and HL7 messages, each built fresh (new identifiers)
for every example, are truncated, bit-flipped, re-encoded, stuffed with huge fields and
injected entities and DTDs, then sent the way a sector system would send them:

* ``POST /v1/messages`` to the hub — a clear refusal (4xx ``application/problem+json`` with
  a ``code``) or an acceptance whose bytes the receiver fetches back byte for byte;
* into a GP adapter's MedCom ``outbox/`` — the file leaves it, to ``rejected/`` beside a
  reason file with a code, or to ``sent/``, in which case the hub has it byte for byte
  (or refused it for good, and the clinic has an XCTL01 back);
* over MLLP to a GP adapter — ``AA`` and the letter reaches the receiver readable, with the
  referral's child; ``AE`` with an ``ERR`` segment; or, when not even the ``MSH`` can be
  read, the connection closed.

Never a 5xx, a crash, a hang, a file left behind or a half-written one, an outbox item stuck
pending, or a message left in a mailbox: each test ends by checking all of that. Example
counts are modest (the suite's budget); ``make fuzz-messages`` runs many more.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import aiohttp
import hl7
from hypothesis import event, given
from hypothesis import strategies as st

from adapters.base import Adapter
from adapters.filedrop import write_atomically
from adapters.outbox import ItemState
from messages.errors import MessageError
from messages.hl7.build import build_appointment, build_referral
from messages.hl7.mapping import receive
from messages.hl7.mllp import MllpDecoder, read_frame
from messages.hl7.model import Referral
from messages.hl7.samples import (
    CHILD_CPR,
    GP_GLN,
    PPR_GLN,
    make_appointment,
    make_referral,
    make_routing,
)
from messages.medcom.correspondence import new_correspondence
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import Correspondence, Party, Patient
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually
from tests.adapters.test_gp import msa
from tests.fuzzing import fuzz_settings
from wire.client import HubClient

REGISTRY = SchemaRegistry()
FUZZ = fuzz_settings(40)
_SEQ = itertools.count(1)

# --- mutations ----------------------------------------------------------------------------

Op = tuple[str, float, Any]
KINDS = ("truncate", "flip", "insert", "delete", "encode", "huge", "entity", "dtd", "text")
TEXTS = (  # into the letter's text or the referral's reason: some harmless, some not
    "Ærø, Østerå og Åbybro",
    "a &amp; b &lt; c",
    "a & b < c",
    "x" * 5_000,
    "emoji 🙂 and NUL \x00",
    "\\F\\ \\S\\ \\T\\",
)
TEXT_AT = (b"Mads har brug", b"Trivsel")
INJECTED = (
    b"&xxe;",
    b"&#0;",
    b"&#xD800;",
    b"]]>",
    b"<!ENTITY a 'b'>",
    b"\x00",
    b"\xff\xfe",
    b"\x0b",
    b"\x1c\x0d",
    b"\r",
    b"|^~\\&",
)
DTDS = (
    b'<!DOCTYPE Emessage [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    b'<!DOCTYPE Emessage [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE Emessage SYSTEM "http://127.0.0.1:1/x.dtd">',
)


@st.composite
def mutations(draw: st.DrawFn) -> list[Op]:
    """Up to three edits, each with a relative position (applied to a fresh seed)."""
    ops: list[Op] = []
    for _ in range(draw(st.integers(0, 3))):  # none: the valid message itself
        kind = draw(st.sampled_from(KINDS))
        at = draw(st.integers(0, 999)) / 1000
        arg: Any = None
        if kind == "flip":
            arg = draw(st.integers(0, 7))
        elif kind == "insert":
            arg = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            arg = draw(st.integers(1, 40))
        elif kind == "encode":
            arg = draw(st.sampled_from(["utf-8", "utf-16", "cp1252", "ascii", "utf-32"]))
        elif kind == "huge":
            arg = draw(st.sampled_from([300, 70_000, 400_000]))
        elif kind == "text":
            arg = draw(st.sampled_from(TEXTS))
        elif kind == "entity":
            arg = draw(st.sampled_from(INJECTED))
        elif kind == "dtd":
            arg = draw(st.sampled_from(DTDS))
        ops.append((kind, at, arg))
    return ops


def mutate(seed: bytes, ops: Sequence[Op]) -> bytes:
    data = bytearray(seed)
    for kind, where, arg in ops:
        if not data:
            break
        at = min(len(data) - 1, int(where * len(data)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip":
            data[at] ^= 1 << arg
        elif kind == "insert" or kind == "entity":
            data[at:at] = arg
        elif kind == "delete":
            del data[at : at + arg]
        elif kind == "encode":
            text = bytes(data).decode("latin-1")
            data = bytearray(text.encode(arg, errors="replace"))
        elif kind == "huge":
            data[at:at] = b"x" * arg
        elif kind == "text":  # inside free text, where a sector system puts what it likes
            spot = next((data.find(m) for m in TEXT_AT if m in data), at)
            data[spot:spot] = arg.encode(
                "utf-8" if b"UTF-8" in data[:400] else "latin-1", "replace"
            )
        elif kind == "dtd":  # after the XML declaration, where a DTD belongs
            end = data.find(b"?>")
            data[end + 2 if end >= 0 else 0 : end + 2 if end >= 0 else 0] = arg
    return bytes(data)


# --- seeds: fresh identifiers every time --------------------------------------------------


def fresh_letter(sender: str, receiver: str, *, ask: bool | None = None) -> Correspondence:
    n = next(_SEQ)
    return new_correspondence(
        sender=Party(sender, sender, "lokationsnummer", "Lægehuset Vestbyen"),
        receiver=Party(receiver, receiver, "lokationsnummer", "PPR Aalborg"),
        patient=Patient(cpr="1203164321", surname="Jensen", given_name="Mads"),
        subject=f"Henvisning {n}: Mads J.",
        text=f"Kære PPR\nMads har brug for en vurdering ({n}). Æblegrød og ørredsø.",
        ask_for_receipt=n % 2 == 0 if ask is None else ask,
    )


def xdis91_seed() -> bytes:
    return build_message(fresh_letter(GP_GLN, PPR_GLN))


async def xctl03_seed(ppr: HubClient) -> bytes:
    """The GP's XCTL03 for a letter PPR really sent it through the hub."""
    letter = fresh_letter(PPR_GLN, GP_GLN, ask=True)
    await ppr.submit(build_message(letter))
    return build_message(receipt_for(letter))


def hl7_seed(kind: str) -> bytes:
    n = next(_SEQ)
    if kind == "REF":
        referral = make_referral(referral_id=f"HEN-FUZZ-{n:06d}")
        er7 = build_referral(referral, make_routing(), control_id=f"REF-FUZZ-{n}")
    else:
        appointment = make_appointment(appointment_id=f"AP-FUZZ-{n:06d}")
        er7 = build_appointment(appointment, make_routing(), control_id=f"SIU-FUZZ-{n}")
    return er7.encode("utf-8")  # MSH-18 declares UNICODE UTF-8


async def examples(
    body: Callable[..., Coroutine[Any, Any, str]], **strategies: st.SearchStrategy[Any]
) -> Counter[str]:
    """Run hypothesis over ``body`` on this event loop, where the hub and adapters live.

    Hypothesis drives a synchronous test in a worker thread; each example is a coroutine
    run on the test's loop (the fixtures' loop) and awaited from the thread.
    """
    loop = asyncio.get_running_loop()
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(**strategies)
    def run(**drawn: Any) -> None:
        outcome = asyncio.run_coroutine_threadsafe(body(**drawn), loop).result(timeout=60)
        event(outcome)
        outcomes[outcome] += 1

    await asyncio.to_thread(run)
    return outcomes


def assert_both_ways(outcomes: Counter[str], good: str, bad: Sequence[str]) -> None:
    """The fuzzing reached both sides: some mutants went through, some were refused."""
    assert any(good in o for o in outcomes), outcomes
    assert any(b in o for o in outcomes for b in bad), outcomes


# --- the receiver's side: drained, and every accepted message read back -------------------


class Receiver:
    """PPR's system talking to the hub directly: reads every delivery back and acks it."""

    def __init__(self, client: HubClient) -> None:
        self.client = client
        self.read: dict[str, bytes] = {}

    async def read_back(self, message_id: str) -> bytes:
        body = await self.client.fetch(message_id)
        await self.client.ack(message_id)
        self.read[message_id] = body
        return body

    async def drain(self) -> None:
        """Nothing may be left in the receiver's inbox that the test did not account for."""
        for entry in await self.client.inbox(limit=500):
            assert entry["id"] in self.read, f"an unexpected delivery: {entry['type']}"
            await self.client.ack(entry["id"])
        assert await self.client.inbox() == []


async def _receiver(hub: RestartableHub) -> Receiver:
    from coordinator.tables import Sector

    token = await hub.org(PPR_GLN, Sector.PPR, name="PPR Aalborg")
    return Receiver(HubClient(hub.url, token))


async def _no_stuck_items(adapter: Adapter) -> None:
    assert await adapter.outbox.drain(10.0), "the adapter's outbox did not drain"
    assert adapter.outbox.depth == 0
    assert not await adapter.outbox.items(ItemState.PENDING)


# --- 1. the hub's API ---------------------------------------------------------------------


async def test_mutated_medcom_through_the_api(hub: RestartableHub) -> None:
    from coordinator.tables import Sector

    gp_token = await hub.org(GP_GLN, Sector.GP, name="Lægehuset")
    receiver = await _receiver(hub)
    accepted: dict[str, bytes] = {}
    headers = {"Authorization": f"Bearer {gp_token}", "Content-Type": "application/xml"}

    async with aiohttp.ClientSession() as session:

        async def one(kind: str, ops: list[Op]) -> str:
            seed = xdis91_seed() if kind == "XDIS91" else await xctl03_seed(receiver.client)
            body = mutate(seed, ops)
            async with asyncio.timeout(20):
                async with session.post(  # a stream: aiohttp warns about large raw bodies
                    f"{hub.url}/v1/messages", data=io.BytesIO(body), headers=headers
                ) as response:
                    status, raw = response.status, await response.read()
                    content_type = response.content_type
            assert status < 500, raw[:300]
            if status in (200, 202):
                answer = _json(raw)
                message_id = answer["id"]
                if status == 200:  # a duplicate: the first one's id, never delivered again
                    assert message_id in accepted
                    return f"{kind} duplicate"
                accepted[message_id] = body
                assert await receiver.read_back(message_id) == body  # byte for byte
                return f"{kind} accepted and read back"
            else:
                assert content_type == "application/problem+json", (status, raw[:200])
                problem = _json(raw)
                assert problem["code"]
                assert problem["detail"]
                assert problem["status"] == status
                return f"{kind} refused {status} {problem['code']}"

        outcomes = await examples(one, kind=st.sampled_from(["XDIS91", "XCTL03"]), ops=mutations())
        assert_both_ways(outcomes, "accepted", ["refused"])

    await receiver.drain()
    assert set(receiver.read) == set(accepted)
    gp = HubClient(hub.url, gp_token)
    try:
        for sent in await gp.outbox(limit=500):  # none half-way: every one delivered and acked
            assert sent["status"] in ("acknowledged", "receipted", "rejected"), sent["status"]
        for entry in await gp.inbox(limit=500):  # PPR's letters the receipts answered
            assert entry["type"] == "XDIS91"
            await gp.ack(entry["id"])
        assert await gp.inbox() == []
    finally:
        await gp.close()
        await receiver.client.close()


def _json(raw: bytes) -> Any:
    return json.loads(raw)


# --- 2. a GP clinic's MedCom file drop ----------------------------------------------------


async def test_mutated_medcom_through_a_gp_file_drop(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    receiver = await _receiver(hub)
    gp = await make_adapter("gp", GP_GLN)
    drop = gp.filedrop.config
    names = itertools.count(1)

    async def one(ops: list[Op]) -> str:
        kind = "XDIS91"  # (receipts need a letter delivered to the clinic: the API test has them)
        body = mutate(xdis91_seed(), ops)
        name = f"fuzz-{next(names):04d}.xml"
        await asyncio.to_thread(write_atomically, drop.outbox, name, body)

        reason = drop.rejected / f"{name}.reason.txt"

        async def handled() -> bool:  # moved on, and (when rejected) its reason written
            return await asyncio.to_thread(
                lambda: (
                    not (drop.outbox / name).exists()
                    and ((drop.sent / name).exists() or reason.exists())
                )
            )

        await eventually(handled, within=15)
        if await asyncio.to_thread(reason.exists):
            text = reason.read_text()
            assert text.startswith("code: "), text
            assert "\nreason: " in text, text
            assert "1203164321" not in text
            assert (drop.rejected / name).read_bytes() == body  # kept as it came
            return f"{kind} rejected {text.split()[1]}"
        assert (drop.sent / name).read_bytes() == body
        item = await _item_for(gp, f"file:{name}")
        if item.state is ItemState.REFUSED:
            assert item.code
            return f"{kind} refused by the hub {item.code}"
        assert item.state is ItemState.SENT, item.state
        assert await receiver.read_back(item.result["id"]) == body
        return f"{kind} delivered"

    outcomes = await examples(one, ops=mutations())
    assert_both_ways(outcomes, "delivered", ["rejected"])
    await _no_stuck_items(gp)
    await receiver.drain()
    assert not [p for p in drop.outbox.iterdir() if p.suffix == ".xml"]
    for folder in (drop.outbox, drop.sent, drop.rejected, drop.inbox):  # nothing half-written
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    await receiver.client.close()


async def _item_for(adapter: Adapter, origin: str) -> Any:
    async def settled() -> Any:
        for item in await adapter.outbox.items():
            if item.origin == origin and item.state is not ItemState.PENDING:
                return item
        return None

    return await eventually(settled, within=15)


# --- 3. HL7 over MLLP to a GP adapter -----------------------------------------------------


async def _exchange(port: int, payload: bytes) -> bytes | None:
    """One frame out, the answer back (None: the listener closed the connection)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(b"\x0b" + payload + b"\x1c\x0d")
        await writer.drain()
        return await read_frame(reader, MllpDecoder())
    except (MessageError, ConnectionError):  # closed mid-frame, or while we still wrote
        return None
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _first_frame(payload: bytes) -> bytes:
    """The payload as the listener frames it: an injected 0x1C 0x0D ends the frame early,
    an injected 0x0B starts a new one."""
    try:
        frames = MllpDecoder(max_frame=64 * 1024 * 1024).feed(b"\x0b" + payload + b"\x1c\x0d")
    except MessageError:
        return payload
    return frames[0] if frames else b""


async def test_mutated_hl7_through_the_mllp_listener(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    receiver = await _receiver(hub)
    gp = await make_adapter("gp", GP_GLN)
    seen: set[int] = set()
    await gp.hub.put_case(  # the GP's case the appointments belong to
        make_appointment().case_ref,
        {
            "child_cpr": CHILD_CPR,
            "kind": "gp-follow-up",
            "status": "active",
            "opened_on": "2024-03-01",
            "closed_on": None,
            "contact": {"name": "Jens Hjørring", "role": "praktiserende læge"},
        },
    )

    async def one(kind: str, ops: list[Op]) -> str:
        payload = mutate(hl7_seed(kind), ops)
        async with asyncio.timeout(20):
            answer = await _exchange(gp.mllp_port, payload)
        reading = receive(_first_frame(payload))  # what the listener read, framing bytes and all
        if answer is None:
            # nothing to acknowledge: broken framing or an oversize frame (every complete
            # frame is answered, garbage included)
            assert (
                b"\x0b" in payload
                or b"\x1c\x0d" in payload
                or len(payload) > gp.config.mllp.max_frame
            )
            await _new_items(gp, seen)
            return f"{kind} closed"
        ack = hl7.parse(answer.decode("latin-1"))
        code = str(ack.segment("MSA")[1])
        if code == "AR":  # what cannot be processed at all: no readable MSH, or not v2.x
            assert reading.error is not None
            assert reading.message is None or reading.error.code in {
                "unsupported-version",
                "too-large",
            }
            assert str(ack.segment("ERR")[5]) == reading.error.code
            await _new_items(gp, seen)
            return f"{kind} AR {reading.error.code}"
        assert code in ("AA", "AE"), code  # AR otherwise only when the outbox and hub fail
        if code == "AE":
            assert str(ack.segment("ERR")[5]), "an AE names its reason in ERR-5"
            await _new_items(gp, seen)  # what it stored before the hub refused it
            return f"{kind} AE {ack.segment('ERR')[5]}"
        assert reading.result is not None
        items = await _new_items(gp, seen)
        if not items:  # its control id matched an earlier message's: a resend, answered again
            return f"{kind} AA-resend"
        primary = next(i for i in items if i.kind in ("message", "appointment"))
        if kind == "REF":
            assert isinstance(reading.result, Referral)
            assert primary.kind == "message", primary
            assert primary.state is ItemState.SENT, primary
            body = await receiver.read_back(primary.result["id"])
            letter = parse_message(body, registry=REGISTRY)
            assert isinstance(letter, Correspondence)
            assert letter.sender.ean == GP_GLN
            assert letter.patient.cpr == reading.result.child_cpr.digits
            assert letter.subject == f"Henvisning {reading.result.referral_id}"[:70]
        else:
            assert primary.kind == "appointment", primary
            # AA means "not refused within ack_wait": when the first attempt queued behind
            # the same child's earlier updates for longer, the refusal comes after the AA
            assert primary.state in (ItemState.SENT, ItemState.REFUSED), primary
        return f"{kind} AA"

    outcomes = await examples(one, kind=st.sampled_from(["REF", "SIU"]), ops=mutations())
    assert_both_ways(outcomes, "AA", ["AE", "AR", "closed"])
    # the listener still serves a well-behaved sender
    answer = await _exchange(gp.mllp_port, hl7_seed("REF"))
    assert answer is not None
    assert msa(hl7.parse(answer.decode("latin-1")))[0] == "AA"
    await _new_items(gp, seen)
    await _no_stuck_items(gp)
    async with asyncio.timeout(10):
        for item in await gp.outbox.items(ItemState.SENT):
            if item.kind == "message" and item.result["id"] not in receiver.read:
                await receiver.read_back(item.result["id"])
    await receiver.drain()
    await receiver.client.close()


async def _new_items(adapter: Adapter, seen: set[int]) -> list[Any]:
    """The outbox items stored since the last call, once every one has been tried."""
    await _no_stuck_items(adapter)
    items = sorted(
        (i for i in await adapter.outbox.items() if i.id not in seen), key=lambda i: i.id
    )
    seen.update(i.id for i in items)
    return items


__all__: list[str] = []
