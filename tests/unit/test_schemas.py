"""Samspil's own MedCom schemas (``schemas/*.xsd``) accept exactly what MedCom's official ones do.

Three kinds of evidence:

* every project schema compiles, with lxml and with xmlschema as a second opinion;
* every official OIOXML example validates against the project schema of its namespace;
* a differential test: mutations of the official examples get the same verdict (valid or
  invalid) from the project schema and from the official one. A deterministic sweep applies
  every one-step mutation of a fixed menu to every element of the examples: texts on and beside
  every length boundary, every value of every value list, odd dates, times, numbers, booleans
  and UUIDs; dropped, duplicated, swapped, renamed and inserted elements; 10/11 and 99/100
  repetitions; stray attributes and text. Hypothesis then stacks up to four random mutations.

The intended difference is asserted on its own: Samspil carries one letter of its family per
Emessage, where the official Emessage allows a series of letters of any kind of its namespace.
Elements inside ``Local_Elements`` are never mutated: that content is xs:anyType, validated
laxly against each schema's global declarations, and the project schemas declare only Emessage.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from messages.xmlsafe import parse_xml
from tests.medcom_paths import OFFICIAL, official_examples, official_schema, requires_official

SCHEMAS: Final = Path(__file__).resolve().parents[2] / "schemas"
XS: Final = {"xs": "http://www.w3.org/2001/XMLSchema"}
OUTSIDE_LETTER: Final = frozenset({"Envelope", "Local_Elements"})

official = pytest.mark.official


@dataclass(frozen=True)
class Family:
    """One project schema and the official schema it mirrors."""

    name: str  # schemas/<name>.xsd
    date: str  # xsd/<date>/EMessage.xsd in the official files
    namespace: str
    letters: frozenset[str]  # the letters it carries, one per Emessage

    @property
    def path(self) -> Path:
        return SCHEMAS / f"{self.name}.xsd"

    def __str__(self) -> str:
        return self.name


FAMILIES: Final = (
    Family(
        "xdis91",
        "2006/07/01",
        "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2006/07/01/",
        frozenset({"ClinicalEmail"}),
    ),
    Family(
        "xctl",
        "2005/08/07",
        "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2005/08/07/",
        frozenset({"PositiveReceipt", "NegativeReceipt", "NegativeVansReceipt"}),
    ),
    Family(
        "xbin01",
        "2012/03/28",
        "http://rep.oio.dk/medcom.dk/xml/schemas/2012/03/28/",
        frozenset({"BinaryLetter"}),
    ),
)
BY_NAMESPACE: Final = {family.namespace: family for family in FAMILIES}


@dataclass(frozen=True)
class Example:
    name: str
    root: etree._Element


# ---------------------------------------------------------------------------------------------
# Loading


@functools.cache
def project_schema(family: Family) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(family.path)))


@functools.cache
def official_examples_of(family: Family) -> tuple[Example, ...]:
    """The official examples in the family's namespace, parsed from their original bytes."""
    parsed = (Example(path.name, parse_xml(path.read_bytes())) for path in official_examples())
    return tuple(e for e in parsed if etree.QName(e.root).namespace == family.namespace)


# Seeds: official examples with the elements no official example has added, so that every
# element of every schema is there for the sweep to mutate. (xpath to an anchor, where, XML)
Edit = tuple[str, str, str]
SEEDS: Final[dict[str, list[tuple[str, list[Edit]]]]] = {
    "xdis91": [
        (
            "Flow1-XDIS91_Ex_to_FHIR.xml",
            [
                (
                    "//m:Patient/m:CivilRegistrationNumber",
                    "replace",
                    "<AlternativeIdentifier>K-12345678</AlternativeIdentifier>",
                ),
                ("//m:Patient/m:DistrictName", "before", "<SuburbName>Bolbro</SuburbName>"),
                (
                    "//m:Patient/m:EpisodeOfCareStatusCode",
                    "before",
                    "<OccupancyText>elev</OccupancyText>",
                ),
                (
                    "(//m:Text01)[1]",
                    "append",
                    "<Right>r<Break/></Right><Center>c</Center><Bold>b<Space/>b</Bold>"
                    "<Italic>i</Italic><Underline>u</Underline><Space/>"
                    "<FixedFont>f<Bold>x<Break/></Bold><Space/><Right/><Center/><Italic/>"
                    "<Underline/><Break/></FixedFont>",
                ),
                (
                    "(//m:Reference)[last()]",
                    "after",
                    "<Reference><RefDescription>u</RefDescription><URL>https://x.dk</URL>"
                    "</Reference><Reference><RefDescription>s</RefDescription><SUP>true</SUP>"
                    "</Reference>",
                ),
                ("/m:Emessage", "append", "<Local_Elements><Any a='1'>free</Any></Local_Elements>"),
            ],
        )
    ],
    "xctl": [
        (
            "CTL02_1_converted.xml",
            [
                (
                    "//m:OriginalEmessage/m:OriginalReceiver",
                    "after",
                    "<RefuseCode>syntaksfejl</RefuseCode><RefuseText>a<Space/>b<Break/></RefuseText>",
                ),
                ("/m:Emessage", "append", "<Local_Elements/>"),
            ],
        )
    ],
    "xbin01": [
        (
            "Flow1-XBIN01_Ex_to_FHIR.xml",
            [
                (
                    "//m:Patient/m:CivilRegistrationNumber",
                    "replace",
                    "<AlternativeIdentifier>K-12345678</AlternativeIdentifier>",
                ),
                (
                    "//m:Sender/m:MedicalSpecialityCode",
                    "before",
                    "<UnitName>u</UnitName><SuburbName>s</SuburbName>"
                    "<TelephoneSubscriberIdentifier>12345678</TelephoneSubscriberIdentifier>",
                ),
            ],
        ),
        (
            "Flow1-XBIN01_Ex_to_FHIR.xml",
            [
                (
                    "//m:Patient",
                    "replace",
                    "<SystemInformation>true</SystemInformation><Contents>logs</Contents>",
                ),
            ],
        ),
    ],
}


def derive(base: Example, edits: list[Edit], namespace: str) -> Example:
    root = copy.deepcopy(base.root)
    for path, where, snippet in edits:
        anchors = root.xpath(path, namespaces={"m": namespace})
        assert isinstance(anchors, list)
        assert anchors, f"{base.name}: nothing at {path}"
        anchor = anchors[0]
        assert isinstance(anchor, etree._Element)
        new = list(etree.fromstring(f'<w xmlns="{namespace}">{snippet}</w>'))
        if where == "append":
            anchor.extend(new)
        elif where in ("before", "replace"):
            for element in new:
                anchor.addprevious(element)
            if where == "replace":
                parent = anchor.getparent()
                assert parent is not None
                parent.remove(anchor)
        else:
            assert where == "after"
            for element in reversed(new):
                anchor.addnext(element)
    return Example(f"{base.name} with {len(edits)} edits", root)


@functools.cache
def examples_of(family: Family) -> tuple[Example, ...]:
    """The official examples, then the seeds made from them."""
    official_ones = official_examples_of(family)
    by_name = {example.name: example for example in official_ones}
    seeds = tuple(
        derive(by_name[base], edits, family.namespace) for base, edits in SEEDS[family.name]
    )
    return official_ones + seeds


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def xpath_strings(path: Path, expression: str) -> set[str]:
    found = etree.parse(str(path)).xpath(expression, namespaces=XS)
    assert isinstance(found, list)
    return {str(value) for value in found}


# ---------------------------------------------------------------------------------------------
# Compilation (no official files needed)


@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_compiles_with_lxml(family: Family) -> None:
    schema_doc = etree.parse(str(family.path))
    assert schema_doc.getroot().get("targetNamespace") == family.namespace
    etree.XMLSchema(schema_doc)  # raises XMLSchemaParseError if the schema is broken


@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_compiles_with_xmlschema(family: Family) -> None:
    schema = xmlschema.XMLSchema(str(family.path))
    assert schema.target_namespace == family.namespace
    assert set(schema.elements) == {"Emessage"}, "Emessage is the only document element"
    letters = {child.local_name for child in schema.elements["Emessage"].iterchildren()}
    assert letters - OUTSIDE_LETTER == family.letters


@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_header_names_the_official_schema_and_the_difference(family: Family) -> None:
    header = next(etree.parse(str(family.path)).getroot().itersiblings(preceding=True))
    assert isinstance(header, etree._Comment)
    assert family.date.replace("/", "-") in str(header.text)
    assert "One letter per Emessage" in str(header.text)


# ---------------------------------------------------------------------------------------------
# The official examples


@official
@requires_official
def test_every_official_example_has_a_project_schema() -> None:
    examples = official_examples()
    assert examples, f"no examples in {OFFICIAL / 'examples' / 'oioxml'}"
    for path in examples:
        namespace = etree.QName(parse_xml(path.read_bytes())).namespace
        assert namespace in BY_NAMESPACE, f"{path.name}: no project schema for {namespace}"
    for family in FAMILIES:
        assert official_examples_of(family), f"no official example for {family}"


@official
@requires_official
@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_official_examples_and_seeds_are_valid(family: Family) -> None:
    ours = project_schema(family)
    second_opinion = xmlschema.XMLSchema(str(family.path))
    for example in examples_of(family):
        assert official_schema(family.date).validate(example.root), example.name
        assert ours.validate(example.root), f"{example.name}: {ours.error_log}"
        assert second_opinion.is_valid(etree.ElementTree(example.root)), example.name


@official
@requires_official
@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_one_letter_per_emessage(family: Family) -> None:
    """The intended difference: two letters in one envelope are MedCom-valid, not Samspil-valid."""
    for example in examples_of(family):
        root = copy.deepcopy(example.root)
        (letter,) = (child for child in root if local(child) in family.letters)
        letter.addnext(copy.deepcopy(letter))
        assert official_schema(family.date).validate(root), example.name
        assert not project_schema(family).validate(root), example.name


# ---------------------------------------------------------------------------------------------
# Mutations


@dataclass(frozen=True)
class Mutation:
    """One change to one element, addressed by its index in ``mutable_elements``."""

    kind: str
    target: int
    arg: str | int = ""

    def apply(self, root: etree._Element, namespace: str) -> None:
        element = mutable_elements(root)[self.target]
        parent = element.getparent()
        if self.kind == "text":
            element.text = str(self.arg)
        elif self.kind == "tail":
            if parent is not None:
                element.tail = str(self.arg)
        elif self.kind == "rename":
            element.tag = f"{{{namespace}}}{self.arg}"
        elif self.kind.startswith("insert") and local(element) == "Local_Elements":
            return  # its content is lax, checked against global declarations (see the top)
        elif self.kind == "insert_first":
            element.insert(0, etree.Element(f"{{{namespace}}}{self.arg}"))
        elif self.kind == "insert_last":
            element.append(etree.Element(f"{{{namespace}}}{self.arg}"))
        elif self.kind == "attribute":
            element.set(str(self.arg), "1")
        elif parent is None:
            return  # the document element has no siblings to drop, copy or swap with
        elif self.kind == "drop":
            parent.remove(element)
        elif self.kind == "duplicate":
            element.addnext(copy.deepcopy(element))
        elif self.kind == "swap":
            following = element.getnext()
            if following is not None:
                element.addprevious(following)
        elif self.kind == "repeat":  # make the element occur `arg` times in a row
            for _ in range(int(self.arg) - 1):
                element.addnext(copy.deepcopy(element))
        else:  # pragma: no cover - a typo in a test
            raise AssertionError(self.kind)


def mutable_elements(root: etree._Element) -> list[etree._Element]:
    """The root and every element below it, except what Local_Elements holds."""
    found: list[etree._Element] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        if any(local(above) == "Local_Elements" for above in element.iterancestors()):
            continue
        found.append(element)
    return found


@functools.cache
def element_names(family: Family) -> tuple[str, ...]:
    """Names to rename to and insert: the family's own, its examples', and a few strangers."""
    declared = xpath_strings(family.path, "//xs:element/@name")
    seen = {local(e) for x in examples_of(family) for e in mutable_elements(x.root)}
    strangers = {"Unknown", "Signed", "Contact", "Letter", "Local_Elements", "Emessage"}
    return tuple(sorted(declared | seen | strangers))


def facet_values(family: Family, facet: str) -> tuple[set[str], set[str]]:
    """The values of one facet in (the project schema, the official schema's folder)."""
    expression = f"//xs:{facet}/@value"
    theirs: set[str] = set()
    for path in (OFFICIAL / "xsd" / family.date).rglob("*.xsd"):
        theirs |= xpath_strings(path, expression)
    return xpath_strings(family.path, expression), theirs


@functools.cache
def probe_texts(family: Family) -> tuple[str, ...]:
    """Text values on and beside every boundary either schema draws."""
    lengths: set[int] = set()
    for facet in ("length", "minLength", "maxLength"):
        ours, theirs = facet_values(family, facet)
        lengths |= {int(value) for value in ours | theirs}
    sizes = {n + d for n in lengths for d in (-1, 0, 1) if 0 <= n + d <= 1100}
    texts = {"x" * n for n in sizes} | {"7" * n for n in (9, 10, 11)} | {" " * 10, "æ" * 71}
    ours, theirs = facet_values(family, "enumeration")
    texts |= ours | theirs | {v.upper() for v in ours} | {v.strip() + " " for v in ours}
    uuid = "7d9f3d0c-8a6e-4c4b-9a0e-2f6a1d3c5b7e"
    texts |= {
        *("", " ", "\t", "\n", " x ", "<&>", "true", "false", "TRUE", " true ", "1", "0"),
        *("-1", "+1", " 12 ", "1.0", "007", "99999999999999999999999999", "2024-02-29"),
        *("2023-02-29", "1998-12-13Z", "1998-12-13+01:00", " 1998-12-13 ", "98-12-13"),
        *("2024-13-01", "00:00", "23:59", "24:00", "12:60", "9:05", "12:00:00", " 12:00"),
        *("0000000000", "12345abcde", "1522824933", "150282-4933", "XD9134L", "XC0330Q"),
        *(
            uuid,
            uuid.upper(),
            uuid.replace("-", ""),
            "{" + uuid + "}",
            uuid[:-1] + "g",
            uuid[:-1],
            uuid + "0",
        ),
    }
    return tuple(sorted(texts))


def is_intended_difference(family: Family, root: etree._Element) -> bool:
    """An Emessage that is not exactly one letter of the family (MedCom allows a series)."""
    letters = [local(child) for child in root if local(child) not in OUTSIDE_LETTER]
    intended = len(letters) != 1 or letters[0] not in family.letters
    return local(root) == "Emessage" and intended


def disagreement(family: Family, root: etree._Element, mutations: list[Mutation]) -> str:
    """'' when both schemas give the mutated document the same verdict, else what differs."""
    theirs = official_schema(family.date).validate(root)
    ours = project_schema(family).validate(root)
    if theirs == ours or (theirs and not ours and is_intended_difference(family, root)):
        return ""
    said = "MedCom accepts, Samspil refuses" if theirs else "Samspil accepts, MedCom refuses"
    shown = etree.tostring(root, encoding="unicode")
    return f"{family}: {said} after {mutations}:\n{shown[:2000]}"


def single_mutations(family: Family, root: etree._Element) -> Iterator[Mutation]:
    """Every one-step mutation of the menu, for each element path not seen before."""
    names = element_names(family)
    texts = probe_texts(family)
    for index, element in enumerate(mutable_elements(root)):
        leaf = len(element) == 0
        for kind in ("drop", "duplicate", "swap"):
            yield Mutation(kind, index)
        for count in (10, 11, 99, 100):
            yield Mutation("repeat", index, count)
        yield Mutation("attribute", index, "extra")
        yield Mutation("tail", index, "x")
        for name in names:
            yield Mutation("rename", index, name)
        for text in texts if leaf else ("x", " ", "\n  "):
            yield Mutation("text", index, text)
        for name in ("Unknown", "Break", "Space") if leaf else names:
            yield Mutation("insert_first", index, name)
            if not leaf:
                yield Mutation("insert_last", index, name)


def element_path(element: etree._Element) -> tuple[str, ...]:
    return (*(local(e) for e in reversed(list(element.iterancestors()))), local(element))


def sweep(family: Family, schema: etree.XMLSchema, only: str = "") -> Iterator[str]:
    """A description of each one-step mutation on which ``schema`` and MedCom's official schema
    disagree (beyond the intended difference). Each element path is tried once, in the first
    example that has it; ``only`` limits the sweep to elements of that name."""
    reference = official_schema(family.date)
    seen: set[tuple[str, ...]] = set()
    for example in examples_of(family):
        paths = [element_path(e) for e in mutable_elements(example.root)]
        fresh = {i for i, path in enumerate(paths) if path not in seen and only in ("", path[-1])}
        seen.update(paths)
        scratch = copy.deepcopy(example.root)  # for the text probes, restored after each
        scratch_elements = mutable_elements(scratch)
        for mutation in single_mutations(family, example.root):
            if mutation.target not in fresh:
                continue
            if mutation.kind == "text":  # the bulk: change in place, then restore
                element = scratch_elements[mutation.target]
                before = element.text
                element.text = str(mutation.arg)
                root = scratch
            else:
                root = copy.deepcopy(example.root)
                mutation.apply(root, family.namespace)
            theirs, ours = reference.validate(root), schema.validate(root)
            if theirs != ours and not (theirs and is_intended_difference(family, root)):
                said = "MedCom accepts, Samspil refuses" if theirs else "Samspil accepts"
                where = "/".join(paths[mutation.target])
                yield f"{example.name}: {said}: {mutation.kind} {mutation.arg!r:.40} at {where}"
            if mutation.kind == "text":
                element.text = before


@official
@requires_official
@pytest.mark.parametrize("family", FAMILIES, ids=str)
def test_every_single_mutation_gets_the_same_verdict(family: Family) -> None:
    found = list(sweep(family, project_schema(family)))
    assert not found, f"{len(found)} disagreements, e.g.:\n" + "\n".join(found[:10])


KINDS: Final = (
    *("drop", "duplicate", "swap", "text", "text", "text", "tail", "rename"),
    *("insert_first", "insert_last", "repeat", "attribute"),
)
XML_TEXT: Final = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Cn")), max_size=20
)


def mutation_args(family: Family, kind: str) -> st.SearchStrategy[str | int]:
    if kind in ("text", "tail"):
        return st.one_of(
            st.sampled_from(probe_texts(family)),
            XML_TEXT,
            st.integers(0, 400).map(lambda n: "y" * n),
        )
    if kind in ("rename", "insert_first", "insert_last"):
        return st.sampled_from(element_names(family))
    if kind == "repeat":
        return st.sampled_from([2, 3, 10, 11, 99, 100])
    if kind == "attribute":
        return st.sampled_from(["extra", "Identifier"])
    return st.just("")


@official
@requires_official
@pytest.mark.parametrize("family", FAMILIES, ids=str)
@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_stacked_mutations_get_the_same_verdict(family: Family, data: st.DataObject) -> None:
    examples = examples_of(family)
    example = examples[data.draw(st.integers(0, len(examples) - 1), label="example")]
    root = copy.deepcopy(example.root)
    mutations: list[Mutation] = []
    for _ in range(data.draw(st.integers(1, 4), label="how many")):
        kind = data.draw(st.sampled_from(KINDS), label="kind")
        target = data.draw(st.integers(0, len(mutable_elements(root)) - 1), label="target")
        mutation = Mutation(kind, target, data.draw(mutation_args(family, kind), label="arg"))
        mutation.apply(root, family.namespace)
        mutations.append(mutation)
    assert disagreement(family, root, mutations) == ""


# ---------------------------------------------------------------------------------------------
# The differential test has teeth

LOOSENED: Final = [
    # (family, the element the sweep should catch it on, text in the schema, replacement)
    ("xdis91", "ClinicalInformation", 'maxOccurs="10"', 'maxOccurs="11"'),
    ("xdis91", "Subject", '<xs:maxLength value="70"/>', '<xs:maxLength value="71"/>'),
    ("xdis91", "EpisodeOfCareStatusCode", '<xs:enumeration value="doed"/>', ""),
    ("xdis91", "CivilRegistrationNumber", 'value="[0-9]{10}"', 'value="[0-9]{9,10}"'),
    ("xdis91", "Text01", '<xs:element name="FixedFont" type="FixedFontText"/>', ""),
    ("xdis91", "FixedFont", '<xs:group ref="Styles"/>\n    </xs:choice>', "</xs:choice>"),
    ("xdis91", "SUP", '<xs:pattern value="true"/>', ""),
    ("xdis91", "Time", "2[0-3]", "2[0-4]"),
    ("xctl", "OriginalLetter", 'maxOccurs="99"', 'maxOccurs="100"'),
    ("xctl", "RefuseCode", '<xs:group ref="Refusal"/>\n      <xs:element', "<xs:element"),
    ("xctl", "OriginalVersionCode", 'type="Text1to7"', 'type="Text1to8"'),
    ("xbin01", "BinaryObject", 'maxOccurs="10"', 'maxOccurs="11"'),
    ("xbin01", "ObjectExtensionCode", '<xs:enumeration value="plo"/>', ""),
    ("xbin01", "OriginalObjectSize", 'type="xs:positiveInteger"', 'type="xs:integer"'),
    ("xbin01", "ObjectIdentifier", "{12}", "{11,12}"),
    ("xbin01", "PostCodeIdentifier", '<xs:maxLength value="9"/>', '<xs:length value="4"/>'),
]


@official
@requires_official
@pytest.mark.parametrize(("name", "where", "old", "new"), LOOSENED)
def test_the_sweep_notices_a_changed_restriction(
    tmp_path: Path, name: str, where: str, old: str, new: str
) -> None:
    """Change one restriction of a project schema: the sweep must report a disagreement."""
    (family,) = (f for f in FAMILIES if f.name == name)
    text = family.path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {family.path.name}; update this test"
    changed = tmp_path / family.path.name
    changed.write_text(text.replace(old, new, 1), encoding="utf-8")
    schema = etree.XMLSchema(etree.parse(str(changed)))
    assert next(sweep(family, schema, only=where), None) is not None


@pytest.mark.parametrize("family", FAMILIES, ids=str)
@official
@requires_official
def test_every_declared_element_is_in_an_example_or_seed(family: Family) -> None:
    declared = xpath_strings(family.path, "//xs:element/@name")
    present = {local(e) for example in examples_of(family) for e in example.root.iter()}
    assert declared <= present, f"add a seed with {sorted(declared - present)}"
