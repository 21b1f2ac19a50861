"""Running the hub: the operators' monitor, health and metrics, hub processes,
the audit trail.
"""
