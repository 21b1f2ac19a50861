"""The one place where Samspil parses XML.

Every XML document that enters Samspil — over HTTP, from a file drop, from the command line —
is read by :func:`parse_xml`, which is hardened against hostile input:

* no DTD at all (a document with a ``<!DOCTYPE`` is refused); the parser never loads
  external entities (XXE) or anything from the network and never expands entities
  (billion laughs; libxml2 also caps entity amplification);
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
        remove_comments=True,  # comments and PIs carry nothing Samspil reads; without them
        remove_pis=True,  # a schema-valid document's elements sit at fixed positions
        collect_ids=False,
    )


# lxml parsers are not thread-safe: each thread that parses gets its own.
_LOCAL = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _new_parser()
    return parser


def _has_dtd(root: etree._Element) -> bool:
    docinfo: Any = root.getroottree().docinfo
    return bool(docinfo.doctype) or docinfo.internalDTD is not None


def parse_xml(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse ``data`` as one XML document and return its root element.

    Raises :class:`MessageTooLargeError` over ``max_bytes`` and :class:`XmlSyntaxError` for
    anything not well-formed or not safe (DTD, entity references, excessive depth).
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise XmlSyntaxError("an XML message must be given as bytes, with its encoding")
        data = bytes(data)
    raw: bytes = data
    if len(raw) > max_bytes:
        raise MessageTooLargeError(
            f"the document is {len(raw):,} bytes; the limit is {max_bytes:,} bytes"
        )
    if not raw or raw.isspace():
        raise XmlSyntaxError("the document is empty", line=1)
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) and exc.lineno > 0 else None
        reason = str(exc.msg or exc).split(", line ")[0]
        raise XmlSyntaxError(f"the document is not well-formed XML: {reason}", line=line) from exc
    except (ValueError, LookupError) as exc:  # e.g. an encoding lxml does not know
        raise XmlSyntaxError(f"the document cannot be decoded: {exc}", line=1) from exc
    # A DTD is the door to entity expansion and external entities. The parser neither loads
    # nor expands them (and libxml2 caps entity amplification); the document is refused.
    if _has_dtd(root):
        raise XmlSyntaxError(
            "a document type declaration (DTD) is not allowed in MedCom messages", line=1
        )
    return root
