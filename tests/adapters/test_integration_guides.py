"""The integration guides in ``docs/integration/`` cannot drift from the adapters.

Every sample in a guide is a fenced block whose info string names it and says what must
come of it, and each is sent through the real adapter's real door, against a real hub:

* ````` ```hl7 sample=NAME expect=AA ````` (or ``expect=AE:ERR-5 code``) — over MLLP, one
  segment per line in the guide, ``\\r`` on the wire; ``MSA-1``, ``MSA-2`` (the sample's own
  ``MSH-10``) and ``ERR-5`` are checked (an ``AA`` has no ``ERR`` but a query's warning);
* ````` ```hl7 ack-of=NAME ````` — the ACK the guide shows for a sample: the real one must
  match it segment by segment, field by field, but for ``MSH-7`` (time) and ``MSH-10`` (id);
* ````` ```jsonl sample=NAME door=folder|webhook expect=accepted,rejected:CODE,... ````` —
  one status per non-blank line, through the events folder (atomic rename, then
  ``processed/`` and ``rejected/`` with the reason file) or ``POST /events``;
* ````` ```json response-of=NAME ````` — the webhook's whole 202 answer to a sample;
* ````` ```xml sample=NAME expect=sent|rejected:CODE ````` — through the file drop's
  ``outbox/`` to ``sent/`` or to ``rejected/`` with its reason file;
* ````` ```toml sample=NAME kind=KIND expect=loads ````` — read by ``load_config``.

A guide's samples run in the order written, against one adapter of the guide's kind (a
sample may build on an earlier one: an appointment for the case an ``ADT^A04`` opened).
Every sample the guide calls good must also be taken by the hub: nothing sent for it may
end refused. And every code the adapters can answer with is named in its guide.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.base import Adapter
from adapters.config import (
    ContactConfig,
    MllpConfig,
    PartnerEventsConfig,
    WebhookConfig,
    load_config,
)
from adapters.filedrop import write_atomically
from adapters.hl7feed import Hl7Adapter
from adapters.municipality import MunicipalityAdapter
from adapters.outbox import ItemState, OutboxSettings
from coordinator.tables import Sector
from messages.errors import RefuseCode
from messages.hl7.samples import GP_GLN, PPR_GLN
from tests.adapters.conftest import (
    BUP_GLN,
    MakeAdapter,
    RestartableHub,
    eventually,
    mllp_send,
)

ROOT = Path(__file__).resolve().parents[2]
GUIDES_DIR = ROOT / "docs" / "integration"
SECRET = "guide-webhook-secret-0123456789"  # noqa: S105 - a test secret

GUIDES = {
    "gp-hl7.md": ("gp", GP_GLN),
    "psychiatry.md": ("psychiatry", BUP_GLN),
    "municipality.md": ("municipality", PPR_GLN),
}
"""Each guide's adapter kind and the organisation its samples are written for."""

PARTNERS = {GP_GLN: Sector.GP, PPR_GLN: Sector.PPR, BUP_GLN: Sector.PSYCHIATRY}
"""The organisations the samples name, registered in the hub before a guide's samples run."""

RUN_LANGUAGES = frozenset({"hl7", "jsonl", "xml", "toml"})
"""Blocks in these languages are samples: each must name itself and its expectation."""

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class Block:
    guide: str
    language: str
    info: dict[str, str]
    text: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.guide}:{self.line}"


def blocks(guide: str) -> list[Block]:
    source = (GUIDES_DIR / guide).read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(source):
        words = match.group(1).split()
        language = words[0] if words else ""
        info = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        line = source.count("\n", 0, match.start()) + 1
        found.append(Block(guide, language, info, match.group(2), line))
    return found


def samples(guide: str) -> list[Block]:
    return [b for b in blocks(guide) if "sample" in b.info]


# --- the codes each guide must name -------------------------------------------------------

_CODE_PATTERNS = (
    re.compile(r'\bcode="([a-zA-Z_-]+)"'),  # Hl7Error, HubRefused, AdapterError ... code="x"
    re.compile(r'code = "([a-zA-Z_-]+)"'),  # an error class's default code
    re.compile(r'EventError\(\s*"([a-z-]+)"'),  # a municipal event line's code
    re.compile(r'_problem\(\s*\d+,\s*"([a-z-]+)"'),  # the webhook's problem+json codes
)


def codes_in(*modules: str) -> set[str]:
    """Every literal error code written in these source files."""
    found: set[str] = set()
    for module in modules:
        text = (ROOT / module).read_text(encoding="utf-8")
        for pattern in _CODE_PATTERNS:
            found.update(pattern.findall(text))
    return found


_HL7_SOURCES = (
    "messages/hl7/parse.py",  # no ACK: empty, no-msh, bad-separators ...; AE: missing-segment
    "messages/hl7/mapping.py",  # AE: invalid-cpr, missing-cpr, invalid-gln, unknown-value ...
    "messages/hl7/er7.py",  # AE: invalid-time
    "adapters/hl7feed.py",  # the listener cannot bind: mllp-bind
    "adapters/hl7query.py",  # a query: no-active-case, hub-unavailable, credential-refused
    "messages/hl7/query.py",  # a query: unknown-query, invalid-value, consent-missing
    "adapters/filedrop.py",  # a file in rejected/: sender-mismatch
)
_HL7_MORE = {
    "AA",
    "AE",
    "AR",  # MSA-1: messages/hl7/model.py AckCode
    "internal",  # ERR-5 of an AR: messages/hl7/ack.py _err_segment
    "hub-refused",  # ERR-5 when the hub refused without a code: adapters/hl7feed.py _store
    "control-id-reused",  # ERR-5 of a reused MSH-10: adapters/errors.py ControlIdReused
    "ukendt_lokationsnummer",  # the hub's code for an unknown receiver GLN (a letter)
    "unknown-case-ref",  # the hub: PV1-19 names no case (coordinator/index/store.py)
    "ref-belongs-to-another-child",  # the hub: SCH-2/PV1-19 used for another child
    "invalid-ref",  # the hub: SCH-2/PV1-19 not a reference (wire/entries.py REF_PATTERN)
    "invalid-entry",  # the hub: a field too long for the index (wire/entries.py)
    "invalid-period",  # the hub: an appointment that ends when it starts (wire/entries.py)
    *(code.value for code in RefuseCode),  # a file in rejected/: MedCom's refuse codes
}
_GP_SOURCES = ("adapters/gp.py",)  # AE: sender-mismatch, invalid-receiver; referral-refused
_GP_MORE = {
    "invalid-characters",  # a referral the letter cannot carry: messages/medcom/xmlcodec.py
    "letter-too-long",  # ... or too long for one: messages/medcom/correspondence.py
    # [filedrop] syntax = "edifact": an interchange in rejected/ (messages/errors.py, and
    # the codes messages/medcom/edifact/ raises them with)
    *(c for c in codes_in("messages/errors.py") if c.startswith("edifact-")),
    "edifact-reference",
    "edifact-missing-segment",
    "edifact-several-messages",
} - {"edifact-error"}  # the root class's code: every EDIFACT error raised has its own
_MUNICIPALITY_SOURCES = (
    "adapters/municipality.py",  # line codes: invalid-json, missing-id, unknown-type ...
    "wire/entries.py",  # line codes: closed-without-date, invalid-period, naive-time ...
    "adapters/webhook.py",  # 401 unauthorized, 415, 413, 400 no-events; webhook-bind/-tls
    "adapters/errors.py",  # 503 outbox-full / outbox-failed; adapter-config
    "adapters/filedrop.py",  # a file in rejected/: sender-mismatch
)
_MUNICIPALITY_MORE = {
    "accepted",
    "duplicate",
    "rejected",  # a line's status: adapters/webhook.py LineResult
    "unreadable",  # an events file that cannot be read: adapters/municipality.py scan_events
    "invalid-gln",  # a letter event's receiver_gln: messages/identifiers.py
    "invalid-subject",  # a letter event the letter cannot carry: messages/medcom/correspondence.py
    "letter-too-long",
    "invalid-characters",  # messages/medcom/xmlcodec.py
    *(code.value for code in RefuseCode),  # a file in rejected/: MedCom's refuse codes
}


_HL7_ONLY = {"control-id-reused"}  # adapters/errors.py, but only the MLLP door answers it
"""Codes in the municipal adapter's sources that it never answers with: it has no MLLP door."""


def required_codes(guide: str) -> set[str]:
    if guide == "municipality.md":
        return (codes_in(*_MUNICIPALITY_SOURCES) - _HL7_ONLY) | _MUNICIPALITY_MORE
    codes = codes_in(*_HL7_SOURCES) | _HL7_MORE
    if guide == "gp-hl7.md":
        codes |= codes_in(*_GP_SOURCES) | _GP_MORE
    return codes


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_the_guide_names_every_code_its_adapter_can_answer_with(guide: str) -> None:
    text = (GUIDES_DIR / guide).read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`\s]+)`", text))
    codes = required_codes(guide)
    assert len(codes) > 15, "the code search found too little: has the source moved?"
    missing = sorted(codes - named)
    assert not missing, f"{guide} does not name these codes (in backticks): {missing}"


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_sample_says_what_must_come_of_it(guide: str) -> None:
    found = blocks(guide)
    names = [b.info["sample"] for b in found if "sample" in b.info]
    assert len(names) == len(set(names)), f"{guide}: two samples share a name"
    assert any(b.language == "toml" for b in found), f"{guide}: no configuration sample"
    for block in found:
        if block.language in RUN_LANGUAGES:
            shown = "sample" in block.info or "ack-of" in block.info
            assert shown, f"{block.where}: a {block.language} block is no sample"
        if "sample" in block.info:
            assert block.language in RUN_LANGUAGES, f"{block.where}: cannot run a {block.language}"
            assert block.info.get("expect"), f"{block.where}: the sample has no expect="
        for key in ("ack-of", "response-of", "reason-of"):
            if key in block.info:
                assert block.info[key] in names, f"{block.where}: {key} names no sample"


# --- configuration ------------------------------------------------------------------------


def config_samples() -> list[Any]:
    return [
        pytest.param(block, id=f"{guide}:{block.info['sample']}")
        for guide in sorted(GUIDES)
        for block in samples(guide)
        if block.language == "toml"
    ]


_READ = re.compile(r'\b(hub|org|adapter|filedrop|events)(?:\.get\(|\[)"([a-z_]+)"')
_SECTION_OF = {"hub": "hub", "org": "organisation", "adapter": "adapter"}


def config_keys() -> dict[str, set[str]]:
    """Per TOML section, every key ``adapters/config.py`` reads: the keys ``_build`` picks
    by name, and the fields of the dataclasses a section is unpacked into."""
    source = (ROOT / "adapters" / "config.py").read_text(encoding="utf-8")
    keys: dict[str, set[str]] = {}
    for variable, key in _READ.findall(source):
        keys.setdefault(_SECTION_OF.get(variable, variable), set()).add(key)
    keys["hub"] |= {"token", "token_file"}  # _secret(hub, ...)
    for section, model in (
        ("contact", ContactConfig),
        ("mllp", MllpConfig),
        ("webhook", WebhookConfig),
        ("partner_events", PartnerEventsConfig),
        ("outbox", OutboxSettings),
    ):
        keys[section] = {f.name for f in fields(model)}
    keys["webhook"] |= {"token_file"}  # _secret(section, ...)
    keys["partner_events"] |= {"token_file"}
    return keys


SECTIONS = {
    "gp": ("hub", "organisation", "adapter", "contact", "mllp", "filedrop", "outbox"),
    "psychiatry": ("hub", "organisation", "adapter", "contact", "mllp", "filedrop", "outbox"),
    "municipality": (
        *("hub", "organisation", "adapter", "contact", "events", "webhook", "filedrop"),
        *("partner_events", "outbox"),
    ),
}
"""The TOML sections each adapter kind reads."""


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_the_guide_names_every_configuration_key(guide: str) -> None:
    text = (GUIDES_DIR / guide).read_text(encoding="utf-8")
    named = set(re.findall(r"`([^`\s]+)`", text))
    known = config_keys()
    assert len(known["adapter"]) >= 5, "the key search found too little: has config.py moved?"
    kind = GUIDES[guide][0]
    for section in SECTIONS[kind]:
        assert f"[{section}]" in named, f"{guide} does not name the section [{section}]"
        missing = sorted(known[section] - named)
        assert not missing, f"{guide} does not name these keys of [{section}]: {missing}"


@pytest.mark.parametrize("block", config_samples())
def test_the_configuration_samples_load(block: Block, tmp_path: Path) -> None:
    # a key the adapter does not read is a typo in the guide, even where the loader ignores it
    known = config_keys()
    for section, values in tomllib.loads(block.text).items():
        assert section in SECTIONS[block.info["kind"]], f"{block.where}: [{section}]"
        unknown = sorted(set(values) - known[section])
        assert not unknown, f"{block.where}: [{section}] has keys nobody reads: {unknown}"
    assert block.info["expect"] == "loads", block.where
    path = tmp_path / "adapter.toml"
    path.write_text(block.text, encoding="utf-8")
    for name in re.findall(r'token_file\s*=\s*"([^"]+)"', block.text):
        token = tmp_path / name
        token.parent.mkdir(parents=True, exist_ok=True)
        token.write_text("a-token-of-sixteen-characters-or-more\n")
    config = load_config(block.info["kind"], path)
    assert config.kind == block.info["kind"]
    assert config.filedrop is not None
    assert config.filedrop.root.is_relative_to(tmp_path)


# --- running the samples ------------------------------------------------------------------


def er7(block: Block) -> str:
    return "\r".join(line for line in block.text.splitlines() if line.strip())


def control_id(text: str) -> str:
    msh = text.split("\r", 1)[0]
    return msh.split(msh[3])[9]


class Runner:
    """Sends one guide's samples through its adapter, in order, and checks each."""

    def __init__(self, adapter: Adapter, session: aiohttp.ClientSession) -> None:
        self.adapter = adapter
        self.session = session
        self.acks: dict[str, str] = {}
        self.responses: dict[str, Any] = {}
        self.reasons: dict[str, str] = {}
        self.refused_before: set[int] = set()

    async def run(self, block: Block) -> None:
        expect = block.info["expect"]
        if block.language == "hl7":
            await self.hl7(block, expect)
        elif block.language == "jsonl":
            await self.jsonl(block, expect.split(","))
        elif block.language == "xml":
            await self.xml(block, expect)
        # only an HL7 AE may stand for a hub refusal: a rejected line or file stores nothing,
        # so whatever a sample stored must be taken by the hub
        await self.settled(block, good=block.language != "hl7" or expect == "AA")

    async def settled(self, block: Block, *, good: bool) -> None:
        """What the sample stored reaches the hub; a good sample's items are not refused."""
        assert await self.adapter.outbox.drain(15.0), f"{block.where}: the outbox did not drain"
        refused = {
            i.id: f"{i.kind} {i.code}"
            for i in await self.adapter.outbox.items(ItemState.REFUSED)
            if i.id not in self.refused_before
        }
        self.refused_before |= set(refused)
        if good:
            assert not refused, f"{block.where}: the hub refused {sorted(refused.values())}"

    async def hl7(self, block: Block, expect: str) -> None:
        text = er7(block)
        assert isinstance(self.adapter, Hl7Adapter), block.where
        ack = await mllp_send(self.adapter.mllp_port, text, within=30.0)
        msa = ack.segment("MSA")
        code, _, err5 = expect.partition(":")
        assert str(msa[1]) == code, f"{block.where}: {str(ack)!r}"
        assert str(msa[2]) == control_id(text), block.where
        if code == "AA":  # a query's answer may carry a warning (ERR-4 W), nothing worse
            errors = [s for s in ack if str(s[0]) == "ERR" and str(s[4]) != "W"]
            assert not errors, block.where
        else:
            assert str(ack.segment("ERR")[5]) == err5, f"{block.where}: {str(ack)!r}"
        self.acks[block.info["sample"]] = str(ack)

    async def jsonl(self, block: Block, expect: list[str]) -> None:
        door = block.info.get("door", "folder")
        lines = [line for line in block.text.splitlines() if line.strip()]
        assert len(lines) == len(expect), f"{block.where}: one expectation per line"
        if door == "webhook":
            await self.webhook(block, expect)
        else:
            assert door == "folder", block.where
            await self.folder(block, expect)

    async def webhook(self, block: Block, expect: list[str]) -> None:
        assert isinstance(self.adapter, MunicipalityAdapter), block.where
        port = self.adapter.webhook_port
        async with self.session.post(
            f"http://127.0.0.1:{port}/events",
            data=block.text.encode("utf-8"),
            headers={
                "Authorization": f"Bearer {SECRET}",
                "Content-Type": "application/x-ndjson",
            },
        ) as answer:
            assert answer.status == 202, block.where
            body = await answer.json()
        got = [
            f"{line['status']}:{line['code']}" if "code" in line else line["status"]
            for line in body["lines"]
        ]
        assert got == expect, f"{block.where}: {body}"
        self.responses[block.info["sample"]] = body

    async def folder(self, block: Block, expect: list[str]) -> None:
        assert isinstance(self.adapter, MunicipalityAdapter), block.where
        events = self.adapter.events
        name = f"{block.info['sample']}.jsonl"
        before = Counter(self.adapter.counters.events)
        # the case system's way: write under a hidden name, then rename into the folder
        hidden = await asyncio.to_thread(
            write_atomically, events.folder, f".{name}.part", block.text.encode("utf-8")
        )
        await asyncio.to_thread(hidden.rename, events.folder / name)
        processed = events.processed / name
        await eventually(lambda: asyncio.to_thread(processed.exists), within=20.0)
        counts = Counter(self.adapter.counters.events)
        counts.subtract(before)
        statuses = Counter(e.split(":", 1)[0] for e in expect)
        assert {k: counts[k] for k in ("accepted", "duplicate", "rejected")} == {
            k: statuses[k] for k in ("accepted", "duplicate", "rejected")
        }, block.where
        reason = events.rejected / f"{name}.reason.txt"
        wanted = {n: e.split(":", 1)[1] for n, e in enumerate(expect, 1) if ":" in e}
        if not wanted:
            assert not reason.exists(), block.where
            return
        lines = [line for line in block.text.split("\n") if line.strip()]
        self.reasons[block.info["sample"]] = reason.read_text(encoding="utf-8")
        got = {
            int(m.group(1)): m.group(2)
            for m in re.finditer(
                r"^line (\d+): ([a-z_-]+): ", self.reasons[block.info["sample"]], re.M
            )
        }
        assert got == wanted, block.where
        kept = (events.rejected / name).read_text(encoding="utf-8").splitlines()
        assert kept == [lines[n - 1] for n in sorted(wanted)], block.where

    async def xml(self, block: Block, expect: str) -> None:
        drop = self.adapter.filedrop.config
        name = f"{block.info['sample']}.xml"
        hidden = await asyncio.to_thread(
            write_atomically, drop.outbox, f".{name}.part", block.text.encode("utf-8")
        )
        await asyncio.to_thread(hidden.rename, drop.outbox / name)
        sent, rejected = drop.sent / name, drop.rejected / name
        reason_file = drop.rejected / f"{name}.reason.txt"

        async def moved() -> bool:  # the reason file is written after the file is moved
            return await asyncio.to_thread(lambda: sent.exists() or reason_file.exists())

        await eventually(moved, within=20.0)
        outcome, _, code = expect.partition(":")
        if outcome == "sent":
            assert sent.exists(), block.where
            return
        assert outcome == "rejected", block.where
        assert rejected.exists(), block.where
        reason = reason_file.read_text(encoding="utf-8")
        assert reason.startswith(f"code: {code}\n"), f"{block.where}: {reason}"


def same_ack(shown: str, real: str) -> bool:
    """Equal segment by segment and field by field, but for ``MSH-7`` and ``MSH-10``."""
    ours = [s.split("|") for s in shown.splitlines() if s.strip()]
    theirs = [s.split("|") for s in real.split("\r") if s.strip()]
    for segments in (ours, theirs):
        if segments and segments[0][0] == "MSH" and len(segments[0]) > 9:
            segments[0][6] = segments[0][9] = "*"  # MSH-7, MSH-10 (MSH-1 is the first bar)
    return ours == theirs


def without_time(reason: str) -> list[str]:
    """A reason file's lines but its ``at:`` time."""
    return [line for line in reason.splitlines() if line and not line.startswith("at: ")]


@pytest.mark.parametrize("guide", sorted(GUIDES))
async def test_every_sample_does_what_the_guide_says(
    guide: str, hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    kind, own_gln = GUIDES[guide]
    for gln, sector in PARTNERS.items():
        await hub.org(gln, sector, name=f"{sector.value} {gln}")
    over: dict[str, Any] = {}
    if kind in ("gp", "psychiatry"):
        # long enough for the hub's first answer even on a busy machine: a refusal is AE
        over["mllp"] = MllpConfig(port=0, ack_wait=15.0)
    else:
        over["webhook"] = WebhookConfig(token=SECRET, port=0)
    adapter = await make_adapter(kind, own_gln, **over)
    found = blocks(guide)
    assert [b for b in found if b.language in ("hl7", "jsonl", "xml")], guide
    async with aiohttp.ClientSession() as session:
        runner = Runner(adapter, session)
        for block in found:
            if "sample" in block.info and block.language != "toml":
                await runner.run(block)
    for block in found:
        if "ack-of" in block.info:
            real = runner.acks[block.info["ack-of"]]
            assert same_ack(block.text, real), f"{block.where}: the ACK is\n{real}"
        if "reason-of" in block.info:
            real_reason = runner.reasons[block.info["reason-of"]]
            assert without_time(block.text) == without_time(real_reason), (
                f"{block.where}: the reason file is\n{real_reason}"
            )
        if "response-of" in block.info:
            real_body = runner.responses[block.info["response-of"]]
            assert json.loads(block.text) == real_body, f"{block.where}: {real_body}"
