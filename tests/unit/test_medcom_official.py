"""MedCom's official example messages: accepted, read, and written back equivalently."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import BinaryLetter, Correspondence, MessageType, Receipt
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import read_routing
from tests.medcom_paths import official_examples, official_schema, requires_official
from tests.xmlcompare import equivalent

pytestmark = [pytest.mark.official, requires_official]

SCHEMA_DATES = {
    MessageType.XDIS91: "2006/07/01",
    MessageType.XBIN01: "2012/03/28",
    MessageType.XCTL01: "2005/08/07",
    MessageType.XCTL02: "2005/08/07",
    MessageType.XCTL03: "2005/08/07",
}


def _examples() -> list[Path]:
    found = official_examples()
    return found or [Path("missing-official-examples")]


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry()


@pytest.mark.parametrize("path", _examples(), ids=lambda p: p.name)
def test_example_parses_and_round_trips(path: Path, registry: SchemaRegistry) -> None:
    original = path.read_bytes()
    message = parse_message(original, registry=registry)
    rebuilt = build_message(message)
    assert equivalent(original, rebuilt), f"{path.name} did not round-trip"
    assert parse_message(rebuilt, registry=registry) == message
    assert official_schema(SCHEMA_DATES[message.type]).validate(etree.fromstring(rebuilt))


def test_examples_cover_every_type(registry: SchemaRegistry) -> None:
    kinds = {parse_message(p.read_bytes(), registry=registry).type for p in official_examples()}
    assert kinds == set(MessageType)


def test_korr_example_is_read_field_by_field(registry: SchemaRegistry) -> None:
    [path] = [p for p in official_examples() if p.name == "korr_x9134.xml"]
    letter = parse_message(path.read_bytes(), registry=registry)
    assert isinstance(letter, Correspondence)
    assert letter.envelope.identifier == "KuvertNr012234"
    assert not letter.envelope.wants_positive_receipt
    assert letter.sender.organisation_name == "HILLERØD SYGEHUS"
    assert letter.receiver.address.street == "Vandværksvej 99"
    assert letter.patient.cpr == "1522824933"  # carried as it is, although month 22
    assert letter.subject == "Forundersøgelse"
    assert letter.priority is not None
    assert letter.priority.value == "høj_prioritet"
    assert f"{letter.authorised:%Y-%m-%d %H:%M %Z}" == "1998-12-13 12:02 CET"
    routing = read_routing(path.read_bytes(), registry=registry)
    assert routing.sender_gln == "5790000120400"
    assert any("check digit" in w for w in routing.warnings)
    assert all("1522824933" not in w for w in routing.warnings)


def test_receipt_and_binary_examples_are_read(registry: SchemaRegistry) -> None:
    by_name = {p.name: p for p in official_examples()}
    ctl02 = parse_message(by_name["CTL02_1_converted.xml"].read_bytes(), registry=registry)
    assert isinstance(ctl02, Receipt)
    assert ctl02.type is MessageType.XCTL02
    assert ctl02.original_letters[0].refuse_code is not None
    assert ctl02.original_letters[0].refuse_code.value == "problem_med_version"
    ctl01 = read_routing(by_name["CTL01_1_converted.xml"].read_bytes(), registry=registry)
    assert ctl01.original is not None
    assert ctl01.original.letter_identifiers == ("1111FRE01095", "1111MAN01095")
    binary = parse_message(by_name["Flow1-XBIN01_Ex_to_FHIR.xml"].read_bytes(), registry=registry)
    assert isinstance(binary, BinaryLetter)
    assert binary.objects[0].extension_code == "pdf"


def test_cli_validates_every_example() -> None:
    paths = [str(p) for p in official_examples()]
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "messages", "validate", *paths],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""
