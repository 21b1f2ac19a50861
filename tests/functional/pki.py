"""A throw-away PKI for the mutual-TLS tests.

A CA (``trustme``) issues the hub's certificate; the organisations' client certificates are
made here with ``cryptography`` and signed by that CA's key (or another CA's, standing for
anyone else), so a test chooses a certificate's subject and serial number.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Pki", "make_pki", "serial_of"]


@dataclass
class Pki:
    ca: trustme.CA
    ca_file: Path
    server_cert: Path
    server_key: Path
    root: Path

    def client(
        self,
        name: str,
        common_name: str,
        ca: trustme.CA | None = None,
        *,
        serial: int | None = None,
    ) -> Path:
        """A client certificate with subject ``CN=common_name`` and ``serial`` (random when
        None), issued by ``ca`` (default: the hub's client CA); its key and certificate in
        one PEM."""
        issuer = ca or self.ca
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
        issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
        assert isinstance(issuer_key, ec.EllipticCurvePrivateKey)  # trustme's default
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(issuer_cert.subject)
            .public_key(key.public_key())
            .serial_number(serial if serial is not None else x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
            .sign(issuer_key, hashes.SHA256())
        )
        path = self.root / f"{name}.pem"
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            + certificate.public_bytes(serialization.Encoding.PEM)
        )
        return path

    def context(self, client_pem: Path | None = None) -> ssl.SSLContext:
        """A client's TLS context: trusts the hub's CA, presents ``client_pem`` if given."""
        context = ssl.create_default_context(cafile=str(self.ca_file))
        if client_pem is not None:
            context.load_cert_chain(str(client_pem))
        return context


def serial_of(pem: Path) -> int:
    """The serial number of the certificate in ``pem``."""
    return x509.load_pem_x509_certificate(pem.read_bytes()).serial_number


def make_pki(root: Path) -> Pki:
    """A CA, the hub's certificate for ``127.0.0.1``, their files in ``root``."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca_file, cert, key = root / "ca.pem", root / "hub.pem", root / "hub.key"
    ca.cert_pem.write_to_path(str(ca_file))
    server.cert_chain_pems[0].write_to_path(str(cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(cert), append=True)
    server.private_key_pem.write_to_path(str(key))
    return Pki(ca, ca_file, cert, key, root)
