"""HL7 v2.5: REF^I12, SIU^S12-S15, ADT^A04/A03 and ACK; MLLP framing."""
