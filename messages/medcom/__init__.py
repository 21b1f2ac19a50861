"""MedCom OIOXML: XDIS91 correspondence, XCTL receipts, XBIN01 binary letters."""
