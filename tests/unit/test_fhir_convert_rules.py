"""MedCom's OIOXML ⇄ FHIR conversion rules, one function each (C1–C11)."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import UTC, datetime

import pytest

from messages.errors import ConversionError, RefuseCode
from messages.fhir.build import care_communication_tree
from messages.fhir.convert.attachments import (
    attachments_from,
    binary_objects_for,
    decoded_size,
    object_code_for,
    references_for,
)
from messages.fhir.convert.episode import (
    encounter_state,
    episode_id_for_fhir,
    episode_id_for_oioxml,
    status_code_from,
)
from messages.fhir.convert.letter import (
    care_communication_from_oioxml,
    oioxml_from_care_communication,
)
from messages.fhir.convert.people import (
    contact_phone,
    fallback_author_name,
    replacement_cpr_system,
    split_cprs,
)
from messages.fhir.convert.receipts import (
    CONVERSION_FAILED_SENTENCE,
    acknowledgement_from_receipts,
    receipts_from_acknowledgement,
)
from messages.fhir.convert.record import ConversionRecord
from messages.fhir.convert.subject import category_and_topic, subject_from
from messages.fhir.convert.text import (
    EMPTY_TEXT,
    EXTRA_CPR_SENTENCE,
    HIGH_PRIORITY_SENTENCE,
    append_author,
    append_extra_cprs,
    append_history_note,
    append_specific_parties,
    breaks_to_newlines,
    newlines_to_breaks,
    prefix_high_priority,
    text_or_placeholder,
)
from messages.fhir.model import (
    CPR_SYSTEM,
    REPLACEMENT_CPR_OTHER_SYSTEM,
    REPLACEMENT_CPR_REGION_SYSTEM,
    Acknowledgement,
    AttachmentPayload,
    EpisodeIdentifier,
    Organization,
    Participant,
    PatientIdentifier,
)
from messages.fhir.read import read_care_communication
from messages.fhir.rules import check_care_communication
from messages.medcom.model import BinaryLetter, MessageType, Priority
from messages.medcom.receipts import receipt_for
from messages.medcom.text import BREAK, Style, Styled, to_plain
from tests.fhir_samples import (
    DIRECTORY,
    OBJECT_ID,
    PDF,
    counting_ids,
    sample_binary,
    sample_care_communication,
    sample_letter,
    with_specific_parties,
)
from tests.unit.test_fhir_read_build import ACK

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


# C1 line breaks
def test_c1_breaks_become_line_feeds_and_styles_are_dropped() -> None:
    block = ("Hej", BREAK, Styled(Style.BOLD, ("vigtigt",)), BREAK, BREAK, "slut")
    assert breaks_to_newlines((block, ("næste",))) == "Hej\nvigtigt\n\nslut\nnæste"


def test_c1_line_feeds_become_breaks() -> None:
    assert newlines_to_breaks("a\r\nb\n\nc\n") == ("a", BREAK, "b", BREAK, BREAK, "c", BREAK)


# C2 missing subject
@pytest.mark.parametrize("subject", [None, "", "   "])
def test_c2_a_missing_subject_is_unknown_other(subject: str | None) -> None:
    assert category_and_topic(subject) == ("other", "Ukendt emne")


def test_c2_a_subject_is_the_topic_and_a_c7_subject_gives_its_category_back() -> None:
    assert category_and_topic("Forundersøgelse") == ("other", "Forundersøgelse")
    assert category_and_topic("Vedr. henvisning, Røntgen") == ("regarding-referral", "Røntgen")
    assert category_and_topic("Vedr. henvisning, ") == ("other", "Vedr. henvisning, ")


# C3 high priority
def test_c3_high_priority_on_a_letter_that_is_not_a_referral() -> None:
    assert prefix_high_priority("Tekst", high_priority=True, referral=False) == (
        f"{HIGH_PRIORITY_SENTENCE} Tekst"
    )
    assert prefix_high_priority("Tekst", high_priority=True, referral=True) == "Tekst"
    assert prefix_high_priority("Tekst", high_priority=False, referral=False) == "Tekst"
    assert prefix_high_priority("", high_priority=True, referral=False) == HIGH_PRIORITY_SENTENCE


# C4 author and contact
def test_c4_author_is_the_organisation() -> None:
    assert fallback_author_name("Lægehuset", "SOR-navn") == "Lægehuset"
    assert fallback_author_name(None, "SOR-navn") == "SOR-navn"
    assert fallback_author_name(None, None) == "Ukendt"


def test_c4_contact_phone_fallbacks() -> None:
    assert contact_phone("11111111", "22222222") == "11111111"
    assert contact_phone(None, "22222222") == "22222222"
    assert contact_phone(None, None) == "0000 0000"


# C5 replacement CPR
@pytest.mark.parametrize(
    ("alternative", "system"),
    [
        ("0101801ABC", REPLACEMENT_CPR_REGION_SYSTEM),
        ("0101807ABC", REPLACEMENT_CPR_REGION_SYSTEM),
        ("0101803ABC", REPLACEMENT_CPR_OTHER_SYSTEM),
        ("010180XABC", REPLACEMENT_CPR_OTHER_SYSTEM),
    ],
)
def test_c5_replacement_cpr_system_by_the_seventh_character(alternative: str, system: str) -> None:
    assert replacement_cpr_system(alternative) == system


# C6 episode of care
@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("inaktiv", ("other", "unknown", False)),
        ("indlagt", ("IMP", "in-progress", False)),
        ("ambulant", ("AMB", "in-progress", False)),
        ("ambulant_roentgen", ("AMB", "in-progress", False)),
        ("doed", ("other", "finished", True)),
        ("udskrevet_til_hjemmet", ("other", "unknown", False)),
    ],
)
def test_c6_status_to_encounter(code: str, state: tuple[str, str, bool]) -> None:
    assert encounter_state(code) == state


@pytest.mark.parametrize(
    ("class_code", "status", "deceased", "code"),
    [
        ("IMP", "in-progress", False, "indlagt"),
        ("AMB", "in-progress", False, "ambulant"),
        ("other", "finished", True, "doed"),
        ("other", "unknown", False, "inaktiv"),
        ("IMP", "finished", False, "inaktiv"),  # S-Tek-A's combination
        ("AMB", "in-progress", True, "inaktiv"),
        (None, None, True, "doed"),
        (None, None, False, "inaktiv"),
    ],
)
def test_c6_encounter_to_status(
    class_code: str | None, status: str | None, deceased: bool, code: str
) -> None:
    assert status_code_from(class_code, status, deceased=deceased) == code


def test_c6_episode_identifier_hyphens() -> None:
    assert episode_id_for_fhir("D3779C521FC94D9693DC693A4FAAB338") == (
        "urn:uuid:d3779c52-1fc9-4d96-93dc-693a4faab338"
    )
    assert episode_id_for_fhir("LPR-123") == "LPR-123"
    first = EpisodeIdentifier(
        "https://sor2.sum.dsdn.dk/#id=1", "urn:uuid:d3779c52-1fc9-4d96-93dc-693a4faab338"
    )
    lpr = EpisodeIdentifier("urn:dk:lpr3:forloeb", "urn:uuid:0b4e8a46-16c5-4b6e-9a5e-0c1b2d3e4f50")
    assert episode_id_for_oioxml((first,)) == "d3779c521fc94d9693dc693a4faab338"
    assert episode_id_for_oioxml((first, lpr)) == "0b4e8a4616c54b6e9a5e0c1b2d3e4f50"
    assert episode_id_for_oioxml(()) is None


# C7 subject, priority, author
@pytest.mark.parametrize(
    ("category", "topic", "subject"),
    [
        ("regarding-referral", "Røntgen", "Vedr. henvisning, Røntgen"),
        ("other", "Forundersøgelse", "Andet, Forundersøgelse"),
        ("examination-results", None, "Undersøgelsessvar"),
        ("other", "x" * 100, ("Andet, " + "x" * 100)[:70]),
    ],
)
def test_c7_subject_from_category_and_topic(category: str, topic: str | None, subject: str) -> None:
    assert subject_from(category, topic) == subject
    assert len(subject_from(category, topic)) <= 70


def test_c7_author_is_appended() -> None:
    assert append_author("Hilsen\nMichael\n", name="Michael Burns", role_code="sygeplejerske") == (
        "Hilsen\nMichael\nForfatter: Michael Burns\nStilling: Sygeplejerske\n"
    )
    assert append_author("Hilsen", name="K. Petersen", role_code="overlaege").endswith(
        "Hilsen\nForfatter: K. Petersen\nStilling: Overlæge\n"
    )


def test_c7_priority_is_kept_only_for_a_referral() -> None:
    message = care_communication_from_oioxml(
        dataclasses.replace(
            sample_letter(with_attachment=False),
            subject="Vedr. henvisning, X",
            priority=Priority.HIGH,
        ),
        directory=DIRECTORY,
    )
    assert message.priority == "asap"
    letter, _ = oioxml_from_care_communication(message)
    assert letter.priority is Priority.HIGH
    other = dataclasses.replace(message, category="other")
    assert oioxml_from_care_communication(other)[0].priority is None


def test_c7_a_reply_or_forward_is_noted() -> None:
    assert append_history_note("Tekst", "reply-message") == (
        "Tekst\nDenne meddelelse er et svar på en tidligere meddelelse.\n"
    )
    assert append_history_note("Tekst\n", "forward-message") == (
        "Tekst\nDenne meddelelse er videresendt.\n"
    )
    assert append_history_note("Tekst", "new-message") == "Tekst"
    message = care_communication_from_oioxml(sample_letter(), directory=DIRECTORY)
    reply = dataclasses.replace(
        message,
        provenances=(dataclasses.replace(message.provenances[0], activity="reply-message"),),
    )
    text = to_plain(oioxml_from_care_communication(reply)[0].clinical_information[0])
    assert text.endswith("Denne meddelelse er et svar på en tidligere meddelelse.\n")


def test_c7_a_specific_sender_and_recipient_are_appended() -> None:
    team = Organization("t", name="Plejecenter Herlev")
    nurse = Participant("PractitionerRole", "r", name="Michael Burns", role_code="sygeplejerske")
    carers = Participant("CareTeam", "c", (team,), name="Team 1")
    assert append_specific_parties("Tekst", (nurse,), (carers,)) == (
        "Tekst\nSpecifik afsender: Michael Burns, Sygeplejerske\n"
        "Specifik modtager: Team 1, Plejecenter Herlev\n"
    )
    worded = Participant("PractitionerRole", "r", name="Anna\nHolm", role_text="Sundhedsplejerske")
    unnamed = Participant("CareTeam", "c", (team,))
    assert append_specific_parties("Tekst\n", (worded,), (unnamed,)) == (
        "Tekst\nSpecifik afsender: Anna Holm, Sundhedsplejerske\n"
        "Specifik modtager: Plejecenter Herlev\n"
    )
    unknown_role = Participant("PractitionerRole", "r", name="K. Petersen", role_code="ukendt")
    nameless = Participant("PractitionerRole", "r", role_code="ukendt")  # nothing to write
    assert append_specific_parties("Tekst", (unknown_role,), (nameless,)) == (
        "Tekst\nSpecifik afsender: K. Petersen\n"
    )
    assert append_specific_parties("Tekst", (), ()) == "Tekst"


def _bundle_with_a_named_author() -> dict[str, object]:
    """The sample bundle whose author is a named nurse (not C4's fallback)."""
    tree = care_communication_tree(sample_care_communication())
    for entry in tree["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "PractitionerRole":
            resource["code"][0]["coding"][0]["code"] = "sygeplejerske"
        if resource["resourceType"] == "Practitioner":
            resource["name"] = [{"family": "Burns", "given": ["Michael"]}]
    return tree


def test_c7_a_specific_sender_and_recipient_in_a_converted_letter() -> None:
    plain = read_care_communication(_bundle_with_a_named_author())
    parties = read_care_communication(
        with_specific_parties(
            _bundle_with_a_named_author(),
            sender_org=plain.sender.id,
            recipient_org=plain.receiver.id,
        )
    )
    assert check_care_communication(parties) == ()
    text = to_plain(oioxml_from_care_communication(parties)[0].clinical_information[0])
    assert text == plain.text + (
        "\nForfatter: Michael Burns\nStilling: Sygeplejerske\n"
        "Specifik afsender: Michael Burns, Sygeplejerske\n"
        "Specifik modtager: Team 1, PPR Aalborg\n"
    )
    unchanged = to_plain(oioxml_from_care_communication(plain)[0].clinical_information[0])
    assert unchanged == plain.text + "\nForfatter: Michael Burns\nStilling: Sygeplejerske\n"
    reply = dataclasses.replace(
        parties,
        provenances=(dataclasses.replace(parties.provenances[0], activity="reply-message"),),
    )
    replied = to_plain(oioxml_from_care_communication(reply)[0].clinical_information[0])
    assert replied == text + "Denne meddelelse er et svar på en tidligere meddelelse.\n"


# C8 several CPRs
def test_c8_the_first_cpr_leads_and_the_others_go_into_the_text() -> None:
    ids = (
        PatientIdentifier(REPLACEMENT_CPR_OTHER_SYSTEM, "0101803ABC"),
        PatientIdentifier(CPR_SYSTEM, "1203164321"),
        PatientIdentifier(CPR_SYSTEM, "0101104321"),
    )
    assert split_cprs(ids) == ("1203164321", None, ("0101104321",))
    assert split_cprs(ids[:1]) == (None, "0101803ABC", ())
    assert split_cprs(()) == (None, None, ())
    assert append_extra_cprs("Tekst", ("0101104321",)) == (
        f"Tekst\n{EXTRA_CPR_SENTENCE}:\n0101104321\n"
    )
    assert append_extra_cprs("Tekst", ()) == "Tekst"


def test_c8_in_a_converted_letter() -> None:
    message = care_communication_from_oioxml(sample_letter(), directory=DIRECTORY)
    patient = dataclasses.replace(
        message.patient,
        identifiers=(*message.patient.identifiers, PatientIdentifier(CPR_SYSTEM, "0101104321")),
    )
    letter, _ = oioxml_from_care_communication(dataclasses.replace(message, patient=patient))
    assert letter.patient.cpr == "1203164321"
    assert to_plain(letter.clinical_information[0]).endswith(f"{EXTRA_CPR_SENTENCE}:\n0101104321\n")


def test_c8_no_cpr_at_all_cannot_be_converted() -> None:
    message = care_communication_from_oioxml(sample_letter(), directory=DIRECTORY)
    message = dataclasses.replace(
        message, patient=dataclasses.replace(message.patient, identifiers=())
    )
    with pytest.raises(ConversionError) as caught:
        oioxml_from_care_communication(message)
    assert caught.value.code == "conversion-no-cpr"


# C9 attachments
@pytest.mark.parametrize(
    ("mime", "code"),
    [
        ("image/png", "billede"),
        ("image/jpeg", "billede"),
        ("application/pdf", "vektor_grafik"),
        ("text/plain", "tekstfil"),
        ("video/mpeg", "multimedie"),
        ("application/msword", "proprietaert_indhold"),
    ],
)
def test_c9_object_code_from_mime(mime: str, code: str) -> None:
    assert object_code_for(mime) == code


def test_c9_n_attachments_make_one_xbin01_with_n_objects() -> None:
    png = base64.b64encode(b"\x89PNG" + b"0" * 10).decode()
    attachments = (
        AttachmentPayload(f"urn:uuid:{OBJECT_ID}", None, "application/pdf", data=PDF),
        AttachmentPayload(
            "urn:uuid:f954e070-7934-4591-8004-1fe23060f2bb", None, "image/png", data=png
        ),
        AttachmentPayload(
            "urn:uuid:0b4e8a46-16c5-4b6e-9a5e-0c1b2d3e4f50", None, "image/png"
        ),  # no data
    )
    objects = binary_objects_for(attachments, uuid.uuid4)
    assert [o.object_identifier for o in objects] == [
        OBJECT_ID,
        "f954e070-7934-4591-8004-1fe23060f2bb",
    ]
    assert [o.object_code for o in objects] == ["vektor_grafik", "billede"]
    assert [o.extension_code for o in objects] == ["pdf", "png"]
    assert [o.original_size for o in objects] == [len(base64.b64decode(PDF)), 14]
    refs = references_for(objects)
    assert [r.binary.object_identifier for r in refs if r.binary] == [
        OBJECT_ID.replace("-", ""),
        "f954e07079344591800" + "41fe23060f2bb",
    ]
    message = care_communication_from_oioxml(sample_letter(), directory=DIRECTORY)
    letter, binary = oioxml_from_care_communication(
        dataclasses.replace(message, attachments=attachments)
    )
    assert binary is not None
    assert len(binary.objects) == 2
    assert len(letter.references) == 2
    assert binary.envelope.wants_positive_receipt
    assert binary.sender.identifier_code == "sorkode"
    assert decoded_size("AAAA") == 3


# C10 the XBIN01 missing
def test_c10_an_attachment_without_its_xbin01_goes_without_data_and_title() -> None:
    letter = sample_letter()
    arrived = attachments_from(
        letter.references, sample_binary(letter).objects, moment=None, new_id=uuid.uuid4
    )
    missing = attachments_from(letter.references, None, moment=None, new_id=uuid.uuid4)
    assert arrived[0].data == PDF
    assert arrived[0].title == "vektor_grafik"
    assert missing[0].data is None
    assert missing[0].title is None
    assert missing[0].identifier == arrived[0].identifier == f"urn:uuid:{OBJECT_ID}"
    assert missing[0].content_type == "application/pdf"


def test_c10_a_long_text_is_accepted() -> None:
    long_letter = dataclasses.replace(
        sample_letter(with_attachment=False), clinical_information=(("x" * 40_000,),)
    )
    message = care_communication_from_oioxml(long_letter, directory=DIRECTORY)
    assert len(message.text) == 40_000
    assert check_care_communication(message) == ()


# C11 receipts
def _record() -> ConversionRecord:
    letter = sample_letter()
    binary = sample_binary(letter)
    message = care_communication_from_oioxml(
        letter, binary, directory=DIRECTORY, new_id=counting_ids()
    )
    return ConversionRecord(message=message, letter=letter, binary=binary)


def _ack(record: ConversionRecord, code: str, details: str | None = None) -> Acknowledgement:
    return dataclasses.replace(
        ACK, response_identifier=record.message.header_id, code=code, details=details
    )


def _binary_receipt_wanted(record: ConversionRecord) -> BinaryLetter:
    assert record.binary is not None  # the XBIN01 asks for a receipt, as C9 writes it
    envelope = dataclasses.replace(record.binary.envelope, ack_code=record.letter.envelope.ack_code)
    return dataclasses.replace(record.binary, envelope=envelope)


def test_c11_one_ok_acknowledgement_makes_two_positive_receipts() -> None:
    record = _record()
    receipts = receipts_from_acknowledgement(_ack(record, "ok"), record, now=NOW)
    assert [r.type for r in receipts] == [MessageType.XCTL03, MessageType.XCTL03]
    assert record.binary is not None
    assert [r.original_letters[0].identifier for r in receipts] == [
        record.letter.letter_identifier,
        record.binary.letter_identifier,
    ]
    assert [r.original_envelope_identifier for r in receipts] == [
        record.letter.envelope.identifier,
        record.binary.envelope.identifier,
    ]
    assert all(r.sender_ean == record.letter.receiver.ean for r in receipts)
    assert all(not r.envelope.wants_positive_receipt for r in receipts)


def test_c11_without_attachments_one_receipt() -> None:
    record = dataclasses.replace(_record(), binary=None)
    receipts = receipts_from_acknowledgement(_ack(record, "ok"), record, now=NOW)
    assert [r.type for r in receipts] == [MessageType.XCTL03]


def test_c11_an_error_acknowledgement_makes_two_negative_receipts_with_the_sentence() -> None:
    record = _record()
    ack = _ack(record, "transient-error", "Modtager ukendt")
    receipts = receipts_from_acknowledgement(ack, record, now=NOW)
    assert [r.type for r in receipts] == [MessageType.XCTL02, MessageType.XCTL02]
    for receipt in receipts:
        letter = receipt.original_letters[0]
        assert letter.refuse_code is RefuseCode.NOT_SPECIFIED
        assert letter.refuse_text is not None
        assert to_plain(letter.refuse_text) == f"Modtager ukendt\n{CONVERSION_FAILED_SENTENCE}"


def test_c11_an_acknowledgement_for_another_message_is_refused() -> None:
    record = _record()
    ack = dataclasses.replace(_ack(record, "ok"), response_identifier="other")
    with pytest.raises(ConversionError):
        receipts_from_acknowledgement(ack, record, now=NOW)


def test_c11_two_receipts_make_one_acknowledgement_and_one_alone_nothing() -> None:
    record = _record()
    assert record.binary is not None
    binary = dataclasses.replace(
        record.binary,
        envelope=dataclasses.replace(
            record.binary.envelope, ack_code=record.letter.envelope.ack_code
        ),
    )
    letter_receipt = receipt_for(record.letter, now=NOW)
    binary_receipt = receipt_for(binary, now=NOW)
    assert acknowledgement_from_receipts([letter_receipt], record, now=NOW) is None
    assert acknowledgement_from_receipts([binary_receipt], record, now=NOW) is None
    ack = acknowledgement_from_receipts([letter_receipt, binary_receipt], record, now=NOW)
    assert ack is not None
    assert ack.code == "ok"
    assert ack.response_identifier == record.message.header_id
    assert ack.sender.gln == record.message.receiver.gln
    refused = receipt_for(
        binary, refuse_code=RefuseCode.SYNTAX_ERROR, refuse_text="Forkert fil", now=NOW
    )
    negative = acknowledgement_from_receipts([letter_receipt, refused], record, now=NOW)
    assert negative is not None
    assert negative.code == "fatal-error"
    assert negative.details == "Forkert fil"


def test_a_letter_without_text_gets_samspils_sentence() -> None:
    assert text_or_placeholder("") == EMPTY_TEXT
    assert text_or_placeholder("Tekst") == "Tekst"
    empty = dataclasses.replace(sample_letter(with_attachment=False), clinical_information=())
    message = care_communication_from_oioxml(empty, directory=DIRECTORY)
    assert message.text == EMPTY_TEXT
    assert check_care_communication(message) == ()
    blank = dataclasses.replace(message, texts=(dataclasses.replace(message.texts[0], text=""),))
    assert [i.code for i in check_care_communication(blank)] == ["medcom-text-missing"]
