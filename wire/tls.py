"""The TLS context a client of the hub connects with.

Over HTTPS the hub's certificate is checked against ``ca_file`` (else the system's CAs).
With ``client_cert`` (and ``client_key`` unless the PEM holds both) the client presents a
certificate for mutual TLS; its subject names the organisation (``GLN:<13 digits>``).
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["tls_context"]


def tls_context(
    ca_file: Path | str | None, client_cert: Path | str | None, client_key: Path | str | None
) -> ssl.SSLContext | None:
    """A TLS context trusting ``ca_file`` and presenting ``client_cert``; None for defaults."""
    if ca_file is None and client_cert is None:
        return None
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if client_cert is not None:
        context.load_cert_chain(str(client_cert), str(client_key) if client_key else None)
    return context
