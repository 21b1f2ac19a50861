"""One letter: its header, its formatted text, its attachments, its thread; reply, receipt,
archive, save the attachments.

The XML is fetched (the hub marks a received letter ``downloaded``) and parsed by the message
layer off the event loop. Sent letters show their journey with every status event's time. A
letter's attachments (``Reference/BIN``) travel in an XBIN01 of their own; ``b`` finds it
among the inbox's entries from the same sender and saves each attachment as a file (in
``attachments_dir``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from messages.errors import MessageError
from messages.medcom.correspondence import replied_to
from messages.medcom.documents import build_message, parse_message
from messages.medcom.model import BinaryLetter, BinaryReference, Correspondence, Receipt
from messages.medcom.receipts import receipt_for
from messages.medcom.text import to_plain
from tui import problems
from tui.clock import parse_time
from tui.screens.base import CaseworkerRoom, LetterRead
from tui.screens.compose import ComposeScreen
from tui.screens.formatting import show_cpr
from tui.widgets.connection_banner import ConnectionBanner
from tui.widgets.key_bar import KeyBar
from tui.widgets.notice import Notice
from tui.widgets.top_bar import TopBar
from tui.workers import in_worker
from wire.errors import HubError, HubRefused

_REFUSED = {"expired": "letter.expired", "letter-removed": "letter.removed"}
"""The hub's 410 codes for a letter, said in the caseworker's words (else: its detail)."""


class LetterScreen(Screen[None], CaseworkerRoom):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reply", show=False),
        Binding("f", "forward", show=False),
        Binding("k", "receipt", show=False),
        Binding("a", "archive", show=False),
        Binding("v", "save_attachments", show=False),
        Binding("escape", "app.pop_screen", show=False),
        Binding("question_mark", "app.help", show=False),
        Binding("q", "app.quit", show=False),
    ]

    def __init__(
        self,
        message_id: str,
        *,
        incoming: bool,
        thread: list[dict[str, Any]] | None = None,
        suggested_case: bool = False,
        attachments_dir: Path | None = None,
    ) -> None:
        """``thread``: the other inbox entries of its thread; ``suggested_case``: the hub says
        this organisation has no active case for the letter's child; ``attachments_dir``:
        where ``b`` saves the attachments (``Samspil-bilag`` in the home folder)."""
        super().__init__()
        self.attachments_dir = attachments_dir or Path.home() / "Samspil-bilag"
        self.message_id = message_id
        self.incoming = incoming
        self.thread = thread or []
        self.suggested_case = suggested_case
        self.letter: Any = None

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield ConnectionBanner()
        with VerticalScroll(id="body"):
            yield Static(id="letter")
        yield Notice(id="notice")
        yield KeyBar()

    def on_mount(self) -> None:
        self.show_keys()
        self.ready()
        self.reload()

    def show_keys(self) -> None:
        """The keys that work on what is shown: reply, receipt and forward only on a letter
        (not on a receipt), the first two only on one received; archive on what was received;
        receipt and archive only where the organisation's people take its letters in; saving
        attachments only on a letter that has some."""
        t = self.caseworker.texts
        letter = isinstance(self.letter, Correspondence)
        ours = self.incoming and not self.caseworker.system_takes_letters  # else the system's
        keys = [
            *([("r", t("key.reply"))] if letter and self.incoming else []),
            *([("k", t("key.receipt"))] if letter and ours else []),
            *([("a", t("key.ack"))] if ours and self.letter is not None else []),
            *([("f", t("key.forward"))] if letter else []),
            *([("v", t("key.attachments"))] if self.incoming and self._has_attachments() else []),
        ]
        self.query_one(KeyBar).show([*keys, ("esc", t("key.back")), ("q", t("key.quit"))])

    def _has_attachments(self) -> bool:
        return isinstance(self.letter, Correspondence) and bool(_attachments(self.letter))

    def reload(self) -> None:
        self.start("letter", self._load)

    async def _load(self) -> None:
        app = self.caseworker
        notice = self.query_one(Notice)
        try:
            data = await self.hub(lambda: app.client.fetch(self.message_id))
        except HubRefused as exc:  # e.g. 410 expired: the sender was told it was not delivered
            key = _REFUSED.get(exc.code)
            notice.tell(
                app.texts(key) if key else problems.notice(app.texts, exc),
                error=True,
            )
            return
        if data is None:
            return
        try:
            status = await self.hub(lambda: app.client.status(self.message_id))
        except HubError as exc:  # the letter is still shown, without its journey
            notice.tell(problems.notice(app.texts, exc), error=True)
            status = None
        registry = await app.registry()
        try:
            letter = await asyncio.to_thread(parse_message, data, registry=registry)
        except MessageError as exc:
            self.query_one(Notice).tell(
                app.texts("error", detail=problems.code_sentence(app.texts, exc.code)), error=True
            )
            return
        self.letter = letter
        self.show_keys()
        if isinstance(letter, Correspondence):
            answers = replied_to(letter)
            self.app.post_message(LetterRead(self.message_id, letter=letter, answers=answers))
        elif isinstance(letter, Receipt) and letter.original_letters:
            answers = letter.original_letters[0].identifier
            self.app.post_message(LetterRead(self.message_id, letter=None, answers=answers))
        self.query_one("#letter", Static).update(self.render_letter(letter, status or {}))

    def render_letter(self, letter: Any, status: dict[str, Any]) -> Text:
        app = self.caseworker
        t = app.texts
        out = Text()
        if isinstance(letter, Receipt):
            out.append(
                t("letter.receipt", kind=letter.type.value, letter=_first_letter(letter)) + "\n",
                style="bold",
            )
            out.append(
                t("letter.date", date=app.local(letter.envelope.sent, "%d.%m.%Y %H:%M")) + "\n"
            )
            if letter.refuse_text:
                out.append(to_plain(letter.refuse_text) + "\n")
            return out
        if not isinstance(letter, Correspondence):
            out.append(letter.type.value + "\n")
            return out
        if self.suggested_case:
            out.append("✚ " + t("inbox.suggested") + "\n", style="bold yellow")
        out.append(t("letter.subject", subject=letter.subject or "") + "\n", style="bold")
        if self.incoming:
            name = letter.sender.organisation_name or app.org_label(letter.sender.ean)
            out.append(t("letter.from", name=name, gln=letter.sender.ean) + "  ")
        else:  # sent: to whom
            name = letter.receiver.organisation_name or app.org_label(letter.receiver.ean)
            out.append(t("letter.to", name=name, gln=letter.receiver.ean) + "  ")
        out.append(t("letter.date", date=app.local(letter.authorised, "%d.%m.%Y %H:%M")) + "\n")
        child = " ".join(p for p in (letter.patient.given_name, letter.patient.surname) if p)
        out.append(t("letter.child", cpr=show_cpr(letter.patient.cpr or ""), name=child) + "  ")
        episode = (letter.episode_of_care_identifier or "—")[:8]
        out.append(t("letter.episode", episode=episode + "…") + "  ")
        priority = t(f"priority.{(letter.priority.value if letter.priority else 'rutine')}")
        out.append(t("letter.priority", priority=priority))
        if letter.envelope.wants_positive_receipt:
            out.append("\n✉ " + t("letter.receipt_wanted"), style="yellow")
        out.append("\n\n")
        for block in letter.clinical_information:
            out.append(to_plain(block) + "\n")
        attachments = _attachments(letter)
        if attachments:
            out.append("\n" + t("letter.attachments", n=len(attachments)) + "\n", style="bold")
            for n, ref in enumerate(attachments, 1):
                size = f"{ref.original_size / 1024:.0f} kB" if ref.original_size else "?"
                out.append(f"  {n}. {ref.object_code} ({ref.extension_code}, {size})\n")
        # the thread: the other inbox entries with it, and letters read before in its episode
        listed = {str(e.get("letter_id")) for e in self.thread}
        lines = [
            (
                parse_time(str(e["received_at"])),
                f"{app.local(e['received_at'], '%d.%m %H:%M')}  "
                f"{app.org_label(e['sender'])}  {e.get('subject') or e['type']}",
            )
            for e in self.thread
        ]
        lines += [
            (
                other.authorised,
                f"{app.local(other.authorised, '%d.%m %H:%M')}  "
                f"{other.sender.organisation_name or app.org_label(other.sender.ean)}  "
                f"{other.subject}",
            )
            for other_id, other in app.letters.items()
            if other_id != self.message_id
            and other.letter_identifier not in listed
            and letter.episode_of_care_identifier
            and other.episode_of_care_identifier == letter.episode_of_care_identifier
        ]
        if lines:
            out.append("\n" + t("letter.thread", n=len(lines)) + "\n", style="dim")
            for _, line in sorted(lines, key=lambda pair: pair[0], reverse=True):
                out.append(f"  {line}\n")
        events = status.get("events") or []
        if events:
            out.append("\n")
            journey = [f"{t('status.' + e['status'])} {app.local(e['at'])}" for e in events]
            out.append(" → ".join(journey) + "\n", style="bold")
        return out

    # --- actions ---------------------------------------------------------------------------

    def action_reply(self) -> None:
        if self.incoming and isinstance(self.letter, Correspondence):
            self.app.push_screen(ComposeScreen(reply_to=self.letter))

    def action_forward(self) -> None:
        if isinstance(self.letter, Correspondence):
            self.app.push_screen(ComposeScreen(forward_of=self.letter))

    def _system_takes(self) -> bool:
        """Where the organisation's system takes its letters in, it also sends their
        receipts: the app says so instead of taking a letter away from it."""
        if self.caseworker.system_takes_letters:
            self.query_one(Notice).tell(self.caseworker.texts("letter.system_takes"))
            return True
        return False

    def action_receipt(self) -> None:
        if self._system_takes():
            return
        if self.incoming and isinstance(self.letter, Correspondence):
            in_worker(self, partial(self._send_receipt, self.letter), "letter-action")

    async def _send_receipt(self, letter: Correspondence) -> None:
        app = self.caseworker
        notice = self.query_one(Notice)
        try:
            document = build_message(receipt_for(letter))
            done = await self.hub(lambda: app.client.submit(document))
        except MessageError as exc:
            notice.tell(
                app.texts("error", detail=problems.code_sentence(app.texts, exc.code)), error=True
            )
            return
        if done is not None:
            notice.tell(app.texts("letter.receipt_sent"))

    def action_archive(self) -> None:
        if self.incoming and not self._system_takes():
            in_worker(self, self._archive, "letter-action")

    async def _archive(self) -> None:
        app = self.caseworker
        done = await self.hub(lambda: app.client.ack(self.message_id))
        if done is not None:
            self.query_one(Notice).tell(app.texts("letter.acked"))

    def action_save_attachments(self) -> None:
        if isinstance(self.letter, Correspondence) and _attachments(self.letter):
            in_worker(self, partial(self._save_attachments, self.letter), "letter-action")

    async def _save_attachments(self, letter: Correspondence) -> None:
        app = self.caseworker
        notice = self.query_one(Notice)
        wanted = {_key(r.object_identifier): r for r in _attachments(letter)}
        entries = await self.hub(lambda: app.client.inbox(limit=1000))
        if entries is None:
            return
        registry = await app.registry()
        for entry in entries:
            if entry["type"] != "XBIN01" or entry["sender"] != letter.sender.ean:
                continue
            data = await self.hub(partial(app.client.fetch, str(entry["id"])))
            if data is None:
                return
            try:
                binary = await asyncio.to_thread(parse_message, data, registry=registry)
            except MessageError:
                continue
            if not isinstance(binary, BinaryLetter):
                continue
            found = [o for o in binary.objects if _key(o.object_identifier) in wanted]
            if not found:
                continue
            try:
                paths = await asyncio.to_thread(
                    _write_attachments, self.attachments_dir, letter, found
                )
            except (OSError, binascii.Error, ValueError) as exc:
                notice.tell(app.texts("error", detail=str(exc)), error=True)
                return
            notice.tell(app.texts("letter.attachment_saved", paths=", ".join(paths)))
            return
        notice.tell(app.texts("letter.attachment_missing"), error=True)


def _attachments(letter: Correspondence) -> list[BinaryReference]:
    return [r.binary for r in letter.references if r.binary is not None]


def _key(identifier: str) -> str:
    return identifier.replace("-", "").lower()


def _write_attachments(folder: Path, letter: Correspondence, objects: list[Any]) -> list[str]:
    """Each object as ``<letter id>-<n>.<extension>`` in ``folder``; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, obj in enumerate(objects, 1):
        name = "".join(c for c in f"{letter.letter_identifier}-{n}" if c.isalnum() or c == "-")
        extension = "".join(c for c in obj.extension_code if c.isalnum())[:8] or "bin"
        path = folder / f"{name}.{extension}"
        path.write_bytes(base64.b64decode(obj.base64, validate=False))
        paths.append(str(path))
    return paths


def _first_letter(receipt: Receipt) -> str:
    return receipt.original_letters[0].identifier if receipt.original_letters else "?"
