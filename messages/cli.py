"""``samspil messages ...``: validate MedCom files (OIOXML, FHIR, EDIFACT), write a letter,
write a receipt."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from messages.errors import FhirProfileError, MessageError, RefuseCode
from messages.fhir.read import read_fhir
from messages.fhir.rules import require_valid
from messages.identifiers import parse_gln
from messages.medcom.correspondence import new_correspondence, reply_reference
from messages.medcom.documents import build_message, parse_message
from messages.medcom.edifact import looks_like_edifact, read_edifact
from messages.medcom.model import Party, Patient, Priority, Receipt
from messages.medcom.receipts import receipt_for
from messages.medcom.registry import SchemaRegistry
from messages.medcom.routing import routing_of
from messages.xmlsafe import parse_xml

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add ``samspil messages`` to the command line."""
    group = commands.add_parser(
        "messages", help="validate and write MedCom messages (XDIS91, XCTL, XBIN01)"
    )
    sub = group.add_subparsers(dest="messages_command", metavar="ACTION", required=True)

    validate = sub.add_parser(
        "validate",
        help="validate MedCom files (OIOXML; FHIR JSON or XML against MedCom's profile rules; "
        "EDIFACT); a line per problem, exit 1 if any",
    )
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    validate.set_defaults(handler=_validate)

    letter = sub.add_parser("correspondence", help="write an XDIS91 letter to stdout")
    letter.add_argument("--sender-gln", required=True, help="the sender's GLN/EAN location number")
    letter.add_argument("--receiver-gln", required=True, help="the receiver's GLN")
    letter.add_argument("--sender-name", default="Samspil", help="the sender's organisation name")
    letter.add_argument("--receiver-name", help="the receiver's organisation name")
    letter.add_argument("--cpr", required=True, help="the child's CPR number (DDMMYYSSSS)")
    letter.add_argument("--surname", default="Ukendt", help="the child's surname")
    letter.add_argument("--given-name", help="the child's given name(s)")
    letter.add_argument("--subject", required=True, help="the subject, at most 70 characters")
    letter.add_argument("--text", required=True, help="the letter's text; '-' reads stdin")
    letter.add_argument("--priority", choices=[p.value for p in Priority], default="rutine")
    letter.add_argument("--reply-to", metavar="LETTER_ID", help="the letter this one answers")
    letter.add_argument("--episode", metavar="ID", help="the episode-of-care identifier")
    letter.add_argument("--ack", action="store_true", help="ask for a positive receipt")
    letter.add_argument("--encoding", default="ISO-8859-1", choices=["ISO-8859-1", "UTF-8"])
    letter.set_defaults(handler=_correspondence)

    receipt = sub.add_parser(
        "receipt", help="write the XCTL receipt for a letter (positive only when asked)"
    )
    receipt.add_argument("file", type=Path, metavar="FILE", help="the XDIS91 or XBIN01 letter")
    receipt.add_argument(
        "--negative",
        metavar="CODE",
        choices=[c.value for c in RefuseCode],
        help="write a negative receipt (XCTL02) with this refuse code",
    )
    receipt.add_argument("--reason", help="the refuse text of a negative receipt")
    receipt.add_argument("--encoding", default="ISO-8859-1", choices=["ISO-8859-1", "UTF-8"])
    receipt.set_defaults(handler=_receipt)


def _fail(text: str) -> int:
    print(f"samspil: {text}", file=sys.stderr)
    return 1


_FHIR_NAMESPACE = b"http://hl7.org/fhir"


def _validate(args: argparse.Namespace) -> int:
    registry = SchemaRegistry()
    problems = 0
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(f"{path}: cannot be read: {exc.strerror}")
            problems += 1
            continue
        found = _problems(data, registry, path)
        for line in found:
            print(line)
        problems += len(found)
    return 1 if problems else 0


def _problems(data: bytes, registry: SchemaRegistry, path: Path) -> list[str]:
    """A line per problem of one file, read in the format it is in."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    try:
        if looks_like_edifact(head):
            read_edifact(data)
        elif head.startswith(b"{") or _FHIR_NAMESPACE in head[:1024]:
            require_valid(read_fhir(data))
        else:
            root = parse_xml(data)
            kind = registry.validate(root)
            for warning in routing_of(root, kind).warnings:
                print(f"{path}: warning: {warning}", file=sys.stderr)
    except FhirProfileError as exc:  # every rule the bundle breaks, with where
        return [
            f"{path}:0: {issue.code}: {issue.message}"
            + (f" ({issue.expression})" if issue.expression else "")
            for issue in exc.issues
        ]
    except MessageError as exc:
        return [f"{path}:{exc.line or 0}: {exc.code}: {exc.message}"]
    return []


def _correspondence(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        sender_gln = parse_gln(args.sender_gln)
        receiver_gln = parse_gln(args.receiver_gln)
        letter = new_correspondence(
            sender=Party(
                ean=sender_gln,
                identifier=sender_gln,
                identifier_code="lokationsnummer",
                organisation_name=args.sender_name[:35],
            ),
            receiver=Party(
                ean=receiver_gln,
                identifier=receiver_gln,
                identifier_code="lokationsnummer",
                organisation_name=args.receiver_name[:35] if args.receiver_name else None,
            ),
            patient=Patient(
                cpr=args.cpr.replace("-", ""), surname=args.surname, given_name=args.given_name
            ),
            subject=args.subject,
            text=text,
            priority=Priority(args.priority),
            ask_for_receipt=args.ack,
            episode_of_care_identifier=args.episode,
            references=(reply_reference(args.reply_to),) if args.reply_to else (),
        )
        data = build_message(letter, encoding=args.encoding)
        parse_message(data, registry=SchemaRegistry())  # never print what MedCom would refuse
    except MessageError as exc:
        return _fail(f"{exc.code}: {exc}")
    sys.stdout.buffer.write(data)
    return 0


def _receipt(args: argparse.Namespace) -> int:
    registry = SchemaRegistry()
    try:
        letter = parse_message(args.file.read_bytes(), registry=registry)
        if isinstance(letter, Receipt):
            return _fail("receipt-not-allowed: a receipt is never receipted (MedCom rule)")
        receipt = receipt_for(
            letter,
            refuse_code=RefuseCode(args.negative) if args.negative else None,
            refuse_text=args.reason,
        )
        data = build_message(receipt, encoding=args.encoding)
        parse_message(data, registry=registry)
    except OSError as exc:
        return _fail(f"{args.file}: cannot be read: {exc.strerror}")
    except MessageError as exc:
        return _fail(f"{args.file}:{exc.line or 0}: {exc.code}: {exc.message}")
    sys.stdout.buffer.write(data)
    return 0
