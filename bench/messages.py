"""Message-layer throughput, with baselines measured in the same run.

XML: Samspil's hub path for a ~3 KB XDIS91 (hardened parse + compiled-schema validation +
routing facts, ``messages.medcom.routing.read_routing``) against bare
``lxml.etree.fromstring`` + ``XMLSchema.validate`` of the same bytes and schema.
Target: ratio >= 0.8.

EDIFACT: reading a DIS91 interchange (~2.5 KB, the same letter) into its Correspondence
model (Samspil's tokenizer + mapping, ``messages.medcom.edifact.parse_edifact``) against
pydifact's parser tokenizing the same bytes. Target: median ≤ 0.3 ms per letter.

HL7: parsing a ~1.2 KB SIU^S12 into an appointment on the GP adapter's path (Samspil's own
ER7 reader) against hl7apy's parser. Target: >= 500 msgs/s.

FHIR: validating and converting a Flow3-size CareCommunication (~14 KB of JSON: a letter
and a 4.3 KB PDF) to OIOXML, on the conversion's path (hardened read, MedCom's profile rules,
XDIS91 + XBIN01 built to bytes) against bare ``json.loads`` of the same bytes.
Target: median <= 0.5 ms per bundle.

Run: ``make bench`` or
``.venv/bin/python bench/messages.py [--seconds S] [--only xml|dis91|hl7|fhir]``.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# ``messages`` package.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from lxml import etree  # noqa: E402

from messages.medcom.correspondence import new_correspondence  # noqa: E402
from messages.medcom.documents import build_message  # noqa: E402
from messages.medcom.edifact import build_edifact, parse_edifact  # noqa: E402
from messages.medcom.model import Correspondence, Party, Patient  # noqa: E402
from messages.medcom.registry import SchemaRegistry, schema_dir  # noqa: E402
from messages.medcom.routing import read_routing  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _batch(fn: Callable[[], object], seconds: float) -> int:
    """How many calls make about 1/20 of a round."""
    fn()
    batch = 1
    while True:
        start = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - start > seconds / 20:
            return batch
        batch *= 2


def _round(fn: Callable[[], object], batch: int, seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(batch):
            fn()
        count += batch
    return count / (time.perf_counter() - start)


def compare(
    base: Callable[[], object], ours: Callable[[], object], seconds: float, rounds: int = 7
) -> tuple[float, float, float]:
    """Calls per second of ``base`` and ``ours`` and the ratio ours/base.

    The two are timed in alternating rounds and the ratio is the median of the per-round
    ratios, so a machine that gets busier or quieter during the run does not tilt it.
    """
    batches = (_batch(base, seconds), _batch(ours, seconds))
    base_rates: list[float] = []
    our_rates: list[float] = []
    for _ in range(rounds):
        base_rates.append(_round(base, batches[0], seconds))
        our_rates.append(_round(ours, batches[1], seconds))
    ratios = [o / b for o, b in zip(our_rates, base_rates, strict=True)]
    return statistics.median(base_rates), statistics.median(our_rates), statistics.median(ratios)


def sample_correspondence() -> Correspondence:
    text = (
        "Kære PPR\nMads har i en periode haft svært ved at komme i skole. Forældrene har "
        "givet samtykke til, at vi kontakter jer. Vi beder om en pædagogisk-psykologisk "
        "vurdering og et fælles møde med skolen og familieafdelingen.\n"
    ) * 7
    return new_correspondence(
        sender=Party(
            ean="5790000120314",
            identifier="5790000120314",
            identifier_code="lokationsnummer",
            organisation_name="Lægehuset Vestbyen",
            medical_speciality="almen_medicin",
        ),
        receiver=Party(
            ean="5790000121441",
            identifier="5790000121441",
            identifier_code="lokationsnummer",
            organisation_name="PPR Aalborg",
        ),
        patient=Patient(cpr="1203164321", surname="Jensen", given_name="Mads"),
        subject="Henvisning: Mads J.",
        text=text,
        ask_for_receipt=True,
        episode_of_care_identifier="3f2b8c4e0a1b4c5d8e9f00112233aabb",
        now=datetime(2026, 11, 28, 14, 5, tzinfo=UTC),
    )


def sample_letter() -> bytes:
    return build_message(sample_correspondence())


def bench_xml(seconds: float) -> None:
    data = sample_letter()
    registry = SchemaRegistry()
    schema = etree.XMLSchema(etree.parse(str(schema_dir() / "xdis91.xsd")))

    def bare() -> None:
        if not schema.validate(etree.fromstring(data)):
            raise SystemExit("baseline: the sample does not validate")

    def samspil() -> None:
        read_routing(data, registry=registry)

    base, ours, ratio = compare(bare, samspil, seconds)
    print(f"XDIS91 {len(data):,} bytes")
    print(f"  lxml fromstring + XMLSchema.validate   {base:10,.0f} msgs/s  (baseline)")
    print(f"  Samspil read_routing                   {ours:10,.0f} msgs/s")
    print(f"  ratio (median of paired rounds)        {ratio:10.2f}   (target >= 0.80)")


def bench_dis91(seconds: float) -> None:
    import warnings

    from pydifact.parser import Parser

    letter = sample_correspondence()
    data = build_edifact(letter)
    if parse_edifact(data) != letter:
        raise SystemExit("DIS91: the sample does not read back as its letter")
    text = data.decode("latin-1")

    def theirs() -> None:
        for _ in Parser().parse(text):
            pass

    def ours() -> None:
        parse_edifact(data)

    with warnings.catch_warnings():  # pydifact warns that it has no D93A directory
        warnings.simplefilter("ignore")
        slow, fast, ratio = compare(theirs, ours, seconds, rounds=5)
    print(f"DIS91 {len(data):,} bytes")
    print(f"  pydifact Parser.parse (segments only)  {slow:10,.0f} msgs/s  (baseline)")
    print(f"  Samspil parse_edifact (+ the model)    {fast:10,.0f} msgs/s")
    print(f"  median per letter                      {1000 / fast:10.3f} ms  (target <= 0.300)")
    print(f"  ratio (median of paired rounds)        {ratio:10.1f}x")


def bench_hl7(seconds: float) -> None:
    sample = ROOT / "tests" / "data" / "hl7" / "siu_s12.hl7"
    if not sample.is_file():
        print("HL7: tests/data/hl7/siu_s12.hl7 is missing; skipped")
        return
    from hl7apy.parser import parse_message as hl7apy_parse

    from messages.hl7.mapping import parse_message, to_domain

    raw = sample.read_bytes()
    text = raw.decode("latin-1").replace("\r\n", "\r").replace("\n", "\r")

    def ours() -> None:
        to_domain(parse_message(raw))

    def theirs() -> None:
        hl7apy_parse(text)

    slow, fast, ratio = compare(theirs, ours, seconds, rounds=3)
    print(f"SIU^S12 {len(raw):,} bytes")
    print(f"  hl7apy parse_message                   {slow:10,.0f} msgs/s  (baseline)")
    print(f"  Samspil parse_message + to_domain      {fast:10,.0f} msgs/s  (target >= 500)")
    print(f"  ratio (median of paired rounds)        {ratio:10.1f}x")


def sample_bundle() -> bytes:
    """A CareCommunication of Flow3's size, made the way the conversion makes one."""
    import random

    from messages.fhir.build import build_fhir
    from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
    from messages.medcom.model import BinaryLetter, BinaryObject, BinaryReference, Reference

    pdf = random.Random(3).randbytes(4297)
    letter = new_correspondence(
        sender=Party(
            ean="5790001382445",
            identifier="5790001382445",
            identifier_code="lokationsnummer",
            organisation_name="MedCom testcenter",
            telephone="66131372",
        ),
        receiver=Party(
            ean="5790000121441", identifier="5790000121441", identifier_code="lokationsnummer"
        ),
        patient=Patient(cpr="2512489996", surname="Ann Berggren", given_name="Nancy"),
        subject="Vedr. henvisning, Undersøgelser forude for visitation",
        text="Afdeling A har modtaget en henvisning på ovenstående patient.\n" * 6,
        ask_for_receipt=True,
        now=datetime(2023, 11, 22, 11, 32, tzinfo=UTC),
    )
    object_id = "f954e070-7934-4591-8004-1fe23060f2bb"
    described = BinaryReference(object_id.replace("-", ""), "vektor_grafik", "pdf", len(pdf))
    letter = replace(letter, references=(Reference(description="BIN", binary=described),))
    binary = BinaryLetter(
        envelope=letter.envelope,
        letter_identifier="BIN1",
        authorised=letter.authorised,
        sender=letter.sender,
        receiver=letter.receiver,
        patient=letter.patient,
        objects=(
            BinaryObject(
                object_id, "vektor_grafik", "pdf", len(pdf), base64.b64encode(pdf).decode()
            ),
        ),
    )
    directory = {
        "5790001382445": SorEntry(sor="359011000016000"),
        "5790000121441": SorEntry(sor="328051000016008"),
    }
    return build_fhir(care_communication_from_oioxml(letter, binary, directory=directory))


def bench_fhir(seconds: float) -> None:
    from messages.fhir.convert.letter import oioxml_from_care_communication
    from messages.fhir.model import CareCommunication
    from messages.fhir.read import read_fhir
    from messages.fhir.rules import require_valid

    data = sample_bundle()

    def bare() -> None:
        json.loads(data)

    def samspil() -> None:
        message = read_fhir(data)
        assert isinstance(message, CareCommunication)
        require_valid(message)
        letter, binary = oioxml_from_care_communication(message)
        build_message(letter)
        if binary is not None:
            build_message(binary)

    base, ours, ratio = compare(bare, samspil, seconds)
    print(f"CareCommunication (JSON) {len(data):,} bytes, validated and converted to OIOXML")
    print(f"  json.loads                             {base:10,.0f} msgs/s  (baseline)")
    print(f"  Samspil read + rules + XDIS91/XBIN01   {ours:10,.0f} msgs/s")
    print(f"  median per bundle                      {1000 / ours:10.3f} ms  (target <= 0.5)")
    print(f"  ratio (median of paired rounds)        {ratio:10.2f}")


PARTS: dict[str, Callable[[float], None]] = {
    "xml": bench_xml,
    "dis91": bench_dis91,
    "hl7": bench_hl7,
    "fhir": bench_fhir,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed round")
    parser.add_argument("--only", choices=sorted(PARTS), help="run one part only")
    args = parser.parse_args()
    print(f"Samspil message-layer benchmark · {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    for name, part in PARTS.items():
        if args.only in (None, name):
            part(args.seconds)


if __name__ == "__main__":
    main()
