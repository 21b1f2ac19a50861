"""The shared index's overview as FHIR R4 (``/fhir/r4/...``): read-only searches by the
child's CPR identifier, answered through the same disclosure rule as ``/v1``'s overview."""
