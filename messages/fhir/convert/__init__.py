"""OIOXML (XDIS91, XBIN01, XCTL) ⇄ MedCom FHIR (CareCommunication, Acknowledgement).

One small, named function per published conversion rule (MedCom's mapping XDIS91 ⇄
CareCommunication v5.0 and XCTL ⇄ Acknowledgement; the rule numbers C1–C11 are those of
the summary beside MedCom's reference files):

* ``text``: C1 line breaks, C3 the high-priority sentence, C7 the author, a specific
  sender and recipient and a reply or forward note appended, C8 the further CPR numbers;
* ``subject``: C2 a missing subject, C7 the subject from category and topic;
* ``people``: C4 author and contact fallbacks, C5 replacement CPR, C8 which CPR leads;
* ``episode``: C6 episode-of-care status and identifier;
* ``attachments``: C9 n attachments ⇄ one XBIN01 with n objects, C10 a missing XBIN01;
* ``receipts``: C11 one Acknowledgement ⇄ two XCTL;
* ``letter``: the whole letter both ways, composed of the above.
"""
