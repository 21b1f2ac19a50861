"""Mailboxes: letters and receipts, stored and forwarded — submit, inbox
(long-poll), fetch, acknowledge, status, expiry.
"""
