"""The child and adolescent psychiatry adapter: the hospital EHR's HL7 v2 feed over MLLP.

* ``ADT^A04``/``A03`` — an outpatient course starts or ends: the department's case
  (``psychiatric-assessment`` unless the configuration says ``case_kind``) becomes active or
  closed in the index;
* ``SIU^S12``..``S15`` — appointments, as for every HL7 feed (:mod:`adapters.hl7feed`).

Correspondence goes through the **MedCom file drop** (:mod:`adapters.filedrop`), not the
EHR's MLLP ``MDM^T02`` documents. The choice: Danish hospital EHRs already exchange XDIS91
as OIOXML files with their MedCom communication module, so the file drop is what the EHR
integration has today; the letter then travels byte for byte as the EHR wrote it (signed
by its own sender), receipts included, and one file-drop implementation serves all three
sectors. An ``MDM^T02`` would need the adapter to author the letter from a document
segment, with no place to carry MedCom's receipt request. ``REF^I12`` is answered ``AE``:
referrals reach psychiatry as letters.

Receipts: an EHR whose MedCom module writes its own XCTL03 for the letters it takes in is
configured with ``[filedrop] receipts = "system"``, so the sender gets one receipt, the
EHR's; the default, ``"adapter"``, has the adapter send it (see
:class:`~adapters.config.ReceiptsBy`). Should both send one, the hub keeps the first and
refuses the second (``already-receipted``), which the adapter takes quietly.
"""

from __future__ import annotations

from typing import ClassVar

from adapters.hl7feed import Hl7Adapter

__all__ = ["PsychiatryAdapter"]


class PsychiatryAdapter(Hl7Adapter):
    kind: ClassVar[str] = "psychiatry"
    default_case_kind: ClassVar[str] = "psychiatric-assessment"
