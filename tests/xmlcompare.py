"""Compare XML documents after normalising them (tests only).

Two documents are equivalent when their canonical forms (C14N) are equal after removing
indentation — whitespace-only text between elements whose content is not mixed — and the
``xsi:schemaLocation`` hint. Whitespace inside MedCom's formatted text (``Text01``,
``RefuseText`` and their styles) is content and is kept.
"""

from __future__ import annotations

from lxml import etree

from messages.xmlsafe import parse_xml

MIXED = {"Text01", "FixedFont", "Bold", "Italic", "Underline", "Right", "Center", "RefuseText"}
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def normalise(data: bytes) -> bytes:
    root = parse_xml(data)
    for element in root.iter(etree.Element):
        for name in [a for a in element.attrib if str(a).startswith(f"{{{XSI}}}")]:
            del element.attrib[name]
        mixed = _local(element) in MIXED
        if not mixed and element.text is not None and not element.text.strip():
            element.text = None
        for child in element:
            if not mixed and child.tail is not None and not child.tail.strip():
                child.tail = None
    etree.cleanup_namespaces(root)
    canonical = etree.tostring(root, method="c14n")
    assert isinstance(canonical, bytes)
    return canonical


def equivalent(a: bytes, b: bytes) -> bool:
    return normalise(a) == normalise(b)
