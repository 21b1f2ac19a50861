"""Sample MedCom OIOXML documents for the hub's functional tests.

Built from the structure of MedCom's official examples (``Flow1-XDIS91_Ex_to_FHIR.xml`` and
``Flow2-XCTL03_Ex_from_FHIR_XDIS91.xml`` from medcomdk/dk-medcom-carecommunication, kept in
``../shared/medcom/examples/oioxml/``), parametrised by sender, receiver and identifiers.
The child is fictitious: MedCom's test CPR 2512489996.
"""

from __future__ import annotations

import itertools
import os

NS_XDIS91 = "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2006/07/01/"
NS_XCTL = "http://rep.oio.dk/sundcom.dk/medcom.dk/xml/schemas/2005/08/07/"

_counter = itertools.count(1)


#: The text of the sample letter (the log guard looks for it in every log record).
LETTER_TEXT = "PPR har modtaget henvisningen. Vi indkalder til et møde om Nancy."


def new_id(prefix: str = "T") -> str:
    """A fresh 14-character identifier (unique within a test run)."""
    return f"{prefix}{os.getpid() % 10000:04d}{next(_counter):09d}"[:14]


def xdis91(
    *,
    sender: str,
    receiver: str,
    envelope_id: str | None = None,
    letter_id: str | None = None,
    ack: bool = True,
    episode: str | None = None,
    text: str = LETTER_TEXT,
    padding: int = 0,
    encoding: str = "ISO-8859-1",
) -> bytes:
    """An XDIS91 correspondence letter from ``sender`` to ``receiver``."""
    envelope_id = envelope_id or new_id("K")
    letter_id = letter_id or new_id("B")
    code = "pluspositivkvitt" if ack else "minuspositivkvitt"
    episode_xml = (
        f"<EpisodeOfCareIdentifier>{episode}</EpisodeOfCareIdentifier>\n" if episode else ""
    )
    if padding:
        text = text + " " + ("Uddybning af forløbet. " * (padding // 23 + 1))[:padding]
    document = f"""<?xml version="1.0" encoding="{encoding}"?>
<Emessage xmlns="{NS_XDIS91}">
<Envelope>
<Sent>
<Date>2025-11-20</Date>
<Time>17:45</Time>
</Sent>
<Identifier>{envelope_id}</Identifier>
<AcknowledgementCode>{code}</AcknowledgementCode>
</Envelope>
<ClinicalEmail>
<Letter>
<Identifier>{letter_id}</Identifier>
<VersionCode>XD9134L</VersionCode>
<StatisticalCode>XDIS91</StatisticalCode>
<Authorisation>
<Date>2025-11-20</Date>
<Time>17:45</Time>
</Authorisation>
<TypeCode>XDIS91</TypeCode>
<StatusCode>nytbrev</StatusCode>
{episode_xml}</Letter>
<Sender>
<EANIdentifier>{sender}</EANIdentifier>
<Identifier>{sender}</Identifier>
<IdentifierCode>lokationsnummer</IdentifierCode>
<OrganisationName>Afsender</OrganisationName>
<DepartmentName>Børn og unge</DepartmentName>
<MedicalSpecialityCode>ikkeklassificeret</MedicalSpecialityCode>
</Sender>
<Receiver>
<EANIdentifier>{receiver}</EANIdentifier>
<Identifier>{receiver}</Identifier>
<IdentifierCode>lokationsnummer</IdentifierCode>
<OrganisationName>Modtager</OrganisationName>
<StreetName>Vandværksvej 99</StreetName>
<DistrictName>Brønderslev</DistrictName>
<PostCodeIdentifier>9700</PostCodeIdentifier>
</Receiver>
<Patient>
<CivilRegistrationNumber>2512489996</CivilRegistrationNumber>
<PersonSurnameName>Berggren</PersonSurnameName>
<PersonGivenName>Nancy</PersonGivenName>
<EpisodeOfCareStatusCode>inaktiv</EpisodeOfCareStatusCode>
</Patient>
<AdditionalInformation>
<Priority>rutine</Priority>
<Subject>Henvisning til PPR</Subject>
</AdditionalInformation>
<ClinicalInformation>
<Text01>{text}</Text01>
</ClinicalInformation>
</ClinicalEmail>
</Emessage>
"""
    return document.encode(encoding)


def receipt(
    *,
    sender: str,
    receiver: str,
    original_envelope_id: str,
    original_letter_id: str,
    refuse_code: str | None = None,
    envelope_id: str | None = None,
    letter_id: str | None = None,
) -> bytes:
    """An XCTL03 positive receipt, or with ``refuse_code`` an XCTL02 negative one, sent by
    ``sender`` (the letter's receiver) to ``receiver`` (the letter's sender)."""
    envelope_id = envelope_id or new_id("K")
    letter_id = letter_id or new_id("B")
    if refuse_code is None:
        root, version, kind, refusal = "PositiveReceipt", "XC0330Q", "XCTL03", ""
    else:
        root, version, kind = "NegativeReceipt", "XC0230Q", "XCTL02"
        refusal = (
            f"<RefuseCode>{refuse_code}</RefuseCode>"
            "<RefuseText>Brevet kan ikke modtages.</RefuseText>"
        )
    document = f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<Emessage xmlns="{NS_XCTL}">
  <Envelope>
    <Sent><Date>2025-11-20</Date><Time>17:46</Time></Sent>
    <Identifier>{envelope_id}</Identifier>
    <AcknowledgementCode>minuspositivkvitt</AcknowledgementCode>
  </Envelope>
  <{root}>
    <Letter>
      <Identifier>{letter_id}</Identifier>
      <VersionCode>{version}</VersionCode>
      <StatisticalCode>{kind}</StatisticalCode>
    </Letter>
    <Sender><EANIdentifier>{sender}</EANIdentifier></Sender>
    <Receiver><EANIdentifier>{receiver}</EANIdentifier></Receiver>
    <OriginalEmessage>
      <OriginalEnvelopeIdentifier>{original_envelope_id}</OriginalEnvelopeIdentifier>
      <OriginalSender><EANIdentifier>{receiver}</EANIdentifier></OriginalSender>
      <OriginalReceiver><EANIdentifier>{sender}</EANIdentifier></OriginalReceiver>
      <OriginalLetter>
        <OriginalLetterIdentifier>{original_letter_id}</OriginalLetterIdentifier>
        <OriginalVersionCode>XD9134L</OriginalVersionCode>{refusal}
      </OriginalLetter>
    </OriginalEmessage>
  </{root}>
</Emessage>
"""
    return document.encode("ISO-8859-1")
