"""``samspil messages ...`` as a user runs it: validate, correspondence, receipt."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from messages.fhir.build import build_fhir
from messages.medcom.documents import parse_message
from messages.medcom.edifact import build_edifact
from messages.medcom.model import Correspondence, MessageType, Receipt
from messages.medcom.registry import SchemaRegistry
from tests.fhir_samples import sample_care_communication
from tests.medcom_paths import official_schema, requires_official

REGISTRY = SchemaRegistry()


def samspil(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "samspil", *args], capture_output=True, input=stdin, check=False
    )


def letter_args(*extra: str) -> list[str]:
    return [
        "messages",
        "correspondence",
        "--sender-gln",
        "5790000120314",
        "--receiver-gln",
        "5790000121441",
        "--cpr",
        "120316-4321",
        "--subject",
        "Henvisning: Mads J.",
        "--text",
        "Kære PPR\nMads har brug for en vurdering.",
        *extra,
    ]


def test_help_lists_the_subcommands() -> None:
    done = samspil("--help")
    assert done.returncode == 0
    assert b"messages" in done.stdout
    assert samspil("messages", "--help").stdout.count(b"validate") >= 1


@pytest.mark.official
@requires_official
def test_correspondence_prints_an_officially_valid_letter(tmp_path: Path) -> None:
    from lxml import etree

    done = samspil(*letter_args("--ack", "--episode", "3f2b8c4e0a1b4c5d8e9f00112233aabb"))
    assert done.returncode == 0, done.stderr
    assert official_schema("2006/07/01").validate(etree.fromstring(done.stdout))
    letter = parse_message(done.stdout, registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    assert letter.envelope.wants_positive_receipt
    assert letter.episode_of_care_identifier == "3f2b8c4e0a1b4c5d8e9f00112233aabb"

    path = tmp_path / "letter.xml"
    path.write_bytes(done.stdout)
    assert samspil("messages", "validate", str(path)).returncode == 0

    receipt = samspil("messages", "receipt", str(path))
    assert receipt.returncode == 0, receipt.stderr
    assert official_schema("2005/08/07").validate(etree.fromstring(receipt.stdout))
    parsed = parse_message(receipt.stdout, registry=REGISTRY)
    assert isinstance(parsed, Receipt)
    assert parsed.type is MessageType.XCTL03

    negative = samspil("messages", "receipt", str(path), "--negative", "problem_med_modtagerID")
    parsed = parse_message(negative.stdout, registry=REGISTRY)
    assert isinstance(parsed, Receipt)
    assert parsed.type is MessageType.XCTL02

    receipt_path = tmp_path / "receipt.xml"
    receipt_path.write_bytes(receipt.stdout)
    again = samspil("messages", "receipt", str(receipt_path))
    assert again.returncode == 1
    assert b"receipt-not-allowed" in again.stderr


def test_reply_and_text_from_stdin() -> None:
    args = letter_args("--reply-to", "MX10ABCDEF1234")
    args[args.index("--text") + 1] = "-"
    done = samspil(*args, stdin="Svar fra PPR: æøå".encode())
    assert done.returncode == 0, done.stderr
    letter = parse_message(done.stdout, registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    assert letter.references[0].url == "urn:samspil:letter:MX10ABCDEF1234"


def test_positive_receipt_is_refused_when_not_asked(tmp_path: Path) -> None:
    path = tmp_path / "letter.xml"
    path.write_bytes(samspil(*letter_args()).stdout)
    done = samspil("messages", "receipt", str(path))
    assert done.returncode == 1
    assert b"receipt-not-allowed" in done.stderr
    assert done.stdout == b""


@pytest.mark.parametrize(
    ("flag", "value", "code"),
    [
        ("--cpr", "3102164321", b"invalid-cpr"),
        ("--sender-gln", "5790000120315", b"invalid-gln"),
        ("--subject", "x" * 71, b"invalid-subject"),
    ],
)
def test_bad_letter_input_is_a_clear_error(flag: str, value: str, code: bytes) -> None:
    args = letter_args()
    args[args.index(flag) + 1] = value
    done = samspil(*args)
    assert done.returncode == 1
    assert code in done.stderr
    assert b"Traceback" not in done.stderr
    assert b"3102164321" not in done.stderr  # the CPR itself is never echoed


def test_validate_reports_each_problem_with_file_line_and_code(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(samspil(*letter_args()).stdout)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(good.read_bytes()[:-40])
    wrong_version = tmp_path / "version.xml"
    wrong_version.write_bytes(good.read_bytes().replace(b"XD9134L", b"XD9133L"))
    wrong_ns = tmp_path / "ns.xml"
    wrong_ns.write_bytes(good.read_bytes().replace(b"2006/07/01", b"2099/01/01"))
    invalid = tmp_path / "invalid.xml"
    invalid.write_bytes(
        good.read_bytes().replace(b"<Subject>", b"<Subjekt>").replace(b"</Subject>", b"</Subjekt>")
    )
    missing = tmp_path / "missing.xml"
    done = samspil(
        "messages", "validate", *map(str, (good, broken, wrong_version, wrong_ns, invalid, missing))
    )
    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    assert len(lines) == 5, lines
    assert lines[0].startswith(f"{broken}:")
    assert ": syntaksfejl: " in lines[0]
    assert lines[1].startswith(f"{wrong_version}:")
    assert ": problem_med_version: " in lines[1]
    assert lines[2].startswith(f"{wrong_ns}:")
    assert ": problem_med_version: " in lines[2]
    assert lines[3].startswith(f"{invalid}:")
    assert ": syntaksfejl: " in lines[3]
    assert int(lines[3].split(":")[1]) >= 1  # the line the schema complained about
    assert lines[4].startswith(f"{missing}: cannot be read")
    assert b"Traceback" not in done.stderr


def test_validate_reads_fhir_and_edifact_too_with_a_line_per_broken_rule(tmp_path: Path) -> None:
    message = sample_care_communication()
    good_json = tmp_path / "letter.json"
    good_json.write_bytes(build_fhir(message))
    good_xml = tmp_path / "letter-fhir.xml"
    good_xml.write_bytes(build_fhir(message, fmt="xml"))
    tree = json.loads(good_json.read_bytes())
    for entry in tree["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Communication":
            resource["status"] = "completed"
        if resource["resourceType"] == "Patient":
            resource.pop("identifier", None)
    rules = tmp_path / "rules.json"
    rules.write_bytes(json.dumps(tree).encode())
    unreadable = tmp_path / "unreadable.json"
    unreadable.write_bytes(b'{"resourceType": "Bundle", "entry": [')
    letter = parse_message(samspil(*letter_args()).stdout, registry=REGISTRY)
    assert isinstance(letter, Correspondence)
    edifact = tmp_path / "letter.edi"
    edifact.write_bytes(build_edifact(letter))
    cut = tmp_path / "cut.edi"
    cut.write_bytes(edifact.read_bytes()[: len(edifact.read_bytes()) // 2])

    good = samspil("messages", "validate", str(good_json), str(good_xml), str(edifact))
    assert (good.returncode, good.stdout) == (0, b"")
    done = samspil("messages", "validate", str(rules), str(unreadable), str(cut))
    assert done.returncode == 1
    lines = done.stdout.decode().splitlines()
    broken = [line for line in lines if line.startswith(f"{rules}:0: ")]
    status = "medcom-status: Communication.status must be unknown (Communication.status)"
    assert f"{rules}:0: {status}" in broken  # path:line: code: as for OIOXML
    assert len(broken) >= 2, lines  # each rule the bundle breaks, not only the first
    assert [line.split(": ")[1] for line in lines if line.startswith(f"{unreadable}:")] == [
        "fhir-syntax"
    ]
    assert len([line for line in lines if line.startswith(f"{cut}:")]) == 1
    assert len(lines) == len(broken) + 2
    assert b"Traceback" not in done.stderr
