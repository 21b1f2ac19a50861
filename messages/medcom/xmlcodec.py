"""Small helpers shared by the MedCom builders and parsers (namespaces, dates, children)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from lxml import etree

from messages.errors import MessageError
from messages.timezone import COPENHAGEN

__all__ = [
    "COPENHAGEN",
    "NS_XBIN01",
    "NS_XCTL",
    "NS_XDIS91",
    "Builder",
    "Reader",
    "local_minute",
    "serialize",
    "set_text",
]

NS_XDIS91 = "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2006/07/01/"
NS_XCTL = "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2005/08/07/"
NS_XBIN01 = "http://rep.oio.dk/medcom.dk/xml/schemas/2012/03/28/"


def local_minute(moment: datetime) -> datetime:
    """``moment`` in Danish local time, seconds dropped (what a MedCom DateTime can hold)."""
    if moment.tzinfo is None:
        raise ValueError("MedCom times must be timezone-aware datetimes")
    return moment.astimezone(COPENHAGEN).replace(second=0, microsecond=0)


def set_text(element: etree._Element, text: str, name: str, *, tail: bool = False) -> None:
    """Set an element's text (or tail), refusing characters XML cannot hold."""
    try:
        if tail:
            element.tail = text
        else:
            element.text = text
    except ValueError as exc:  # control characters, NUL, lone surrogates
        raise MessageError(
            f"{name} holds characters that XML cannot carry (control characters or NUL)",
            code="invalid-characters",
        ) from exc


class Builder:
    """Appends namespaced children to an element, skipping optional values that are None."""

    __slots__ = ("_tags", "ns")

    def __init__(self, ns: str) -> None:
        self.ns = ns
        self._tags: dict[str, str] = {}  # name → "{ns}name", made once per name

    def root(self, name: str) -> etree._Element:
        nsmap: Any = {None: self.ns}
        return etree.Element(f"{{{self.ns}}}{name}", nsmap=nsmap)

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        tag = self._tags.get(name)
        if tag is None:
            tag = self._tags[name] = f"{{{self.ns}}}{name}"
        child = etree.SubElement(parent, tag)
        if text is not None:
            try:
                child.text = text
            except ValueError:  # control characters, NUL, lone surrogates
                set_text(child, text, name)  # raises the MessageError with its sentence
        return child

    def opt(self, parent: etree._Element, name: str, text: str | None) -> None:
        if text is not None:
            self.el(parent, name, text)

    def moment(self, parent: etree._Element, name: str, value: datetime) -> None:
        local = local_minute(value)
        holder = self.el(parent, name)
        self.el(holder, "Date", local.date().isoformat())
        self.el(holder, "Time", local.strftime("%H:%M"))


class Reader:
    """Reads namespaced children of a schema-valid element."""

    __slots__ = ("element", "ns")

    def __init__(self, element: etree._Element, ns: str) -> None:
        self.element = element
        self.ns = ns

    def child(self, name: str) -> Reader:
        found = self.element.find(f"{{{self.ns}}}{name}")
        if found is None:
            raise KeyError(name)
        return Reader(found, self.ns)

    def maybe(self, name: str) -> Reader | None:
        found = self.element.find(f"{{{self.ns}}}{name}")
        return None if found is None else Reader(found, self.ns)

    def all(self, name: str) -> list[Reader]:
        return [Reader(e, self.ns) for e in self.element.findall(f"{{{self.ns}}}{name}")]

    def text(self, name: str) -> str:
        found = self.element.find(f"{{{self.ns}}}{name}")
        return "" if found is None or found.text is None else found.text

    def opt(self, name: str) -> str | None:
        found = self.element.find(f"{{{self.ns}}}{name}")
        if found is None:
            return None
        return found.text or ""

    def moment(self, name: str) -> datetime:
        holder = self.child(name)
        day = date.fromisoformat(holder.text("Date").strip()[:10])
        hh, mm = holder.text("Time").split(":")[:2]
        return datetime.combine(day, time(int(hh), int(mm)), tzinfo=COPENHAGEN)


def serialize(root: etree._Element, encoding: str = "ISO-8859-1") -> bytes:
    """The document as bytes with an XML declaration (ISO-8859-1 unless told otherwise)."""
    data = etree.tostring(root, xml_declaration=True, encoding=encoding)
    assert isinstance(data, bytes)  # an explicit encoding always gives bytes
    return data
