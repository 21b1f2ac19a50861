"""MedCom FHIR bundles: built and read back in JSON and XML, parsed by an independent FHIR
library (fhir.resources, R4B), and hostile bundles refused with a typed error and a code."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given, settings
from hypothesis import strategies as st

from messages.errors import FhirError, FhirStructureError, FhirSyntaxError, MessageError
from messages.fhir.build import build_fhir, care_communication_tree
from messages.fhir.codec import MAX_DEPTH, dump_json, dump_xml, parse_fhir
from messages.fhir.convert.letter import oioxml_from_care_communication
from messages.fhir.entries import MAX_ENTRIES
from messages.fhir.model import AckCode, Acknowledgement, CareCommunication, Organization
from messages.fhir.read import read_acknowledgement, read_care_communication, read_fhir
from messages.fhir.rules import check_care_communication
from tests.fhir_samples import GP_GLN, GP_SOR, PPR_GLN, PPR_SOR, sample_care_communication

MESSAGE = sample_care_communication()
#: the author's role in words (code.text), and the author named on the attachment too
WORDED = replace(
    MESSAGE,
    authors=(replace(MESSAGE.authors[0], role_code=None, role_text="Sundhedsplejerske"),),
    attachments=(replace(MESSAGE.attachments[0], author_role_id=MESSAGE.authors[0].role_id),),
)
ACK = Acknowledgement(
    bundle_id="b1c9f3a4-8d2e-4f7a-9c1b-2e3d4f5a6b7c",
    timestamp=datetime(2026, 11, 28, 14, 6, tzinfo=UTC),
    header_id="0f4e2d1c-3b5a-4978-8a6b-5c4d3e2f1a0b",
    response_identifier=MESSAGE.header_id,
    code="fatal-error",
    sender=Organization(id="7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", sor=PPR_SOR, gln=PPR_GLN),
    receiver=Organization(id="1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a", sor=GP_SOR, gln=GP_GLN),
    source_endpoint="https://sor2.sum.dsdn.dk/#id=" + PPR_SOR,
    destination_endpoint="https://sor2.sum.dsdn.dk/#id=" + GP_SOR,
    details="Ukendt modtager",
)


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "message", [MESSAGE, WORDED, ACK], ids=["care-communication", "worded-role", "ack"]
)
def test_built_bundle_reads_back_equal(
    message: CareCommunication | Acknowledgement, fmt: Any
) -> None:
    data = build_fhir(message, fmt=fmt)
    assert read_fhir(data) == message


@pytest.mark.parametrize(
    "message", [MESSAGE, WORDED, ACK], ids=["care-communication", "worded-role", "ack"]
)
def test_fhir_resources_parses_what_samspil_emits(
    message: CareCommunication | Acknowledgement,
) -> None:
    parsed_json = Bundle.model_validate_json(build_fhir(message, fmt="json"))
    parsed_xml = Bundle.model_validate_xml(build_fhir(message, fmt="xml"))
    assert parsed_json.type == parsed_xml.type == "message"
    assert len(parsed_json.entry or []) == len(parsed_xml.entry or [])
    first = (parsed_json.entry or [])[0].resource
    assert first is not None
    assert first.get_resource_type() == "MessageHeader"


def test_an_unknown_acknowledgement_code_is_read_as_it_is() -> None:
    tree = json.loads(build_fhir(ACK))
    tree["entry"][0]["resource"]["response"]["code"] = "some-future-code"
    ack = read_acknowledgement(tree)
    assert ack.code == "some-future-code"
    assert not ack.positive
    assert {c.value for c in AckCode} == {"ok", "transient-error", "fatal-error"}


def _tree() -> dict[str, Any]:
    return copy.deepcopy(care_communication_tree(MESSAGE))


def _resource(tree: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e["resource"] for e in tree["entry"] if e["resource"]["resourceType"] == kind)


def _duplicate_full_url(tree: dict[str, Any]) -> None:
    tree["entry"][2]["fullUrl"] = tree["entry"][1]["fullUrl"]


def _dangling_patient(tree: dict[str, Any]) -> None:
    _resource(tree, "Communication")["subject"] = {"reference": "Patient/nowhere"}


def _focus_on_patient(tree: dict[str, Any]) -> None:
    patient_id = _resource(tree, "Patient")["id"]
    _resource(tree, "MessageHeader")["focus"] = [{"reference": f"Patient/{patient_id}"}]


def _absolute_reference_to_wrong_type(tree: dict[str, Any]) -> None:
    patient_url = next(
        e["fullUrl"] for e in tree["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    _resource(tree, "MessageHeader")["sender"] = {"reference": patient_url}


def _no_header(tree: dict[str, Any]) -> None:
    tree["entry"] = [e for e in tree["entry"] if e["resource"]["resourceType"] != "MessageHeader"]


def _entry_without_resource(tree: dict[str, Any]) -> None:
    tree["entry"].append({"fullUrl": "urn:uuid:0"})


def _too_many_entries(tree: dict[str, Any]) -> None:
    tree["entry"].extend(
        {"fullUrl": f"urn:uuid:{i}", "resource": {"resourceType": "Basic", "id": str(i)}}
        for i in range(MAX_ENTRIES)
    )


def _bad_timestamp(tree: dict[str, Any]) -> None:
    tree["timestamp"] = "2026-13-45"


def _unknown_event(tree: dict[str, Any]) -> None:
    _resource(tree, "MessageHeader")["eventCoding"]["code"] = "something-else"


@pytest.mark.parametrize(
    ("damage", "code"),
    [
        (_duplicate_full_url, "fhir-duplicate-fullurl"),
        (_dangling_patient, "fhir-unresolved-reference"),
        (_focus_on_patient, "fhir-wrong-resource-type"),
        (_absolute_reference_to_wrong_type, "fhir-wrong-resource-type"),
        (_no_header, "fhir-missing-element"),
        (_entry_without_resource, "fhir-missing-element"),
        (_too_many_entries, "fhir-too-many-entries"),
        (_bad_timestamp, "fhir-invalid-value"),
        (_unknown_event, "fhir-unsupported-event"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_broken_bundle_is_a_structure_error_with_its_code(
    damage: Callable[[dict[str, Any]], None], code: str, fmt: str
) -> None:
    tree = _tree()
    damage(tree)
    data = dump_json(tree) if fmt == "json" else dump_xml(tree)
    with pytest.raises(FhirStructureError) as caught:
        read_fhir(data)
    assert caught.value.code == code
    assert "1203164321" not in str(caught.value)  # no CPR in an error's sentence


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "fhir-syntax"),
        (b"hello", "fhir-syntax"),
        (b"{not json", "fhir-syntax"),
        (b"[1, 2]", "fhir-syntax"),
        (b'"a string"', "fhir-syntax"),
        (b'{"resourceType": "Patient"}', "fhir-not-a-bundle"),
        (b"<Bundle/>", "fhir-not-a-bundle"),  # not in the FHIR namespace
        (b"<Bundle xmlns='http://hl7.org/fhir'><oops", "fhir-syntax"),
        (
            b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>"
            b"<Bundle xmlns='http://hl7.org/fhir'/>",
            "fhir-syntax",
        ),
        (b'{"resourceType": "Bundle", "entry": 7}', "fhir-missing-element"),
    ],
)
def test_not_fhir_is_refused_with_a_code(data: bytes, code: str) -> None:
    with pytest.raises(FhirError) as caught:
        read_fhir(data)
    assert caught.value.code == code


def test_deep_json_is_refused_before_decoding() -> None:
    deep = b'{"resourceType":"Bundle","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(FhirSyntaxError) as caught:
        parse_fhir(deep)
    assert caught.value.code == "fhir-too-deep"
    just = b'{"a":' * (MAX_DEPTH - 1) + b"1" + b"}" * (MAX_DEPTH - 1)
    assert parse_fhir(just)[1] == "json"
    brackets_in_strings = b'{"resourceType":"Bundle","x":"' + b"[" * 10_000 + b'"}'
    assert parse_fhir(brackets_in_strings)[1] == "json"


def test_deep_xml_is_refused() -> None:
    deep = (
        b"<Bundle xmlns='http://hl7.org/fhir'>" + b"<a>" * 10_000 + b"</a>" * 10_000 + b"</Bundle>"
    )
    with pytest.raises(FhirSyntaxError):
        read_fhir(deep)


def test_oversized_bundle_is_refused_before_parsing() -> None:
    data = build_fhir(MESSAGE)
    with pytest.raises(FhirSyntaxError) as caught:
        read_fhir(data, max_bytes=len(data) - 1)
    assert caught.value.code == "fhir-too-large"
    assert read_fhir(data, max_bytes=len(data)) == MESSAGE


def test_wide_but_shallow_json_is_read_in_bounded_time() -> None:
    wide = b'{"resourceType":"Bundle","type":"message","x":[' + b"[]," * 300_000 + b"[]]}"
    tree, _ = parse_fhir(wide)
    with pytest.raises(FhirStructureError):
        read_care_communication(tree)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every (container path, key) in the tree: where a value can be swapped."""
    found: list[tuple[Any, ...]] = []
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, value in items:
        found.append((*path, key))
        found.extend(_places(value, (*path, key)))
    return found


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_bundle_is_read_or_refused_with_a_message_error(data: st.DataObject) -> None:
    tree = _tree()
    for _ in range(data.draw(st.integers(1, 3))):
        *parents, key = data.draw(st.sampled_from(_places(tree)))
        holder: Any = tree
        for step in parents:
            holder = holder[step]
        holder[key] = data.draw(JSON_VALUES)
    refused_with: str | None = None
    try:
        message = read_fhir(dump_json(tree))
        if isinstance(message, CareCommunication):
            check_care_communication(message)
            read_fhir(build_fhir(message))
            oioxml_from_care_communication(message)
    except MessageError as exc:  # FhirError, ConversionError, a character XML cannot hold
        refused_with = exc.code
    assert refused_with != ""  # read, or refused with a code; nothing else escapes
