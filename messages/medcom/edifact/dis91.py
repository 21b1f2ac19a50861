"""DIS91 (``MEDDIS:D:93A:UN:D9134L``) ⇄ :class:`~messages.medcom.model.Correspondence`.

The segments, in MedCom's groups (each opened by its marker segment ``S01`` … ``S14``)::

    BGM+EPI++9+NA                                   letter
    DTM+137:<CCYYMMDDHHMM>:203                      Letter/Authorisation
    S01  NAD+SSP+<id>:<SKS|YNR||KOM|SOR>:<agency>++<org>:<dept>:<unit>:::US
         ADR++US:<street>:<suburb>+<district>+<post code>   CON++<phone>:TE
         SEQ++1  SPR+ORG+<speciality>:SKS:SST+DIS91:SKS:SST   Sender
    S01  NAD+PO+… ADR… SEQ++2                        Receiver
    S02  GIS+<N|M>  RFF+SRI:<letter id>  RFF+<HI|NO>:NC  DTM+182:…:203
    S07  PNA+PAT+<cpr>:::CPR:IM+++SU:<surname>+FO:<given>  RFF+XPI:<alt id>
         ADR…  EMP+1++:::<occupancy>                  Patient
    S11  GIS+N  RFF+REI:<episode id> (or RFF+AHI:1)  SEQ++1  PAS+<POT|HS|HA|DA|REQ>
    S14  FTX+OE+++<subject>  FTX+NC+P00++<text>…      one S14 per ClinicalInformation
    S14  FTX+<URL|SUP|BIN>+P00++<description>:…       References

The sender's and receiver's location numbers are UNB's; the envelope is UNB's too.
What OIOXML has and DIS91 cannot hold: an empty ``AdditionalInformation`` (read as absent)
and a sender without a speciality (written as 99, read as ``ikkeklassificeret``, as MedCom's
converter does); a receiver's missing organisation name is written ``_`` and read back as
missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from messages.errors import EdifactStructureError, EdifactValueError
from messages.medcom.edifact import codes
from messages.medcom.edifact.ftx import ftx_segments, read_ftx
from messages.medcom.edifact.interchange import Interchange, Message
from messages.medcom.edifact.syntax import Element, Segment, check_text
from messages.medcom.model import (
    AckCode,
    Address,
    BinaryReference,
    Correspondence,
    Envelope,
    LetterStatus,
    Party,
    Patient,
    Priority,
    Reference,
)
from messages.medcom.text import FormattedText
from messages.medcom.xmlcodec import local_minute
from messages.timezone import COPENHAGEN

__all__ = ["DIS91_IDENTIFIER", "dis91_message", "read_dis91"]

DIS91_IDENTIFIER: Element = ("MEDDIS", "D", "93A", "UN", "D9134L")
_MARKERS = frozenset({"S01", "S02", "S07", "S11", "S14"})
_REFERENCE_KINDS = frozenset({"BIN", "SUP", "URL"})
_SPECIALITY_CODES = codes.inverse(codes.SPECIALITIES)
_IDENTIFIER_QUALIFIERS = codes.inverse(codes.IDENTIFIER_CODES)
_EPISODE_CODES = codes.inverse(codes.EPISODE_STATUS)
_OBJECT_CODES = codes.inverse(codes.OBJECT_CODES)
_OBJECT_VALUES = {**codes.OBJECT_CODES, "SND": "multimedie"}
_PRIORITIES = {"HI": Priority.HIGH, "NO": Priority.ROUTINE}
_PRIORITY_CODES = {Priority.HIGH: "HI", Priority.ROUTINE: "NO"}

# ---------------------------------------------------------------- reading


class _Reader:
    """The message's segments in their groups, with segment numbers for errors."""

    __slots__ = ("groups", "head", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self.head: list[Segment] = []
        self.groups: list[tuple[str, list[Segment]]] = []
        current = self.head
        for segment in message.segments:
            if segment.tag in _MARKERS:
                current = []
                self.groups.append((segment.tag, current))
            else:
                current.append(segment)

    def where(self, segment: Segment) -> int | None:
        """The segment's number in the interchange (looked up for errors only)."""
        for offset, candidate in enumerate(self.message.segments):
            if candidate is segment:
                return self.message.position + offset + 1
        return None

    def all(self, marker: str) -> list[list[Segment]]:
        return [segments for tag, segments in self.groups if tag == marker]

    def party(self, qualifier: str) -> tuple[Segment, list[Segment]] | None:
        for segments in self.all("S01"):
            for segment in segments:
                if segment.tag == "NAD" and segment.get(0) == qualifier:
                    return segment, segments
        return None


def _first(segments: list[Segment], tag: str, qualifier: str | None = None) -> Segment | None:
    for segment in segments:
        if segment.tag == tag and (qualifier is None or segment.get(0) == qualifier):
            return segment
    return None


def _moment(r: _Reader, segment: Segment) -> datetime:
    value, form = segment.get(0, 1), segment.get(0, 2)
    if form not in ("203", "") or len(value) != 12 or not value.isdigit():
        raise EdifactValueError(
            f"DTM+{segment.get(0)} {value!r} is not CCYYMMDDHHMM (format 203)",
            segment=r.where(segment),
            tag="DTM",
        )
    try:
        return datetime(
            int(value[:4]),
            int(value[4:6]),
            int(value[6:8]),
            int(value[8:10]),
            int(value[10:12]),
            tzinfo=COPENHAGEN,
        )
    except ValueError as exc:
        raise EdifactValueError(
            f"DTM+{segment.get(0)} {value!r} is not a date", segment=r.where(segment), tag="DTM"
        ) from exc


def _address(segment: Segment | None) -> Address:
    if segment is None:
        return Address()
    return Address(
        street=segment.get(1, 1) or None,
        suburb=segment.get(1, 2) or None,
        district=segment.get(2) or None,
        post_code=segment.get(3) or None,
    )


def _coded(r: _Reader, segment: Segment, table: dict[str, str], value: str, what: str) -> str:
    found = table.get(value)
    if found is None:
        raise EdifactValueError(
            f"{what} {value!r} is not in MedCom's code list",
            segment=r.where(segment),
            tag=segment.tag,
        )
    return found


def _party(r: _Reader, qualifier: str, ean: str, *, sender: bool) -> Party:
    found = r.party(qualifier)
    if found is None:
        raise EdifactStructureError(
            f"DIS91 has no {'sender' if sender else 'receiver'} (S01 with NAD+{qualifier})",
            code="edifact-missing-segment",
        )
    nad, group = found
    qual = nad.get(1, 1)
    identifier_code = _coded(
        r, nad, codes.IDENTIFIER_CODES, "" if qual == "EAN" else qual, "NAD's identifier code"
    )
    organisation = nad.get(3, 0) or None
    if not sender and organisation == "_":
        organisation = None
    speciality: str | None = None
    telephone: str | None = None
    if sender:
        spr = _first(group, "SPR")
        if spr is not None and spr.get(1):
            speciality = _coded(r, spr, codes.SPECIALITIES, spr.get(1), "SPR's speciality")
        con = _first(group, "CON")
        telephone = con.get(1) or None if con is not None else None
    return Party(
        ean=ean,
        identifier=nad.get(1, 0),
        identifier_code=identifier_code,
        organisation_name=organisation,
        department_name=nad.get(3, 1) or None,
        unit_name=nad.get(3, 2) or None,
        address=_address(_first(group, "ADR")),
        telephone=telephone,
        medical_speciality=speciality,
    )


def _patient(r: _Reader) -> Patient:
    groups = r.all("S07")
    pna = _first(groups[0], "PNA", "PAT") if groups else None
    if pna is None:
        raise EdifactStructureError(
            "DIS91 has no patient (S07 with PNA+PAT)", code="edifact-missing-segment"
        )
    group = groups[0]
    alternative = _first(group, "RFF", "XPI")
    status = "inaktiv"
    for s11 in r.all("S11"):
        pas = _first(s11, "PAS")
        if pas is not None:
            status = _coded(r, pas, codes.EPISODE_STATUS, pas.get(0), "PAS's episode status")
    emp = _first(group, "EMP")
    return Patient(
        cpr=pna.get(1, 0) or None,
        alternative_identifier=alternative.get(0, 1) if alternative is not None else None,
        surname=pna.get(4, 1),
        given_name=pna.get(5, 1) or None,
        address=_address(_first(group, "ADR")),
        occupancy=(emp.get(2, 3) or None) if emp is not None else None,
        episode_of_care_status=status,
    )


def _reference(r: _Reader, ftx: Segment) -> Reference:
    kind = ftx.get(0)
    lines = ftx.element(3)
    description = lines[0] if lines else ""
    if kind == "SUP":
        return Reference(description=description, sup=True)
    if kind == "URL":
        url = "".join("" if v == "." else v[:-1] if v.endswith("\\") else v for v in lines[1:])
        return Reference(description=description, url=url)
    size = ftx.get(3, 4)
    if not size.isdigit():
        raise EdifactValueError(
            f"FTX+BIN's size {size!r} is not a number", segment=r.where(ftx), tag="FTX"
        )
    return Reference(
        description=description,
        binary=BinaryReference(
            object_identifier=ftx.get(3, 1),
            object_code=_coded(r, ftx, _OBJECT_VALUES, ftx.get(3, 2), "FTX+BIN's object code"),
            extension_code=codes.extension_value(ftx.get(3, 3)),
            original_size=int(size),
        ),
    )


def read_dis91(interchange: Interchange, message: Message) -> Correspondence:
    """The letter of a DIS91 message (its interchange gives envelope and location numbers)."""
    r = _Reader(message)
    dtm = _first(r.head, "DTM", "137")
    s02 = r.all("S02")
    letter_info = s02[0] if s02 else []
    if dtm is None:
        dtm = _first(letter_info, "DTM", "182")
    if dtm is None:
        raise EdifactStructureError("DIS91 has no date (DTM+137)", code="edifact-missing-segment")
    gis = _first(letter_info, "GIS")
    status = LetterStatus.CORRECTED if gis is not None and gis.get(0) == "M" else LetterStatus.NEW
    priority: Priority | None = None
    for rff in letter_info:
        if rff.tag == "RFF" and rff.get(0) in _PRIORITIES:
            priority = _PRIORITIES[rff.get(0)]
            break
    episode: str | None = None
    for s11 in r.all("S11"):
        rei = _first(s11, "RFF", "REI")
        if rei is not None:
            episode = rei.get(0, 1)
    subject: str | None = None
    blocks: list[FormattedText] = []
    references: list[Reference] = []
    for group in r.all("S14"):
        ftxs = [s for s in group if s.tag == "FTX"]
        if ftxs and ftxs[0].get(0) == "OE" and subject is None:
            subject = ftxs[0].get(3)
        text = [s for s in ftxs if s.get(0) not in _REFERENCE_KINDS and s.get(0) != "OE"]
        if text:
            blocks.append(read_ftx(text))
        references.extend(_reference(r, s) for s in ftxs if s.get(0) in _REFERENCE_KINDS)
    return Correspondence(
        envelope=Envelope(
            identifier=interchange.reference,
            sent=interchange.prepared,
            ack_code=AckCode.POSITIVE if interchange.ack_request == "1" else AckCode.NONE,
        ),
        letter_identifier=message.reference,
        authorised=_moment(r, dtm),
        status=status,
        episode_of_care_identifier=episode,
        sender=_party(r, "SSP", interchange.sender, sender=True),
        receiver=_party(r, "PO", interchange.recipient, sender=False),
        patient=_patient(r),
        priority=priority,
        subject=subject,
        clinical_information=tuple(blocks),
        references=tuple(references),
    )


# ---------------------------------------------------------------- writing


def _checked(what: str) -> Callable[[str | None], str]:
    def value(text: str | None) -> str:
        if not text:
            return ""
        check_text(text, what)
        return text

    return value


_v = _checked("the letter")


def _stamp(moment: datetime) -> str:
    return f"{local_minute(moment):%Y%m%d%H%M}"


def _adr(address: Address) -> list[Segment]:
    if not (address.street or address.suburb or address.district or address.post_code):
        return []
    return [
        Segment(
            "ADR",
            (
                (),
                ("US", _v(address.street), _v(address.suburb)),
                (_v(address.district),),
                (_v(address.post_code),),
            ),
        )
    ]


def _nad(qualifier: str, party: Party, *, sender: bool) -> Segment:
    code = party.identifier_code
    if code not in _IDENTIFIER_QUALIFIERS:
        raise EdifactValueError(f"IdentifierCode {code!r} has no DIS91 code")
    organisation = party.organisation_name
    if not organisation and not sender:
        organisation = "_"  # MedCom's converter: a receiver's name is required in NAD
    return Segment(
        "NAD",
        (
            (qualifier,),
            (_v(party.identifier), _IDENTIFIER_QUALIFIERS[code], codes.IDENTIFIER_AGENCIES[code]),
            (),
            (_v(organisation), _v(party.department_name), _v(party.unit_name), "", "", "US"),
        ),
    )


def _sender(party: Party) -> list[Segment]:
    segments = [Segment("S01", (("01",),)), _nad("SSP", party, sender=True), *_adr(party.address)]
    if party.telephone:
        segments.append(Segment("CON", ((), (_v(party.telephone), "TE"))))
    speciality = party.medical_speciality or "ikkeklassificeret"
    code = _SPECIALITY_CODES.get(speciality)
    if code is None:
        raise EdifactValueError(f"MedicalSpecialityCode {speciality!r} has no DIS91 code")
    segments += [
        Segment("SEQ", ((), ("1",))),
        Segment("SPR", (("ORG",), (code, "SKS", "SST"), ("DIS91", "SKS", "SST"))),
    ]
    return segments


def _receiver(party: Party) -> list[Segment]:
    return [
        Segment("S01", (("01",),)),
        _nad("PO", party, sender=False),
        *_adr(party.address),
        Segment("SEQ", ((), ("2",))),
    ]


def _patient_segments(patient: Patient) -> list[Segment]:
    cpr: Element = (_v(patient.cpr), "", "", "CPR", "IM") if patient.cpr else ()
    segments = [
        Segment("S07", (("07",),)),
        Segment(
            "PNA",
            (
                ("PAT",),
                cpr,
                (),
                (),
                ("SU", _v(patient.surname)),
                ("FO" if patient.given_name else "", _v(patient.given_name)),
            ),
        ),
    ]
    if patient.cpr is None and patient.alternative_identifier:
        segments.append(Segment("RFF", (("XPI", _v(patient.alternative_identifier)),)))
    segments += _adr(patient.address)
    if patient.occupancy:
        segments.append(Segment("EMP", (("1",), (), ("", "", "", _v(patient.occupancy)))))
    return segments


def _reference_segment(ref: Reference) -> Segment:
    if len(ref.description) > 70:
        raise EdifactValueError("a reference's description is at most 70 characters")
    lines: list[str] = [_v(ref.description)]
    if ref.url is not None:
        url = _v(ref.url)
        kind = "URL"
        while len(url) > 70:
            lines.append(url[:69] + "\\")
            url = url[69:]
        lines.append(url)
    elif ref.binary is not None:
        kind = "BIN"
        b = ref.binary
        object_code = _OBJECT_CODES.get(b.object_code)
        if object_code is None:
            raise EdifactValueError(f"ObjectCode {b.object_code!r} has no DIS91 code")
        lines += [
            _v(b.object_identifier),
            object_code,
            _v(codes.extension_code(b.extension_code)),
            str(b.original_size),
        ]
    else:
        kind = "SUP"
    return Segment("FTX", ((kind,), ("P00",), (), tuple(lines)))


def dis91_message(letter: Correspondence) -> Message:
    """The DIS91 message of a letter (its UNB comes from the envelope and the parties)."""
    stamp = _stamp(letter.authorised)
    episode = letter.episode_of_care_identifier
    status = _EPISODE_CODES.get(letter.patient.episode_of_care_status)
    if status is None:
        raise EdifactValueError(
            f"EpisodeOfCareStatusCode {letter.patient.episode_of_care_status!r} has no DIS91 code"
        )
    segments: list[Segment] = [
        Segment("BGM", (("EPI",), (), ("9",), ("NA",))),
        Segment("DTM", (("137", stamp, "203"),)),
        *_sender(letter.sender),
        *_receiver(letter.receiver),
        Segment("S02", (("02",),)),
        Segment("GIS", (("M" if letter.status is LetterStatus.CORRECTED else "N",),)),
        Segment("RFF", (("SRI", _v(letter.letter_identifier)),)),
    ]
    if letter.priority is not None:
        segments.append(Segment("RFF", ((_PRIORITY_CODES[letter.priority], "NC"),)))
    segments += [
        Segment("DTM", (("182", stamp, "203"),)),
        *_patient_segments(letter.patient),
        Segment("S11", (("11",),)),
        Segment("GIS", (("N",),)),
        Segment("RFF", (("REI", _v(episode)) if episode else ("AHI", "1"),)),
        Segment("SEQ", ((), ("1",))),
        Segment("PAS", ((status,),)),
    ]
    subject: list[Segment] = []
    if letter.subject is not None:
        if len(letter.subject) > 70:
            raise EdifactValueError("a subject is at most 70 characters")
        subject = [Segment("FTX", (("OE",), ("P00",), (), (_v(letter.subject),)))]
    blocks = letter.clinical_information
    for index, block in enumerate(blocks):
        segments.append(Segment("S14", (("14",),)))
        if index == 0:
            segments += subject
        text = ftx_segments("NC", block)
        segments += text or [Segment("FTX", (("NC",), ("P00",)))]
    if not blocks and subject:
        segments += [Segment("S14", (("14",),)), *subject]
    if letter.references:
        segments.append(Segment("S14", (("14",),)))
        segments += [_reference_segment(ref) for ref in letter.references]
    return Message(
        reference=letter.letter_identifier,
        identifier=DIS91_IDENTIFIER,
        access="DIS91",
        segments=tuple(segments),
    )
