"""Synthetic MedCom letters and CareCommunications for the FHIR tests (no official files).

The CPR numbers are MedCom-style test numbers; the GLNs have valid check digits; the SOR
codes are invented (15-16 digits, as SOR's).
"""

from __future__ import annotations

import base64
import copy
import itertools
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from messages.fhir.convert.letter import SorEntry, care_communication_from_oioxml
from messages.fhir.model import FULL_URL_BASE, IG, SENDER_EXT, CareCommunication
from messages.medcom.correspondence import new_correspondence
from messages.medcom.model import (
    AckCode,
    Address,
    BinaryLetter,
    BinaryObject,
    BinaryReference,
    Correspondence,
    Envelope,
    Party,
    Patient,
    Reference,
)

GP_GLN = "5790000120314"
PPR_GLN = "5790000121441"
GP_SOR = "1017421000016003"
PPR_SOR = "1385391000016002"
DIRECTORY = {
    GP_GLN: SorEntry(sor=GP_SOR),
    PPR_GLN: SorEntry(sor=PPR_SOR),
}
NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
PDF = base64.b64encode(b"%PDF-1.3\n" + bytes(range(256)) * 4).decode("ascii")
OBJECT_ID = "c39ea6b2-6052-45e4-a207-415e0205ab6f"
CARE_TEAM_PROFILE = f"{IG}/core/StructureDefinition/medcom-core-careteam"


def counting_ids() -> Callable[[], uuid.UUID]:
    """Deterministic UUID v4s (for repeatable conversions)."""
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter), version=4)


def sample_letter(*, with_attachment: bool = True) -> Correspondence:
    letter = new_correspondence(
        sender=Party(
            ean=GP_GLN,
            identifier=GP_GLN,
            identifier_code="lokationsnummer",
            organisation_name="Lægehuset Vestbyen",
            telephone="98123456",
        ),
        receiver=Party(
            ean=PPR_GLN,
            identifier=PPR_GLN,
            identifier_code="lokationsnummer",
            organisation_name="PPR Aalborg",
        ),
        patient=Patient(
            cpr="1203164321",
            surname="Jensen",
            given_name="Mads Emil",
            address=Address(street="Skolevej 3", district="Aalborg", post_code="9000"),
        ),
        subject="Henvisning til PPR",
        text="Kære PPR\nMads har svært ved at komme i skole.\n\nVenlig hilsen\nLægen",
        ask_for_receipt=True,
        episode_of_care_identifier="d3779c521fc94d9693dc693a4faab338",
        now=NOW,
    )
    if not with_attachment:
        return letter
    ref = Reference(
        description="BIN",
        binary=BinaryReference(
            object_identifier=OBJECT_ID.replace("-", ""),
            object_code="vektor_grafik",
            extension_code="pdf",
            original_size=len(base64.b64decode(PDF)),
        ),
    )
    return replace(letter, references=(ref,))


def sample_binary(letter: Correspondence) -> BinaryLetter:
    return BinaryLetter(
        envelope=Envelope(identifier="BIN0001", sent=letter.authorised, ack_code=AckCode.NONE),
        letter_identifier="BINL0001",
        authorised=letter.authorised,
        sender=letter.sender,
        receiver=letter.receiver,
        patient=Patient(cpr=letter.patient.cpr, surname=letter.patient.surname),
        objects=(
            BinaryObject(
                object_identifier=OBJECT_ID,
                object_code="vektor_grafik",
                extension_code="pdf",
                original_size=len(base64.b64decode(PDF)),
                base64=PDF,
            ),
        ),
    )


def sample_care_communication() -> CareCommunication:
    letter = sample_letter()
    return care_communication_from_oioxml(
        letter, sample_binary(letter), directory=DIRECTORY, new_id=counting_ids()
    )


def with_specific_parties(
    tree: dict[str, Any], *, sender_org: str, recipient_org: str
) -> dict[str, Any]:
    """A copy of a CareCommunication bundle with a specific sender and recipient, as in
    MedCom's example ``8-AllContent``: the author's PractitionerRole is the specific sender
    (its ``organization`` is Organization ``sender_org``), and a CareTeam managed by
    Organization ``recipient_org`` the recipient."""
    bundle: dict[str, Any] = copy.deepcopy(tree)
    resources = [e["resource"] for e in bundle["entry"]]
    communication = next(r for r in resources if r["resourceType"] == "Communication")
    role = next(r for r in resources if r["resourceType"] == "PractitionerRole")
    role["organization"] = {"reference": f"Organization/{sender_org}"}
    team_id = "fb1d34fe-6672-41ed-9022-0242ac120002"
    bundle["entry"].append(
        {
            "fullUrl": f"{FULL_URL_BASE}CareTeam/{team_id}",
            "resource": {
                "resourceType": "CareTeam",
                "id": team_id,
                "meta": {"profile": [CARE_TEAM_PROFILE]},
                "name": "Team 1",
                "managingOrganization": [{"reference": f"Organization/{recipient_org}"}],
            },
        }
    )
    communication["extension"] = [
        {"url": SENDER_EXT, "valueReference": {"reference": f"PractitionerRole/{role['id']}"}}
    ]
    communication["recipient"] = [{"reference": f"CareTeam/{team_id}"}]
    return bundle
