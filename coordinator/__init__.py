"""The hub: store-and-forward mailboxes, receipts, the shared index, consent, access log."""
