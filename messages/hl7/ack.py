"""Acknowledgements: the ``ACK`` a receiver answers every HL7 message with.

:func:`ack_for` writes an ``ACK`` for a received :class:`~messages.hl7.parse.Hl7Message`
straight as ER7 text, without hl7apy, because the adapter answers every message on the hot
path; tests check that hl7apy's strict validation accepts what it writes.
:func:`messages.hl7.build.build_ack` builds the same with hl7apy.

An ``AE``/``AR`` carries the reason twice: ``MSA-3`` (short, deprecated in v2.5 but read by
most receivers) and an ``ERR`` segment: ``ERR-2`` the segment at fault, ``ERR-3`` the HL7
error code (table 0357), ``ERR-4`` severity ``E``, ``ERR-5`` Samspil's own error code
(:attr:`Hl7Error.code`) and ``ERR-8`` the sentence.
"""

from __future__ import annotations

from datetime import datetime

from messages.errors import Hl7Error
from messages.hl7.er7 import Separators, format_ts
from messages.hl7.model import COPENHAGEN, AckCode
from messages.hl7.parse import Hl7Message
from messages.identifiers import new_message_id

__all__ = [
    "ACK_VERSION",
    "MSA3_MAX",
    "ack_code_for",
    "ack_for",
    "ack_unreadable",
    "err_segment",
    "hl7_error_code",
    "reply_head",
    "reply_msh",
]

ACK_VERSION = "2.5"
"""``MSH-12`` of an ``ACK`` answering a message whose own version cannot be repeated
(empty, or not 2.x)."""

MSA3_MAX = 80
"""``MSA-3`` is an 80-character ``ST``; longer reasons are cut there (``ERR-8`` has all)."""

_HL7_ERRORS = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "207": "Application internal error",
}
_BY_SAMSPIL_CODE = {
    "empty": "100",
    "no-msh": "100",
    "bad-segment": "100",
    "multiple-messages": "100",
    "control-id-reused": "205",
    "missing-segment": "100",
    "missing-field": "101",
    "missing-cpr": "101",
    "unknown-value": "103",
    "unsupported-message": "200",
    "unsupported-trigger": "201",
    "unsupported-version": "203",
    "unsupported-charset": "203",
    "credential-refused": "207",  # not the message's fault: the hub refuses who we are
    "unknown-query": "103",  # QPD-1 names a query (table 0471) Samspil does not answer
    "no-active-case": "204",  # a query: no own case, the same answer as for an unknown child
    "hub-unavailable": "207",
    "consent-missing": "0",  # a query's warning (ERR-4 W): answered, some sectors withheld
}


def hl7_error_code(code: str) -> tuple[str, str]:
    """HL7 table 0357 ``(code, text)`` for one of Samspil's :attr:`Hl7Error.code` values.

    Content errors in a field (bad CPR, bad time, garbage) are ``102`` data type errors;
    anything not otherwise known is ``207`` application internal error.
    """
    hl7 = _BY_SAMSPIL_CODE.get(code)
    if hl7 is None:
        hl7 = "207" if code in ("hl7-error", "internal") else "102"
    return hl7, _HL7_ERRORS[hl7]


def ack_code_for(error: Hl7Error) -> AckCode:
    """``AE`` for a message error, whether Samspil does not handle the type, trigger or
    character set, or the content is wrong: resending it unchanged cannot help (MedCom's
    ``fatal-error``); ``ERR-3`` names the kind.

    ``AR`` for a message whose version Samspil does not speak (``unsupported-version``,
    HL7 v2.5 §2.9.2: an unsupported version id is rejected) and for a frame without a
    readable ``MSH`` (``empty``, ``no-msh``, ``bad-separators``, ``too-large``), which
    cannot be processed at all. Otherwise ``AR`` is kept for temporary trouble the sender
    should retry (MedCom's ``transient-error``: the hub unreachable and the adapter's outbox
    failing), which only the adapter knows about."""
    if error.code in _REJECTED:
        return AckCode.REJECT
    return AckCode.ERROR


_REJECTED = frozenset({"unsupported-version", "empty", "no-msh", "bad-separators", "too-large"})


def ack_unreadable(
    error: Hl7Error, *, control_id: str | None = None, now: datetime | None = None
) -> str:
    """The ``AR`` answering a frame whose ``MSH`` cannot be read.

    There is no control id to repeat, so ``MSA-2`` is empty; the header uses the standard
    delimiters, version :data:`ACK_VERSION` and no addresses (none could be read).
    ``ERR`` names the problem as :func:`ack_for` does.
    """
    sep = Separators()
    esc = sep.escape_text
    fs, cs = sep.field, sep.component
    header = [
        "MSH",
        sep.encoding_characters,
        "",
        "",
        "",
        "",
        format_ts(now or datetime.now(COPENHAGEN)),
        "",
        f"ACK{cs}{cs}ACK",
        esc(control_id or new_message_id()),
        "P",
        ACK_VERSION,
    ]
    text = error.message
    msa = fs.join(("MSA", AckCode.REJECT.value, "", esc(text[:MSA3_MAX])))
    return "\r".join((fs.join(header), msa, err_segment(sep, error, text)))


def ack_for(
    msg: Hl7Message,
    code: AckCode,
    reason: str | Hl7Error | None = None,
    *,
    control_id: str | None = None,
    now: datetime | None = None,
    charset: str | None = None,
) -> str:
    """The ``ACK`` answering ``msg``, as ER7 text (segments separated by ``\\r``).

    The answer is addressed back to the sender (``MSH-3``..``MSH-6`` swapped, copied as they
    came), uses the message's own delimiters, version and ``MSH-18`` character set, and
    repeats its control id in ``MSA-2``. ``reason`` (a sentence, or the :class:`Hl7Error`
    that made the message fail) goes to ``MSA-3`` and, for ``AE``/``AR``, to ``ERR``.
    ``charset`` replaces the ``MSH-18`` written (for a message whose bytes did not match
    its own). ``control_id`` and ``now`` are for tests; by default a fresh id and the
    current time.
    Reasons must never carry a CPR number: Hl7Error messages from this package do not.
    """
    text = reason.message if isinstance(reason, Hl7Error) else (reason or "")
    segments = reply_head(
        msg,
        ("ACK", msg.trigger, "ACK"),
        code,
        reason,
        text,
        control_id=control_id,
        now=now,
        charset=charset,
    )
    return "\r".join(segments)


def reply_msh(
    msg: Hl7Message,
    message_type: tuple[str, str, str],
    *,
    control_id: str | None = None,
    now: datetime | None = None,
    charset: str | None = None,
) -> str:
    """The ``MSH`` of a reply to ``msg`` (an ``ACK``, an ``RSP``), ``message_type`` its
    ``MSH-9`` components.

    The reply is addressed back to the sender (``MSH-3``..``MSH-6`` swapped, copied as they
    came) and uses the message's own delimiters, processing id, version and ``MSH-18``
    character set; ``charset`` replaces the ``MSH-18`` written (for a message whose bytes
    did not match its own). ``control_id`` and ``now`` are for tests; by default a fresh id
    and the current time.
    """
    sep = msg.separators
    esc = sep.escape_text
    msh = msg.msh
    header = [
        "MSH",
        sep.encoding_characters,
        msh.raw(5),
        msh.raw(6),
        msh.raw(3),
        msh.raw(4),
        format_ts(now or datetime.now(COPENHAGEN)),
        "",
        sep.component.join(esc(part) for part in message_type),
        esc(control_id or new_message_id()),
        esc(msg.processing_id or "P"),
        esc(msg.version),
    ]
    if charset is not None:
        header.extend(("", "", "", "", "", esc(charset)))
    elif msg.charset:
        header.extend(("", "", "", "", "", msh.raw(18)))
    return sep.field.join(header)


def reply_head(
    msg: Hl7Message,
    message_type: tuple[str, str, str],
    code: AckCode,
    reason: str | Hl7Error | None,
    text: str,
    *,
    control_id: str | None = None,
    now: datetime | None = None,
    charset: str | None = None,
) -> list[str]:
    """The segments opening a reply to ``msg``: :func:`reply_msh`, the ``MSA`` repeating
    its control id with ``text`` in ``MSA-3``, and for ``AE``/``AR`` the ``ERR`` for
    ``reason`` (:func:`err_segment`)."""
    sep = msg.separators
    esc, fs = sep.escape_text, sep.field
    segments = [
        reply_msh(msg, message_type, control_id=control_id, now=now, charset=charset),
        fs.join(("MSA", code.value, esc(msg.control_id), esc(text[:MSA3_MAX]))).rstrip(fs),
    ]
    if code is not AckCode.ACCEPT:
        segments.append(err_segment(sep, reason, text))
    return segments


def err_segment(
    sep: Separators, reason: str | Hl7Error | None, text: str, *, severity: str = "E"
) -> str:
    """An ``ERR`` segment for ``reason`` (see the module docstring), ``text`` its sentence;
    ``severity`` (``ERR-4``, table 0516): ``E`` error, ``W`` warning."""
    esc = sep.escape_text
    fs, cs = sep.field, sep.component
    samspil_code = reason.code if isinstance(reason, Hl7Error) else "internal"
    where = reason.segment if isinstance(reason, Hl7Error) else None
    hl7_code, hl7_text = hl7_error_code(samspil_code)
    fields = [
        "ERR",
        "",
        f"{esc(where)}{cs}1" if where else "",
        f"{hl7_code}{cs}{hl7_text}{cs}HL70357",
        severity,
        esc(samspil_code),
        "",
        "",
        esc(text),
    ]
    return fs.join(fields).rstrip(fs)
