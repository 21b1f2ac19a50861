"""The shared index: cases, appointments, contacts, consent, the coordinator, the
access log.
"""
