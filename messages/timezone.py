"""Danish local time: MedCom and HL7 times without an offset are Europe/Copenhagen."""

from __future__ import annotations

from zoneinfo import ZoneInfo

__all__ = ["COPENHAGEN"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
"""The zone of every local time Samspil reads or writes (MedCom to the minute, HL7 TS)."""
