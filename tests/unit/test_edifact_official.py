"""MedCom's EDIFACT examples against their OIOXML twins, and pydifact as an independent reader.

Each ``examples/edifact/<name>.edi`` has its twin ``examples/oioxml/<name>_converted.xml``
(made by MedCom's converter). The model read from the ``.edi`` must equal the model the
OIOXML codec reads from the twin, field by field; the ``.edi`` Samspil writes from the XML
model must read back to the same model — and is MedCom's own file byte for byte (but the
stray empty last line of the CTL examples).

Known differences between MedCom's pairs: none. (Checked field by field: envelope, letter
head, parties with their location numbers from UNB, patient, priority and subject, the
text with its ``\\`` continuations and ``.`` lines, the receipts' UCI/UCM and refusals.)
"""

from __future__ import annotations

import warnings
from dataclasses import fields
from typing import Any

import pytest

from messages.medcom.documents import parse_message
from messages.medcom.edifact import build_edifact, parse_edifact
from messages.medcom.edifact.syntax import tokenize
from messages.medcom.model import Correspondence, Receipt
from messages.medcom.registry import SchemaRegistry
from tests.medcom_paths import OFFICIAL, official_edifact, requires_official

pytestmark = [pytest.mark.official, requires_official]

NAMES = ["DIS91_1", "DIS91_2", "CTL01_1", "CTL02_1", "CTL03_1"]


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry()


def _twin(name: str, registry: SchemaRegistry) -> Correspondence | Receipt:
    path = OFFICIAL / "examples" / "oioxml" / f"{name}_converted.xml"
    message = parse_message(path.read_bytes(), registry=registry)
    assert isinstance(message, Correspondence | Receipt)
    return message


def _differences(ours: object, theirs: object) -> list[str]:
    return [
        f"{f.name}: {getattr(ours, f.name)!r} != {getattr(theirs, f.name)!r}"
        for f in fields(theirs)  # type: ignore[arg-type]
        if getattr(ours, f.name) != getattr(theirs, f.name)
    ]


@pytest.mark.parametrize("name", NAMES)
def test_edi_reads_as_its_xml_twin(name: str, registry: SchemaRegistry) -> None:
    from_edi = parse_edifact(official_edifact(name).read_bytes())
    from_xml = _twin(name, registry)
    assert _differences(from_edi, from_xml) == []
    assert from_edi == from_xml


@pytest.mark.parametrize("name", NAMES)
def test_edi_written_from_the_xml_model_is_medcoms_file(
    name: str, registry: SchemaRegistry
) -> None:
    from_xml = _twin(name, registry)
    built = build_edifact(from_xml)
    assert parse_edifact(built) == from_xml
    assert built.rstrip() == official_edifact(name).read_bytes().rstrip()


def _pydifact_segments(data: bytes) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
    from pydifact.parser import Parser

    with warnings.catch_warnings():  # pydifact warns that it has no directory for D93A
        warnings.simplefilter("ignore")
        segments = list(Parser().parse(data.decode("latin-1")))
    out = []
    for segment in segments:
        if segment.tag == "UNA":
            continue
        elements: list[Any] = list(segment.elements)
        out.append(
            (
                segment.tag,
                tuple((e,) if isinstance(e, str) else tuple(e) for e in elements),
            )
        )
    return out


def _ours(data: bytes) -> list[tuple[str, tuple[tuple[str, ...], ...]]]:
    return [(s.tag, s.elements) for s in tokenize(data)[1]]


@pytest.mark.parametrize("name", NAMES)
def test_pydifact_reads_samspils_output_into_the_same_segments(
    name: str, registry: SchemaRegistry
) -> None:
    built = build_edifact(_twin(name, registry))
    assert _pydifact_segments(built) == _ours(built)
    original = official_edifact(name).read_bytes()
    assert _pydifact_segments(original) == _ours(original)
