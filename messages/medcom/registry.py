"""Samspil's compiled MedCom schemas, and the validation every carried document passes.

The XSDs in ``schemas/`` are Samspil's own (they mirror MedCom's official schemas, one letter
per envelope). They are compiled with lxml once, when a :class:`SchemaRegistry` is made —
the hub makes one at start-up — and each thread that validates gets its own compiled copy,
because lxml validators keep per-run state.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, cast

from lxml import etree

from messages.errors import RefuseCode, SchemaError, UnsupportedMessageError
from messages.medcom.model import VERSION_CODES, MessageType
from messages.medcom.xmlcodec import NS_XBIN01, NS_XCTL, NS_XDIS91

__all__ = ["SCHEMA_FILES", "SchemaRegistry", "schema_dir"]

SCHEMA_FILES: dict[str, str] = {
    NS_XDIS91: "xdis91.xsd",
    NS_XCTL: "xctl.xsd",
    NS_XBIN01: "xbin01.xsd",
}

# The letter element under Emessage (after Envelope) for each type, per namespace.
_LETTER_ELEMENTS: dict[str, dict[str, MessageType]] = {
    NS_XDIS91: {"ClinicalEmail": MessageType.XDIS91},
    NS_XCTL: {
        "PositiveReceipt": MessageType.XCTL03,
        "NegativeReceipt": MessageType.XCTL02,
        "NegativeVansReceipt": MessageType.XCTL01,
    },
    NS_XBIN01: {"BinaryLetter": MessageType.XBIN01},
}


def _line(element: etree._Element) -> int | None:
    line = cast(Any, element).sourceline
    return line if isinstance(line, int) else None


def schema_dir() -> Path:
    """Where the project's XSDs are: beside the package when installed, else the repo's."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / "xdis91.xsd").is_file():
            return candidate
    raise FileNotFoundError("Samspil's schemas (schemas/xdis91.xsd) are not installed")


class SchemaRegistry:
    """The compiled schemas, keyed by namespace."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or schema_dir()
        self._local = threading.local()
        self._compiled()  # compile now: fail at start-up, not on the first message

    def _compiled(self) -> dict[str, etree.XMLSchema]:
        schemas: dict[str, etree.XMLSchema] | None = getattr(self._local, "schemas", None)
        if schemas is None:
            schemas = {
                ns: etree.XMLSchema(etree.parse(str(self.directory / name)))
                for ns, name in SCHEMA_FILES.items()
            }
            self._local.schemas = schemas
        return schemas

    def identify(self, root: etree._Element) -> MessageType:
        """The message type of an ``Emessage``, or UnsupportedMessageError
        (``problem_med_version``) for a namespace, letter or version Samspil does not carry."""
        qname = etree.QName(root)
        letters = _LETTER_ELEMENTS.get(qname.namespace or "")
        if letters is None:
            raise UnsupportedMessageError(
                f"namespace {qname.namespace or '(none)'!r} is not a MedCom OIOXML namespace "
                "Samspil carries (XDIS91 2006/07/01, XCTL 2005/08/07, XBIN01 2012/03/28)",
                line=_line(root),
            )
        if qname.localname != "Emessage":
            raise UnsupportedMessageError(
                f"the root element is {qname.localname!r}; a MedCom message starts with Emessage",
                line=_line(root),
            )
        for child in root:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name == "Envelope":
                continue
            kind = letters.get(name)
            if kind is None:
                raise UnsupportedMessageError(
                    f"the letter type {name!r} is not one Samspil carries in this namespace",
                    line=_line(child),
                )
            version = child.findtext(
                f"{{{qname.namespace}}}Letter/{{{qname.namespace}}}VersionCode"
            )
            if version is not None and version.strip() != VERSION_CODES[kind]:
                raise UnsupportedMessageError(
                    f"version {version.strip()!r} of {kind} is not supported; "
                    f"expected {VERSION_CODES[kind]}",
                    line=_line(child),
                )
            return kind
        raise SchemaError("the Emessage holds no letter", line=_line(root))

    def validate(self, root: etree._Element) -> MessageType:
        """Validate ``root`` and return its message type, or raise a MessageError.

        The valid document is the fast path (one schema run, then its letter element names the
        type); only an invalid one is diagnosed further, to answer ``problem_med_version``
        for a letter type or version Samspil does not carry and ``syntaksfejl`` otherwise.
        """
        tag = root.tag if isinstance(root.tag, str) else ""
        namespace = tag[1 : tag.find("}")] if tag.startswith("{") else ""
        schema = self._compiled().get(namespace)
        if schema is not None and schema.validate(root):
            letters = _LETTER_ELEMENTS[namespace]
            if len(root) > 1:  # the usual shape: Envelope, then the letter
                kind = letters.get(str(root[1].tag)[len(namespace) + 2 :])
                if kind is not None:
                    return kind
            for child in root:
                child_tag = child.tag
                if isinstance(child_tag, str):
                    kind = letters.get(child_tag[len(namespace) + 2 :])
                    if kind is not None:
                        return kind
        kind = self.identify(root)  # raises for what Samspil does not carry
        assert schema is not None  # identify() accepted the namespace
        errors: list[Any] = list(cast(Any, schema.error_log))
        first = errors[0] if errors else None
        message = str(first.message) if first is not None else "the document is not valid"
        line = int(first.line) if first is not None and first.line else None
        raise SchemaError(
            f"the {kind} does not follow MedCom's schema: {message}",
            line=line,
            refuse_code=RefuseCode.SYNTAX_ERROR,
        )
