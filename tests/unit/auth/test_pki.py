"""The cluster CA: identities in certificates, usages, SANs and private key modes."""

from __future__ import annotations

import datetime
import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from cli.cluster.pki import CertificateAuthority, new_signing_key
from master.apiserver.auth.x509 import user_from_certificate


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority.create("tugboat-test-ca")


def test_a_client_certificate_names_the_user_in_cn_and_the_groups_in_o(ca):
    pair = ca.issue("system:node:n1", organizations=["system:nodes"], client=True)
    user = user_from_certificate(pair.cert)
    assert user is not None
    assert user.name == "system:node:n1"
    assert "system:nodes" in user.groups and "system:authenticated" in user.groups


def test_a_server_certificate_names_its_addresses_and_serves_only(ca):
    pair = ca.issue("apiserver", server=True, hosts=["127.0.0.1", "localhost"])
    cert = x509.load_pem_x509_certificate(pair.cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usages) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.issuer == ca.cert.subject


def test_a_server_certificate_without_hosts_is_refused(ca):
    with pytest.raises(ValueError, match="names no host"):
        ca.issue("apiserver", server=True)


def test_saved_keys_are_private_and_certificates_public(ca, tmp_path: Path):
    ca.save(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert stat.S_IMODE((tmp_path / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "ca.crt").stat().st_mode) == 0o644
    again = CertificateAuthority.load(tmp_path / "ca.crt", tmp_path / "ca.key")
    assert again.cert == ca.cert


def test_not_before_in_the_past_makes_an_expired_certificate(ca):
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    pair = ca.issue("old", client=True, valid_days=1, not_before=long_ago)
    cert = x509.load_pem_x509_certificate(pair.cert)
    assert cert.not_valid_after_utc < datetime.datetime.now(datetime.UTC)


def test_the_signing_key_pair_is_ecdsa_p256_pem():
    pair = new_signing_key()
    assert pair.cert.startswith(b"-----BEGIN PUBLIC KEY-----")
    key = serialization.load_pem_private_key(pair.key, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
