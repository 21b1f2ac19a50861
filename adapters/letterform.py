"""The form a letter the adapter wrote goes to the hub in: its organisation's format.

The adapters write the letters their systems do not (a GP's ``REF^I12`` referral, a
municipal case system's ``letter`` event) as MedCom OIOXML, an XDIS91. At the hub each
organisation has a letter format (``oioxml`` or ``fhir``), and an organisation that speaks
MedCom FHIR sends its letters as CareCommunications too — so the format is the hub's to say,
not a second setting of the adapter's that could disagree with it.

Such a letter is stored in the outbox as its XDIS91 under the content type
:data:`OWN_FORMAT` ("in the organisation's format"), whether or not the hub is reachable.
Just before its first try, the adapter (:meth:`adapters.base.Adapter._prepare`) asks
:meth:`LetterForms.form` for the form it goes in, from the hub's directory
(``GET /v1/organisations``: the organisation's own entry says its format, and both
organisations' entries their SOR codes):

* ``oioxml`` — the XDIS91 as it is (``application/xml``);
* ``fhir`` — the MedCom CareCommunication converted from it
  (:func:`messages.fhir.convert.letter.care_communication_from_oioxml`,
  ``application/fhir+json``), new Bundle and MessageHeader ids. A CareCommunication names
  both organisations by their SOR codes: when the directory has no SOR code for one of them
  (or does not know the receiver), the XDIS91 goes as it is and the hub decides — it
  converts what it can and refuses what it cannot, with its own code.

The form chosen is written back to the stored item before it is sent
(:meth:`adapters.outbox.Outbox.rewrite`): every retry, and a resend after a restart, is the
same request with the same identifiers, so the hub answers a repeat as a duplicate whatever
its directory says later. A directory the hub does not give (unreachable, credential
refused) leaves the item pending, as any request the hub does not answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from messages.errors import MessageError
from messages.fhir.build import build_fhir
from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence
from messages.medcom.registry import SchemaRegistry
from wire.client import FHIR_JSON, XML, HubClient
from wire.directory import MessageFormat
from wire.errors import HubRefused

__all__ = ["OWN_FORMAT", "LetterForms"]

OWN_FORMAT = "application/vnd.samspil.letter+xml"
"""The content type of a stored letter the adapter wrote: an XDIS91, sent in the
organisation's format (never sent under this type: :meth:`LetterForms.form` decides)."""

DIRECTORY_TTL = 60.0
"""Seconds the hub's directory is reused for (a letter to an organisation not in it asks
again at once)."""


@dataclass(slots=True)
class LetterForms:
    """The hub's directory as the adapter's letters need it: formats and SOR codes (the
    organisation ``gln``'s own, and its receivers')."""

    hub: HubClient
    gln: str
    registry: SchemaRegistry
    ttl: float = DIRECTORY_TTL
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict, init=False)
    _read_at: float | None = field(default=None, init=False)

    async def _directory(self, *needed: str) -> dict[str, dict[str, Any]]:
        """The directory by GLN: asked again when older than ``ttl`` or lacking one of
        ``needed``."""
        fresh = self._read_at is not None and self.clock() - self._read_at < self.ttl
        if not fresh or any(gln not in self._entries for gln in needed):
            entries = await self.hub.organisations()
            self._entries = {str(e["gln"]): e for e in entries if isinstance(e, dict)}
            self._read_at = self.clock()
        return self._entries

    async def form(self, body: bytes) -> tuple[bytes, str]:
        """The body and content type the stored XDIS91 ``body`` is sent as. Raises
        :class:`~wire.errors.HubRefused` (the item is refused unsent) for a letter that
        cannot be read or converted, and the hub client's errors when the directory cannot
        be read."""
        if (
            _format_of((await self._directory(self.gln)).get(self.gln, {}))
            is not MessageFormat.FHIR
        ):
            return body, XML  # as it is: read only to be converted
        try:
            letter = parse_message(body, registry=self.registry)
        except MessageError as exc:
            raise HubRefused(
                f"the stored letter cannot be read: {exc.message}", code=exc.code
            ) from None
        if not isinstance(letter, Correspondence):
            return body, XML
        receiver = letter.receiver.ean
        entries = await self._directory(self.gln, receiver)
        directory = {
            gln: SorEntry(sor=str(entry["sor"]), name=entry.get("name"))
            for gln in (self.gln, receiver)
            if (entry := entries.get(gln)) and entry.get("sor")
        }
        if len(directory) < 2:  # not nameable in FHIR: the hub converts it or refuses it
            return body, XML
        try:
            message = care_communication_from_oioxml(letter, directory=directory)
            return build_fhir(message), FHIR_JSON
        except MessageError as exc:
            raise HubRefused(
                f"the letter cannot be written as MedCom FHIR: {exc.message}", code=exc.code
            ) from None


def _format_of(entry: dict[str, Any]) -> MessageFormat:
    try:
        return MessageFormat(entry.get("format", MessageFormat.OIOXML))
    except ValueError:  # a format this adapter does not know: the hub converts OIOXML
        return MessageFormat.OIOXML
