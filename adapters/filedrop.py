"""The MedCom file drop: how a sector system that writes and reads OIOXML files talks to Samspil.

Below the configured root:

* ``outbox/`` — the system writes XDIS91 letters and XCTL receipts here (as ``*.xml``; write
  to another name first and rename, so a half-written file is never picked up). Each file
  is validated against Samspil's MedCom schemas, stored in the adapter's durable outbox,
  then moved to ``sent/``. A file that cannot be sent — not well-formed, invalid, a letter
  type Samspil does not carry, another organisation's sender — is moved to ``rejected/``
  beside a ``<name>.reason.txt`` with the machine-readable code, the sentence and the line.
* ``inbox/`` — letters and receipts for the system, each written atomically (a hidden temp
  file, flushed and fsynced, then renamed) and named after the hub's message id, so a
  message handed over twice is the same file, not a second one.

With ``[filedrop] syntax = "edifact"`` (a clinic system that still speaks EDIFACT, see
:class:`~adapters.config.DropSyntax`) the system writes DIS91 letters and CTL receipts as
``*.edi`` to ``outbox/``: each is read into its model and carried as the XDIS91/XCTL it
maps to. One that cannot be read goes to ``rejected/`` with its reason and, when the
interchange can be addressed and is not a receipt, a CTL01 (the adapter is the clinic's
network) comes back into ``inbox/``. Letters and receipts for the system arrive in
``inbox/`` as ``DIS91_<id>.edi`` / ``CTL0x_<id>.edi``; what EDIFACT cannot hold arrives
as OIOXML.

A system that speaks MedCom FHIR writes its CareCommunications and Acknowledgements to
``outbox/`` as ``*.json`` (FHIR JSON bundles); they are read (not judged: the hub checks
MedCom's profile) and sent as they are. Letters and receipts the hub converted to FHIR for
the organisation arrive in ``inbox/`` as ``<type>_<id>.json``.

No file's content is ever logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from adapters.config import DropSyntax, FileDropConfig
from adapters.errors import OutboxError
from messages.errors import MessageError
from messages.fhir.read import FhirMessage, read_fhir
from messages.medcom.documents import MedcomMessage, build_message, parse_message
from messages.medcom.edifact import build_edifact, parse_edifact, refusal_receipt
from messages.medcom.model import Correspondence, Receipt
from messages.medcom.registry import SchemaRegistry

__all__ = ["FileDrop", "safe_name", "sender_of", "write_atomically"]

log = logging.getLogger(__name__)

Submit = Callable[[bytes, "MedcomMessage | FhirMessage", str], Awaitable[None]]
"""Store one validated file's bytes in the durable outbox (raises OutboxError if it cannot)."""


_CPR_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")


def sender_of(message: MedcomMessage | FhirMessage) -> str:
    """The GLN of a message's sender."""
    if isinstance(message, Receipt):
        return message.sender_ean
    if isinstance(message, MedcomMessage):
        return message.sender.ean
    return message.sender.gln or ""


def safe_name(name: str) -> str:
    """A file name fit for a log line: anything shaped like a CPR number masked (systems
    sometimes name files after the patient)."""
    return _CPR_LIKE.sub("xxxxxx-xxxx", name)


def write_atomically(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` so that a reader sees all of it or nothing."""
    final = folder / name
    temp = folder / f".{name}.tmp"
    with open(temp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, final)
    return final


class FileDrop:
    """One organisation's MedCom folders. :meth:`run` scans ``outbox/`` until cancelled."""

    def __init__(
        self,
        config: FileDropConfig,
        *,
        registry: SchemaRegistry,
        own_gln: str,
        submit: Submit,
        network_gln: str = "5790000000005",
    ) -> None:
        self.config = config
        self.network_gln = network_gln
        self.edifact = config.syntax is DropSyntax.EDIFACT
        self.registry = registry
        self.own_gln = own_gln
        self._submit = submit
        self.sent = 0
        self.rejected = 0
        self.written = 0

    def ensure_folders(self) -> None:
        for folder in (self.config.outbox, self.config.inbox, self.config.sent):
            folder.mkdir(parents=True, exist_ok=True)
        self.config.rejected.mkdir(parents=True, exist_ok=True)

    async def write_inbox(self, name: str, data: bytes) -> Path:
        """Hand a message to the system: ``inbox/name``, atomically (as EDIFACT when the
        system speaks it: ``XDIS91_<id>.xml`` becomes ``DIS91_<id>.edi``)."""
        if self.edifact and name.endswith(".xml"):
            name, data = await asyncio.to_thread(self._as_edifact, name, data)
        path = await asyncio.to_thread(write_atomically, self.config.inbox, name, data)
        self.written += 1
        return path

    async def run(self) -> None:
        while True:
            await self.scan_once()
            await asyncio.sleep(self.config.poll_interval)

    async def scan_once(self) -> int:
        """Send (or reject) every file waiting in ``outbox/``; how many were handled."""
        paths = await asyncio.to_thread(self._waiting)
        handled = 0
        for path in paths:
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError:
                continue  # gone or unreadable for now: the next scan sees it again
            try:
                data, message = await self._read(path, data)
            except MessageError as exc:
                if self.edifact and path.suffix.lower() == ".edi":
                    await asyncio.to_thread(self._refuse, path, data, exc)
                await asyncio.to_thread(self._reject, path, exc.code, str(exc))
                handled += 1
                continue
            sender = sender_of(message)
            if sender != self.own_gln:
                await asyncio.to_thread(
                    self._reject,
                    path,
                    "sender-mismatch",
                    f"the letter's sender {sender} is not this organisation ({self.own_gln})",
                )
                handled += 1
                continue
            try:
                await self._submit(data, message, f"file:{safe_name(path.name)}")
            except OutboxError as exc:
                log.warning("filedrop: %s stays in outbox/: %s", safe_name(path.name), exc.code)
                break  # the outbox cannot take more now; keep the files for the next scan
            await asyncio.to_thread(self._move, path, self.config.sent)
            self.sent += 1
            handled += 1
        return handled

    async def _read(self, path: Path, data: bytes) -> tuple[bytes, MedcomMessage | FhirMessage]:
        """The file as the OIOXML the hub carries, and its model (EDIFACT converted); a
        FHIR bundle as it is."""
        if path.suffix.lower() == ".json":
            return data, await asyncio.to_thread(read_fhir, data)
        if self.edifact and path.suffix.lower() == ".edi":
            return await asyncio.to_thread(self._from_edifact, data)
        return data, await asyncio.to_thread(parse_message, data, registry=self.registry)

    def _from_edifact(self, data: bytes) -> tuple[bytes, MedcomMessage]:
        model = parse_edifact(data)
        xml = build_message(model)
        # validated as every OIOXML file is (lengths and values the schema holds the hub to)
        return xml, parse_message(xml, registry=self.registry)

    def _as_edifact(self, name: str, data: bytes) -> tuple[str, bytes]:
        try:
            message = parse_message(data, registry=self.registry)
            if not isinstance(message, Correspondence | Receipt):
                return name, data  # XBIN01: no EDIFACT twin Samspil writes
            edi = build_edifact(message)
        except MessageError as exc:
            log.warning("filedrop: %s stays OIOXML: %s", safe_name(name), exc.code)
            return name, data
        return f"{name.removesuffix('.xml').removeprefix('X')}.edi", edi

    def _refuse(self, path: Path, data: bytes, error: MessageError) -> None:
        """The CTL01 MedCom's network sends for an interchange it cannot take (none for a
        receipt, or for one whose UNB cannot be read)."""
        receipt = refusal_receipt(data, error, network_id=self.network_gln)
        if receipt is None:
            return
        try:
            edi = build_edifact(receipt)
        except MessageError:
            return
        write_atomically(self.config.inbox, f"CTL01_{receipt.letter_identifier}.edi", edi)
        log.info("filedrop: %s refused with a CTL01: %s", safe_name(path.name), error.code)

    def _waiting(self) -> list[Path]:
        suffixes = (".xml", ".json", ".edi") if self.edifact else (".xml", ".json")
        try:
            entries = [
                p
                for p in self.config.outbox.iterdir()
                if p.suffix.lower() in suffixes and not p.name.startswith(".") and p.is_file()
            ]
        except FileNotFoundError:
            return []
        return sorted(entries, key=lambda p: (p.stat().st_mtime, p.name))

    def _move(self, path: Path, folder: Path) -> Path:
        target = folder / path.name
        if target.exists():
            target = folder / f"{path.stem}.{time.time_ns()}{path.suffix}"
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, target)
        return target

    def _reject(self, path: Path, code: str, sentence: str) -> None:
        target = self._move(path, self.config.rejected)
        reason = (
            f"code: {code}\n"
            f"reason: {sentence}\n"
            f"file: {path.name}\n"
            f"at: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
        )
        write_atomically(self.config.rejected, f"{target.name}.reason.txt", reason.encode())
        self.rejected += 1
        log.warning("filedrop: rejected %s: %s", safe_name(path.name), code)
