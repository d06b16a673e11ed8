"""Certificates a TLS client can verify."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from syncpipe.devenv import pki


def test_serving_certificate_is_signed_by_the_ca_for_loopback_names(tmp_path):
    material = pki.generate("upstream")
    ca = x509.load_pem_x509_certificate(material.ca_cert)
    serving = x509.load_pem_x509_certificate(material.serving_cert)

    serving.verify_directly_issued_by(ca)
    names = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]


def test_each_generation_has_its_own_ca_and_an_rsa_service_account_key():
    first, second = pki.generate("a"), pki.generate("a")

    assert first.ca_cert != second.ca_cert
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    assert isinstance(load_pem_private_key(first.service_account_key, None), rsa.RSAPrivateKey)


def test_private_keys_are_written_owner_only(tmp_path):
    files = pki.generate("a").write(tmp_path)

    assert files.serving_key.stat().st_mode & 0o777 == 0o600
    assert files.service_account_key.stat().st_mode & 0o777 == 0o600
    assert files.ca_cert.stat().st_mode & 0o777 == 0o644
