"""TLS for the hub, and mutual TLS: which organisation a client certificate names.

``samspil serve --tls-cert C --tls-key K`` serves HTTPS (TLS 1.2 or newer). With
``--tls-client-ca CA`` a client *may* present a certificate issued by that CA (clients with
bearer tokens need none); a certificate is verified in the handshake, so one from another CA
never reaches the hub's code.

**The GLN in a certificate.** Samspil reads the organisation from the certificate's subject:
the ``serialNumber`` attribute (OID 2.5.4.5, as Danish OCES certificates carry ``CVR:...``)
reading ``GLN:<13 digits>``, or, if there is none, a common name (``CN``) of that form —
e.g. ``CN=GLN:5790000123456, O=Lægehuset Vestbyen``. The 13 digits must be a valid GLN.

**The serial number** identifies one certificate (as issued by the CA), so one lost
certificate can be revoked without its organisation's other certificates
(:mod:`coordinator.security.certificates`). It is kept as :func:`parse_serial` writes it —
hexadecimal, lower case, no leading zeros — whether it was typed (``openssl x509 -noout
-serial`` prints ``serial=0A1B…``; ``openssl x509 -text`` prints ``0a:1b:…``) or read from
the peer certificate (Python's ``serialNumber``: upper case, whole bytes).
"""

from __future__ import annotations

import ssl
from typing import Any

from coordinator.errors import ConfigError
from coordinator.settings import Settings
from messages.errors import IdentifierError
from messages.identifiers import parse_gln

GLN_PREFIX = "GLN:"
SERIAL_MAX_DIGITS = 64
"""The longest serial the hub keeps, in hexadecimal digits (RFC 5280 allows 40)."""
_HEX = frozenset("0123456789abcdef")


class InvalidSerial(ValueError):
    """Text that is not a certificate serial number in hexadecimal."""


def parse_serial(raw: str) -> str:
    """A certificate serial number as the hub keeps it: hexadecimal digits in lower case
    without leading zeros (``0`` for zero). Takes what people copy: ``serial=`` or ``0x`` in
    front, upper case, bytes separated by colons or blanks. Raises :class:`InvalidSerial`."""
    text = raw.strip().lower()
    for prefix in ("serial=", "0x"):
        text = text.removeprefix(prefix)
    digits = "".join(text.replace(":", " ").split())
    if not digits or not set(digits) <= _HEX:
        raise InvalidSerial(
            "a certificate serial number is hexadecimal, as 'openssl x509 -noout -serial' "
            "prints it (0x, colons and upper case are taken)"
        )
    digits = digits.lstrip("0") or "0"
    if len(digits) > SERIAL_MAX_DIGITS:
        raise InvalidSerial(
            f"a certificate serial number has at most {SERIAL_MAX_DIGITS} hexadecimal digits"
        )
    return digits


def serial_from_peercert(cert: dict[str, Any]) -> str | None:
    """The serial number of a verified peer certificate (:func:`parse_serial`'s form), or
    None when it has none that reads as hexadecimal (a negative one, say)."""
    raw = cert.get("serialNumber")
    if not isinstance(raw, str):
        return None
    try:
        return parse_serial(raw)
    except InvalidSerial:
        return None


def gln_from_peercert(cert: dict[str, Any]) -> str | None:
    """The GLN a verified peer certificate (:meth:`ssl.SSLSocket.getpeercert`) names, or None."""
    attributes: dict[str, list[str]] = {}
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            attributes.setdefault(str(key), []).append(str(value))
    for key in ("serialNumber", "commonName"):
        for value in attributes.get(key, ()):
            if value.upper().startswith(GLN_PREFIX):
                try:
                    return parse_gln(value[len(GLN_PREFIX) :].strip())
                except IdentifierError:
                    return None
    return None


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """The hub's TLS context, or None to serve plain HTTP."""
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
        if settings.tls_client_ca is not None:
            context.load_verify_locations(cafile=settings.tls_client_ca)
            context.verify_mode = ssl.CERT_OPTIONAL  # tokens still work without a certificate
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"the TLS files cannot be used: {exc}") from exc
    return context
