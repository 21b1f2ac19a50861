"""The message layer: MedCom OIOXML (XDIS91 correspondence, XCTL receipts, XBIN01) and
HL7 v2 (REF, SIU, ADT, ACK) — typed models, building, parsing, validation, MLLP framing.

Pure: no server, no database, no terminal UI. Everything above it imports from here.
"""
