"""The one place where Samspil parses XML.

Every XML document that enters Samspil — over HTTP, from a file drop, from the command line —
is read by :func:`parse_xml`, which is hardened against hostile input:

* no DTD at all (a document with a ``<!DOCTYPE`` is refused), so no entity expansion
  (billion laughs), no external entities (XXE), no network access;
* a size limit (default 10 MiB) checked before parsing;
* libxml2's depth limit (256 levels without ``XML_PARSE_HUGE``; MedCom documents are under
  ten levels deep), so 100,000-deep nesting is refused without exhausting the stack;
* any declared encoding libxml2 knows (MedCom traffic uses ISO-8859-1, windows-1252 and
  UTF-8) is decoded as declared; the caller keeps the original bytes.

Errors are :class:`~messages.errors.XmlSyntaxError` with the MedCom refuse code
``syntaksfejl`` and the line where libxml2 stopped.
"""

from __future__ import annotations

import threading
from typing import Any

from lxml import etree

from messages.errors import MessageTooLargeError, XmlSyntaxError

__all__ = ["DEFAULT_MAX_BYTES", "MAX_DEPTH", "parse_xml"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 256  # libxml2's limit without XML_PARSE_HUGE


def _new_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
        remove_pis=False,
        collect_ids=False,
    )


# lxml parsers are not thread-safe; each thread that parses gets its own through this cache.
_PARSERS: dict[int, etree.XMLParser] = {}


def _parser() -> etree.XMLParser:
    key = threading.get_ident()
    parser = _PARSERS.get(key)
    if parser is None:
        parser = _PARSERS[key] = _new_parser()
    return parser


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse ``data`` as one XML document and return its root element.

    Raises :class:`MessageTooLargeError` over ``max_bytes`` and :class:`XmlSyntaxError` for
    anything not well-formed or not safe (DTD, entity references, excessive depth).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise XmlSyntaxError("an XML message must be given as bytes, with its declared encoding")
    if len(data) > max_bytes:
        raise MessageTooLargeError(
            f"the document is {len(data):,} bytes; the limit is {max_bytes:,} bytes"
        )
    if not data.strip():
        raise XmlSyntaxError("the document is empty", line=1)
    head = bytes(data[:4096]).replace(b"\x00", b"")
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise XmlSyntaxError(
            "a document type declaration (DTD) is not allowed in MedCom messages", line=1
        )
    try:
        root = etree.fromstring(bytes(data), _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        reason = str(exc.msg or exc).split(", line ")[0]
        raise XmlSyntaxError(f"the document is not well-formed XML: {reason}", line=line) from exc
    except (ValueError, LookupError) as exc:  # e.g. an encoding lxml does not know
        raise XmlSyntaxError(f"the document cannot be decoded: {exc}", line=1) from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlSyntaxError(
            "a document type declaration (DTD) is not allowed in MedCom messages", line=1
        )
    for _ in root.iter(etree.Entity):
        raise XmlSyntaxError("entity references are not allowed in MedCom messages")
    return root
