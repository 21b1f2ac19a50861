"""The wire contract between the hub and its clients.

What travels over the hub's HTTP API, in one low layer that the hub (``coordinator``), the
sector adapters (``adapters``) and the terminal apps (``tui``) all import: the wire models
(pydantic) from which the hub's answers and its OpenAPI schemas are made, and the one client
that speaks to the hub. It sits on ``messages`` and knows no server, database or terminal UI.
"""
