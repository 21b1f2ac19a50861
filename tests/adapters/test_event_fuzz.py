"""JSON-lines event fuzzing: the municipal case system's event files through the real
municipal adapter to a real hub.

Each example writes one ``*.jsonl`` file of one to four events — valid ones of every type
(case, appointment, letter, consent, consent-revoked, coordinator), built fresh with new
ids — some of them mutated: truncated, bytes flipped, bytes inserted, the file re-encoded
(Latin-1, UTF-16, a byte-order mark), a field made huge, given the wrong type or nested
deep, an invalid CPR, an unknown or missing type, strings JSON allows that are awkward
(unpaired surrogates, U+2028, NEL, NUL). Then:

* the file leaves the events folder: to ``processed/`` (its bad lines, if any, copied to
  ``rejected/`` beside a reason file), or whole to ``rejected/`` with a reason file;
* the reason file names every rejected line by its number in the file with a code, and
  an unmutated line is never among them (nor a line only given awkward but valid text);
* no reason file and no log line holds a CPR number (the ``hub`` fixture scans the logs);
* nothing sticks: every stored item is sent or refused by the hub with a code, and after
  all the examples a valid file still goes through.

Example counts are modest (the suite's budget); ``SAMSPIL_FUZZ_EXAMPLES`` runs more.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from adapters.filedrop import write_atomically
from adapters.outbox import ItemState
from coordinator.tables import Sector
from messages.errors import IdentifierError
from messages.hl7.samples import CHILD_CPR, GP_GLN, PPR_GLN
from messages.identifiers import parse_cpr
from tests.adapters.conftest import MakeAdapter, RestartableHub, eventually
from tests.adapters.test_fuzz_full_path import assert_both_ways, examples

_SEQ = itertools.count(1)
KINDS = ("case", "appointment", "letter", "consent", "consent-revoked", "coordinator")


def seed(kind: str) -> dict[str, Any]:
    """A valid event of ``kind`` with fresh ids."""
    n = next(_SEQ)
    now = datetime.now(UTC)
    base: dict[str, Any] = {"id": f"fz-{n}", "type": kind, "child_cpr": CHILD_CPR}
    if kind == "case":
        return {
            **base,
            "ref": f"PPR-{n}",
            "kind": "ppr-assessment",
            "status": "active",
            "opened_on": "2026-01-05",
            "title": "Vurdering",
        }
    if kind == "appointment":
        start = now + timedelta(days=3)
        return {
            **base,
            "ref": f"PPR-{n}-A1",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "status": "booked",
            "location": "PPR, skolens mødelokale",
            "with": {"name": "Hanne Østergaard", "role": "psykolog"},
        }
    if kind == "letter":
        return {
            **base,
            "receiver_gln": GP_GLN,
            "child_name": {"family": "Jensen", "given": "Nancy"},
            "subject": f"Svar {n}",
            "text": "PPR har modtaget henvisningen.",
            "ask_for_receipt": False,
        }
    if kind == "consent":
        return {
            **base,
            "ref": f"C-{n}",
            "given_by_name": "Forælder Jensen",
            "relation": "custodial-parent",
            "form": "written",
            "sectors": ["ppr", "gp"],
            "valid_from": (now - timedelta(minutes=1)).isoformat(),
        }
    if kind == "consent-revoked":
        return {**base, "ref": f"C-{n}"}
    return {
        **base,
        "organisation": PPR_GLN,
        "contact": {"name": "Hanne Østergaard", "role": "psykolog"},
    }


# --- mutations ----------------------------------------------------------------------------

AWKWARD_TEXT = ("linje\u2028skift", "afsnit\u2029", "NEL\x85her", "emoji 🙂", "tab\there")
"""Strings JSON carries unescaped that are still text: a line holding them is still good."""
WRONG_VALUES: tuple[Any, ...] = (
    None,
    5,
    -1.5e308,
    True,
    [],
    {},
    ["a", {"b": [1]}],
    "",
    "\x00",
    "\ud800",  # an unpaired surrogate: valid JSON (as an escape), not text
    "x" * 300_000,
)
BAD_CPRS: tuple[Any, ...] = (
    "3113164321",  # no 31 November
    "120316432",
    "12031643210",
    "120316-4321x",
    "abcdefghij",
    1203164321,  # a number: read as its digits, a valid CPR
    12.03,
    ["1203164321"],
    "",
    "١٢٠٣١٦٤٣٢١",  # Arabic-Indic digits
)
LINE_KINDS = (
    "none",
    "truncate",
    "flip",
    "insert",
    "huge",
    "wrong-type",
    "deep",
    "cpr",
    "kind",
    "awkward",
    "not-object",
)
FILE_KINDS = ("none", "latin-1", "utf-16", "bom", "crlf", "no-final-newline", "blank-lines")
INSERTS = (b"\x00", b"\xff", b"\xc3", b"\r", b"\n", b"\xef\xbb\xbf", b'"', b"}", b"\\u")


@st.composite
def line_mutations(draw: st.DrawFn) -> tuple[str, float, Any]:
    kind = draw(st.sampled_from(LINE_KINDS))
    at = draw(st.integers(0, 999)) / 1000
    arg: Any = None
    if kind == "flip":
        arg = draw(st.integers(0, 7))
    elif kind == "insert":
        arg = draw(st.sampled_from(INSERTS) | st.binary(min_size=1, max_size=8))
    elif kind == "wrong-type":
        arg = draw(st.sampled_from(WRONG_VALUES))
    elif kind == "deep":
        arg = draw(st.sampled_from((30, 900, 5_000, 200_000)))
    elif kind == "cpr":
        arg = draw(st.sampled_from(BAD_CPRS))
    elif kind == "kind":
        arg = draw(st.sampled_from(("gossip", "", 7, None, "CASE", "case ")))
    elif kind == "awkward":
        arg = draw(st.sampled_from(AWKWARD_TEXT))
    elif kind == "not-object":
        arg = draw(st.sampled_from(("[]", "42", '"case"', "null", "{}")))
    return kind, at, arg


def _field(event: dict[str, Any], at: float) -> str:
    names = sorted(event)
    return names[min(len(names) - 1, int(at * len(names)))]


def _nested(depth: int) -> Any:
    value: Any = "bund"
    for _ in range(min(depth, 800)):
        value = {"a": [value]}
    return value


def _encode(event: dict[str, Any]) -> bytes:
    """As a case system writes it (UTF-8, not ASCII-escaped); an unpaired surrogate as the
    JSON escape ``\\ud800`` it can only be written as."""
    return json.dumps(event, ensure_ascii=False).encode("utf-8", "backslashreplace")


def mutate_line(event: dict[str, Any], mutation: tuple[str, float, Any]) -> tuple[bytes, bool]:
    """The line's bytes and whether it must be accepted (it still is a good event)."""
    kind, at, arg = mutation
    if kind == "awkward":  # into a free-text field the event's type has
        for name in ("title", "location", "text", "given_by_name"):
            if name in event:
                event[name] = f"{event[name]} {arg}"
                break
        else:
            event["ref"] = f"{event.get('ref', 'r')}-{arg}"
        return json.dumps(event, ensure_ascii=False).encode(), True
    if kind == "wrong-type":
        event[_field(event, at)] = arg
    elif kind == "huge":
        event[_field(event, at)] = "Æ" * 400_000
    elif kind == "deep":
        name = _field(event, at)
        if arg > 800:  # beyond what json.dumps can write: nest the text itself
            text = json.dumps({**event, name: "@"}, ensure_ascii=False)
            return text.replace('"@"', "[" * arg + "]" * arg).encode(), False
        event[name] = _nested(arg)
    elif kind == "cpr":
        event["child_cpr"] = arg
    elif kind == "kind":
        if arg is None:
            del event["type"]
        else:
            event["type"] = arg
    elif kind == "not-object":
        return arg.encode(), False
    data = _encode(event)
    if kind == "truncate":
        data = data[: int(at * len(data))]
    elif kind == "flip":
        if data:
            i = min(len(data) - 1, int(at * len(data)))
            data = data[:i] + bytes([data[i] ^ (1 << arg)]) + data[i + 1 :]
    elif kind == "insert":
        i = int(at * len(data))
        data = data[:i] + arg + data[i:]
    return data, kind == "none"


def assemble(lines: list[bytes], file_kind: str) -> bytes:
    body = b"\n".join(lines) + b"\n"
    if file_kind == "latin-1":
        with contextlib.suppress(UnicodeError):
            body = body.decode("utf-8").encode("latin-1")
    elif file_kind == "utf-16":
        with contextlib.suppress(UnicodeError):
            body = body.decode("utf-8").encode("utf-16")
    elif file_kind == "bom":
        body = b"\xef\xbb\xbf" + body
    elif file_kind == "crlf":
        body = body.replace(b"\n", b"\r\n")
    elif file_kind == "no-final-newline":
        body = body.rstrip(b"\n")
    elif file_kind == "blank-lines":
        body = b"\n\n".join(lines) + b"\n\n"
    return body


_TEN_DIGITS = re.compile(r"(?<![\d-])\d{6}-?\d{4}(?![\d-])")


def assert_no_cpr(text: str) -> None:
    assert CHILD_CPR not in text
    for match in _TEN_DIGITS.findall(text):
        with contextlib.suppress(IdentifierError):
            parse_cpr(match)
            raise AssertionError("a CPR number in a reason file")


_REASON_LINE = re.compile(r"line (\d+): ([a-z0-9-]+): (.+)")


async def test_mutated_event_files_are_processed_or_rejected_with_reasons(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    await hub.org(GP_GLN, Sector.GP)  # the letters' receiver
    ppr = await make_adapter("municipality", PPR_GLN)
    events = ppr.events
    names = itertools.count(1)

    async def one(kinds: list[str], mutations: list[Any], file_kind: str) -> str:
        name = f"fuzz-{next(names):04d}.jsonl"
        lines: list[bytes] = []
        must_accept: list[bool] = []
        for kind, mutation in zip(kinds, mutations, strict=False):
            data, keeps = mutate_line(seed(kind), mutation)
            lines.append(data)
            must_accept.append(keeps)
        body = assemble(lines, file_kind)
        await asyncio.to_thread(write_atomically, events.folder, name, body)

        processed, rejected = events.processed / name, events.rejected / name
        reason = events.rejected / f"{name}.reason.txt"

        async def handled() -> bool:
            return await asyncio.to_thread(
                lambda: (
                    not (events.folder / name).exists()
                    and (processed.exists() or (rejected.exists() and reason.exists()))
                )
            )

        await eventually(handled, within=20)
        if not await asyncio.to_thread(reason.exists):
            assert await asyncio.to_thread(processed.exists)
            assert not await asyncio.to_thread(rejected.exists)
            return "processed"
        text = await asyncio.to_thread(reason.read_text, "utf-8")
        assert_no_cpr(text)
        header, _, listed = text.partition("at: ")
        assert header == f"file: {name}\n", text
        found = [_REASON_LINE.fullmatch(r) for r in listed.splitlines()[1:]]
        assert found, text
        assert all(found), text
        codes = {m.group(2) for m in found if m}
        if not await asyncio.to_thread(processed.exists):  # the whole file could not be read
            assert await asyncio.to_thread(rejected.read_bytes) == body
            return f"file rejected {'/'.join(sorted(codes))}"
        # each reason names a line of the file by its number, and never a good event's line
        numbers = [int(m.group(1)) for m in found if m]
        assert numbers == sorted(set(numbers)), text
        physical = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
        assert all(1 <= n <= len(physical) for n in numbers), text
        good = {line for line, ok in zip(lines, must_accept, strict=True) if ok}
        for n in numbers:
            assert physical[n - 1].removesuffix(b"\r") not in good, f"good line {n}: {text}"
        return f"lines rejected {'/'.join(sorted(codes))}"

    outcomes = await examples(
        one,
        kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=4),
        mutations=st.lists(line_mutations(), min_size=4, max_size=4),
        file_kind=st.sampled_from(FILE_KINDS),
    )
    assert_both_ways(outcomes, "processed", ["rejected"])

    # nothing sticks: a valid file still goes through, and every stored item is settled
    await asyncio.to_thread(
        write_atomically, events.folder, "last.jsonl", (json.dumps(seed("case")) + "\n").encode()
    )
    await eventually(lambda: asyncio.to_thread((events.processed / "last.jsonl").exists))
    assert not await asyncio.to_thread(lambda: list(events.folder.glob("*.jsonl")))
    assert await ppr.outbox.drain(30.0), "the adapter's outbox did not drain"
    assert not await ppr.outbox.items(ItemState.PENDING, limit=10_000)
    for item in await ppr.outbox.items(ItemState.REFUSED, limit=10_000):
        assert item.code, "a refusal without a code"
    for folder in (events.folder, events.processed, events.rejected):
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


async def test_an_unpaired_surrogate_is_refused_and_the_events_go_on(
    hub: RestartableHub, make_adapter: MakeAdapter
) -> None:
    """JSON can escape an unpaired surrogate (``\\ud800``) into any string, the id too; such
    a line is refused with ``invalid-text`` before it reaches the outbox's database (which
    cannot store it), and the other lines and later files go through."""
    ppr = await make_adapter("municipality", PPR_GLN)
    events = ppr.events
    for field in ("id", "ref", "title"):
        bad, good = seed("case"), seed("case")
        bad[field] = f"{bad[field]}\ud800"
        body = _encode(bad) + b"\n" + _encode(good) + b"\n"
        assert b"\\ud800" in body
        name = f"surrogate-{field}.jsonl"
        await asyncio.to_thread(write_atomically, events.folder, name, body)
        done = events.processed / name
        await eventually(lambda: asyncio.to_thread(done.exists))  # noqa: B023 - awaited here
        reason = (events.rejected / f"{name}.reason.txt").read_text("utf-8")
        assert "line 1: invalid-text: " in reason
        assert "line 2" not in reason
    assert await ppr.outbox.drain(10.0)
    sent = await ppr.outbox.items(ItemState.SENT)
    assert len(sent) == 3  # the three good lines
