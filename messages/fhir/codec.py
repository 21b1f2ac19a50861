"""FHIR JSON and XML ⇄ one tree: the bundle as FHIR JSON's dicts and lists.

Reading: :func:`parse_fhir` takes the bytes as they came (JSON when the first character is
``{``, XML when it is ``<``) and returns the tree. XML goes through Samspil's one hardened
XML parser (:func:`messages.xmlsafe.parse_xml`: no DTD, no entities, size and depth
limits); JSON is refused over the same size limit and beyond :data:`MAX_DEPTH` levels
(checked before Python's decoder recurses), so a hostile bundle costs bounded memory and
time. An element read from XML is a list when it repeats and a single value otherwise;
the readers accept both shapes (:func:`first`, :func:`every`).

Writing: the builders make the tree in FHIR's element order, with lists exactly where FHIR
allows repeats; :func:`dump_json` and :func:`dump_xml` serialise it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lxml import etree

from messages.errors import FhirSyntaxError, XmlSyntaxError
from messages.xmlsafe import DEFAULT_MAX_BYTES, parse_xml

__all__ = [
    "FHIR_NS",
    "MAX_DEPTH",
    "Tree",
    "dump_json",
    "dump_xml",
    "every",
    "first",
    "parse_fhir",
]

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
#: a MedCom bundle is about 10 levels deep; 64 leaves room for extensions on extensions
MAX_DEPTH = 64

Tree = dict[str, Any]

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_INNERMOST = re.compile(rb"\{\}|\[\]")
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"{}[]")))


def _brackets_only(data: bytes) -> bytes:
    return data.translate(None, _NOT_BRACKETS)


def first(node: Any, key: str) -> Any:
    """The first value of ``node[key]`` (a value, or the first of a list), else None."""
    if type(node) is not dict:
        return None
    value = node.get(key)
    if type(value) is list:
        return value[0] if value else None
    return value


def every(node: Any, key: str) -> list[Any]:
    """Every value of ``node[key]`` as a list (empty when absent)."""
    if type(node) is not dict:
        return []
    value = node.get(key)
    if value is None:
        return []
    return value if type(value) is list else [value]


def _peeled_depth_ok(skeleton: bytes) -> bool | None:
    """Peel the innermost bracket pairs off, once per level: True within MAX_DEPTH levels,
    False beyond, None when the brackets do not pair up."""
    for _ in range(MAX_DEPTH):
        if not skeleton:
            return True
        peeled = _INNERMOST.sub(b"", skeleton)
        if len(peeled) == len(skeleton):
            return None
        skeleton = peeled
    return not skeleton


def _json_depth_ok(data: bytes) -> bool:
    """Whether the JSON nests at most MAX_DEPTH levels, judged before decoding.

    The brackets alone are peeled first (every step in C; a real bundle takes about ten);
    only when that is not conclusive — brackets inside strings — are the strings removed
    and the brackets peeled again. Brackets inside strings can hide some depth from the
    first look; whatever they hide is still refused by the decoder's own recursion guard
    long before memory matters.
    """
    if _peeled_depth_ok(_brackets_only(data)):
        return True
    return _peeled_depth_ok(_brackets_only(_STRING.sub(b"", data))) is not False


def _parse_json(data: bytes) -> Tree:
    if not _json_depth_ok(data):
        raise FhirSyntaxError(
            f"the JSON nests deeper than {MAX_DEPTH} levels; a FHIR bundle never does",
            code="fhir-too-deep",
        )
    try:
        tree = json.loads(data)
    except RecursionError as exc:  # depth hidden behind brackets in strings
        raise FhirSyntaxError("the JSON nests too deeply", code="fhir-too-deep") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise FhirSyntaxError(f"the bundle is not valid JSON: {exc}", code="fhir-syntax") from exc
    if not isinstance(tree, dict):
        raise FhirSyntaxError("a FHIR resource in JSON is an object", code="fhir-not-a-bundle")
    return tree


def _local(element: etree._Element) -> tuple[str, str]:
    qname = etree.QName(element)
    return qname.namespace or "", qname.localname


def _element_to_tree(element: etree._Element) -> Tree:
    out: Tree = {}
    url = element.get("url")
    if url is not None:
        out["url"] = url
    for child in element:
        if not isinstance(child.tag, str):
            continue
        ns, name = _local(child)
        value: Any
        if ns == XHTML_NS:
            value = "(narrative)"  # the narrative is for people; Samspil reads the data
        elif ns != FHIR_NS:
            raise FhirSyntaxError(
                f"element {name!r} is not in the FHIR namespace", code="fhir-syntax"
            )
        elif name in ("resource", "contained"):
            inner = [c for c in child if isinstance(c.tag, str)]
            if len(inner) != 1:
                raise FhirSyntaxError(f"{name} holds one resource", code="fhir-syntax")
            value = _resource_to_tree(inner[0])
        elif (child.get("value") is not None and not len(child)) or child.get("value") is not None:
            value = child.get("value")
        else:
            value = _element_to_tree(child)
        existing = out.get(name)
        if existing is None:
            out[name] = value
        elif isinstance(existing, list):
            existing.append(value)
        else:
            out[name] = [existing, value]
    return out


def _resource_to_tree(element: etree._Element) -> Tree:
    ns, name = _local(element)
    if ns != FHIR_NS:
        raise FhirSyntaxError(f"{name!r} is not a FHIR resource", code="fhir-not-a-bundle")
    tree = {"resourceType": name}
    tree.update(_element_to_tree(element))
    return tree


def _parse_xml(data: bytes, max_bytes: int) -> Tree:
    try:
        root = parse_xml(data, max_bytes=max_bytes)
    except XmlSyntaxError as exc:
        raise FhirSyntaxError(f"the bundle is not usable XML: {exc.message}") from exc
    return _resource_to_tree(root)


def parse_fhir(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Tree, str]:
    """The resource in ``data`` as a tree, and its format (``"json"`` or ``"xml"``)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FhirSyntaxError("a FHIR message must be given as bytes", code="fhir-syntax")
    raw = bytes(data)
    if len(raw) > max_bytes:
        raise FhirSyntaxError(
            f"the bundle is {len(raw):,} bytes; the limit is {max_bytes:,} bytes",
            code="fhir-too-large",
        )
    start = raw.lstrip(b" \t\r\n\xef\xbb\xbf")[:1]
    if start == b"{":
        return _parse_json(raw), "json"
    if start == b"<":
        return _parse_xml(raw, max_bytes), "xml"
    raise FhirSyntaxError(
        "a FHIR message is JSON (starting with '{') or XML (starting with '<')",
        code="fhir-syntax",
    )


def dump_json(tree: Tree) -> bytes:
    """The tree as compact UTF-8 FHIR JSON."""
    return json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _primitive(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _fill(element: etree._Element, tree: Tree, *, extension: bool) -> None:
    for key, value in tree.items():
        if key == "resourceType":
            continue
        if key == "url" and extension:
            element.set("url", value)
            continue
        for item in value if isinstance(value, list) else [value]:
            _write(element, key, item)


def _write(parent: etree._Element, name: str, value: Any) -> None:
    child = etree.SubElement(parent, f"{{{FHIR_NS}}}{name}")
    if isinstance(value, dict):
        resource_type = value.get("resourceType")
        if name in ("resource", "contained") and isinstance(resource_type, str):
            inner = etree.SubElement(child, f"{{{FHIR_NS}}}{resource_type}")
            _fill(inner, value, extension=False)
        else:
            _fill(child, value, extension=name in ("extension", "modifierExtension"))
    else:
        try:
            child.set("value", _primitive(value))
        except ValueError as exc:  # control characters, NUL: FHIR XML cannot hold them
            raise FhirSyntaxError(
                f"{name} holds characters that XML cannot carry (control characters or NUL)",
                code="fhir-invalid-characters",
            ) from exc


def dump_xml(tree: Tree) -> bytes:
    """The tree as UTF-8 FHIR XML."""
    nsmap: Any = {None: FHIR_NS}
    root = etree.Element(f"{{{FHIR_NS}}}{tree['resourceType']}", nsmap=nsmap)
    _fill(root, tree, extension=False)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    assert isinstance(data, bytes)
    return data
