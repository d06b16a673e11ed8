"""Keys and certificates for one local control plane.

Every control plane gets its own certificate authority, so a client configured for the upstream
cannot talk to the downstream by accident, and clients verify TLS for real instead of skipping
verification (a test that passes only with ``insecure-skip-tls-verify`` would hide the
certificate handling syncpipe has to get right).

TLS keys are ECDSA P-256 because they are generated in milliseconds, which keeps a cold start
fast; the service-account signing key is RSA, the algorithm every Kubernetes release accepts for
``--service-account-signing-key-file``.

Nothing here starts a process or talks to a server; ``write`` is the only I/O.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Long enough that a `syncpipe dev up` environment left running for weeks keeps working, short
# enough that nobody mistakes these for real credentials.
VALIDITY = datetime.timedelta(days=365)


@attrs.frozen(kw_only=True)
class Pki:
    """PEM material of one control plane; ``write`` lays it out as files for the binaries."""

    ca_cert: bytes
    serving_cert: bytes
    serving_key: bytes
    service_account_key: bytes
    service_account_public_key: bytes

    def write(self, directory: Path) -> PkiFiles:
        """Write every PEM into ``directory`` (private keys readable by the owner only)."""
        directory.mkdir(parents=True, exist_ok=True)
        files = PkiFiles(
            ca_cert=directory / "ca.crt",
            serving_cert=directory / "apiserver.crt",
            serving_key=directory / "apiserver.key",
            service_account_key=directory / "sa.key",
            service_account_public_key=directory / "sa.pub",
        )
        for path, content, mode in (
            (files.ca_cert, self.ca_cert, 0o644),
            (files.serving_cert, self.serving_cert, 0o644),
            (files.serving_key, self.serving_key, 0o600),
            (files.service_account_key, self.service_account_key, 0o600),
            (files.service_account_public_key, self.service_account_public_key, 0o644),
        ):
            path.write_bytes(content)
            path.chmod(mode)
        return files


@attrs.frozen(kw_only=True)
class PkiFiles:
    """Where ``Pki.write`` put each PEM."""

    ca_cert: Path
    serving_cert: Path
    serving_key: Path
    service_account_key: Path
    service_account_public_key: Path


def generate(
    common_name: str, *, ip_addresses: Sequence[str] = (), dns_names: Sequence[str] = ()
) -> Pki:
    """Create a CA, a serving certificate for 127.0.0.1/localhost signed by it, and an SA key.

    ``common_name`` only labels the certificates (it shows up in TLS error messages, which helps
    telling the upstream's CA from the downstream's). ``ip_addresses`` and ``dns_names`` are
    further names the server is reached by (a node's pods use the bridge address and the
    in-cluster Service's address and names).
    """
    now = datetime.datetime.now(datetime.UTC)
    # Backdated a little so a clock that is a few seconds off never sees "not yet valid".
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + VALIDITY

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"syncpipe-{common_name}-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"syncpipe-{common_name}")])
        )
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            # Python's ssl matches IP addresses only against IP SANs, never against DNS names.
            x509.SubjectAlternativeName(
                [
                    *(x509.DNSName(name) for name in ("localhost", *dns_names)),
                    *(
                        x509.IPAddress(ipaddress.ip_address(address))
                        for address in ("127.0.0.1", *ip_addresses)
                    ),
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return Pki(
        ca_cert=ca_cert.public_bytes(serialization.Encoding.PEM),
        serving_cert=serving_cert.public_bytes(serialization.Encoding.PEM),
        serving_key=_private_pem(serving_key),
        service_account_key=_private_pem(sa_key),
        service_account_public_key=sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    # Traditional OpenSSL format ("EC PRIVATE KEY" / "RSA PRIVATE KEY"): the format the
    # Kubernetes 1.20 key loaders were written against; they accept PKCS#8 too, but this one
    # is what every guide shows, so a reader comparing files sees what they expect.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
