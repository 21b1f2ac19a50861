"""``samspil demo`` with MedCom FHIR beside OIOXML: child and adolescent psychiatry and one
GP clinic speak FHIR, the others OIOXML, and letters and receipts cross between them
through the real hub (the hub converts each for its receiver)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from adapters.simulation.region import OrgKind, pilot_region
from messages.fhir.model import Acknowledgement, CareCommunication
from messages.fhir.read import read_fhir
from messages.medcom.documents import parse_message
from messages.medcom.model import Correspondence, Receipt
from messages.medcom.registry import SchemaRegistry

REGISTRY = SchemaRegistry()
SEED = 2036
"""A run whose four children go to the FHIR clinic and to psychiatry (the same seed, the
same run)."""


def _read(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


def _letters_from(folders: Iterable[Path], sender: str) -> list[Correspondence]:
    """The XDIS91 letters from ``sender`` read in ``folders``."""
    return [
        message
        for folder in folders
        for path in _read(folder, "XDIS91_*.xml")
        if isinstance(
            message := parse_message(path.read_bytes(), registry=REGISTRY), Correspondence
        )
        and message.sender.ean == sender
    ]


def test_fhir_and_oioxml_partners_exchange_letters_and_receipts(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "samspil", "demo", "--children", "4", "--seed", str(SEED),
         "--speed", "30", "--port", "0", "--exit"],
        cwd=tmp_path, capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "4 referrals, 4 arrived as letters" in done.stdout
    assert " 0 still queued." in done.stdout  # (refusals: consents at an age's edge, not mail)
    region = tmp_path / "var" / "demo" / "region"
    orgs = pilot_region()
    bup = next(o for o in orgs if o.kind is OrgKind.PSYCHIATRY)
    fhir_gp = next(o for o in orgs if o.kind is OrgKind.GP and o.speaks_fhir)
    assert bup.speaks_fhir

    # psychiatry (FHIR) reads the GPs' OIOXML referrals as CareCommunications, and the
    # XCTL03 of the OIOXML clinics for its own letters as Acknowledgements
    read = region / bup.slug / "medcom" / "inbox" / "read"
    referrals = [read_fhir(p.read_bytes()) for p in _read(read, "XDIS91_*.json")]
    assert referrals
    assert all(isinstance(m, CareCommunication) for m in referrals)
    assert all(m.receiver.gln == bup.gln for m in referrals)
    acks = [read_fhir(p.read_bytes()) for p in _read(read, "XCTL03_*.json")]
    assert acks
    assert all(isinstance(a, Acknowledgement) and a.positive for a in acks)
    assert _read(region / bup.slug / "medcom" / "sent", "*.json")  # its letters, as FHIR

    # ... which OIOXML clinics read as XDIS91
    assert _letters_from(region.glob("gp-*/medcom/inbox/read"), bup.gln)

    # the FHIR clinic reads a municipality's OIOXML letter as a CareCommunication, and the
    # municipality gets an XCTL03 for it (from the clinic's Acknowledgement)
    clinic = region / fhir_gp.slug / "medcom" / "inbox" / "read"
    letters = [read_fhir(p.read_bytes()) for p in _read(clinic, "XDIS91_*.json")]
    assert letters
    assert all(isinstance(m, CareCommunication) for m in letters)
    receipts = [
        message
        for folder in region.glob("ppr-*/medcom/inbox/read")
        for path in _read(folder, "XCTL03_*.xml")
        if isinstance(message := parse_message(path.read_bytes(), registry=REGISTRY), Receipt)
        and message.sender_ean == fhir_gp.gln
    ]
    assert receipts

    # the FHIR clinic's referrals (HL7 from its system) go as CareCommunications: an OIOXML
    # PPR reads the XDIS91 the hub made of one (C7's Subject "<category>, <topic>"), and
    # the receipts come back to the clinic as Acknowledgements, never as XCTL03
    converted = _letters_from(region.glob("ppr-*/medcom/inbox/read"), fhir_gp.gln)
    assert converted
    assert all((m.subject or "").startswith("Andet, Henvisning ") for m in converted)
    answers = [read_fhir(p.read_bytes()) for p in _read(clinic, "XCTL03_*.json")]
    assert answers
    assert all(isinstance(a, Acknowledgement) and a.positive for a in answers)
    assert not _read(clinic, "XCTL03_*.xml")
    assert not list(region.glob("*/medcom/rejected/*"))  # no letter or bundle refused
    assert "Traceback" not in done.stderr
