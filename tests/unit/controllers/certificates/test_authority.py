"""What the signer's CA puts in a certificate, and which CA files it refuses to load."""

from __future__ import annotations

import base64
import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from master.controllers.certificates.authority import (
    Authority,
    AuthorityError,
    InvalidRequest,
    parse_request,
)
from master.controllers.certificates.signing import lifetime
from proto import certificates_pb2
from tests.support.certificates import ca_files, request_pem

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)
YEAR = datetime.timedelta(days=365)
PEM_TYPE = "CERTIFICATE REQUEST"


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    files = ca_files(tmp_path)
    return Authority.load(files.cert_file, files.key_file)


def signed(
    authority: Authority,
    pem: bytes,
    usages: list[str],
    span: datetime.timedelta = YEAR,
    now: datetime.datetime = NOW,
) -> x509.Certificate:
    return authority.sign(parse_request(pem), usages=usages, lifetime=span, now=now)


def test_the_certificate_carries_the_request_s_subject_and_key_and_chains_to_the_ca(
    authority: Authority,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = request_pem("jane", ["devs", "ops"], key=key)

    cert = signed(authority, pem, ["client auth"])

    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "jane"
    orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    assert orgs == ["devs", "ops"]
    assert cert.public_key() == key.public_key()
    assert cert.issuer == authority.cert.subject
    cert.verify_directly_issued_by(authority.cert)
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert (basic.value.ca, basic.critical) == (False, True)


@pytest.mark.parametrize(
    ("usages", "extended", "key_usage"),
    [
        (["client auth"], [ExtendedKeyUsageOID.CLIENT_AUTH], None),
        (
            ["key encipherment", "digital signature", "server auth"],
            [ExtendedKeyUsageOID.SERVER_AUTH],
            {"digital_signature", "key_encipherment"},
        ),
        (
            ["client auth", "server auth", "signing"],
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            {"digital_signature"},
        ),
    ],
    ids=["client-only", "serving-with-key-usages", "extended-in-go-order"],
)
def test_usages_become_the_extended_key_usage_and_the_key_usage(
    authority: Authority,
    usages: list[str],
    extended: list[x509.ObjectIdentifier],
    key_usage: set[str] | None,
) -> None:
    cert = signed(authority, request_pem("jane"), usages)

    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == extended
    if key_usage is None:
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.KeyUsage)
        return
    found = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert found.critical
    flags = ("digital_signature", "key_encipherment", "content_commitment", "key_cert_sign")
    assert {f for f in flags if getattr(found.value, f)} == key_usage


def test_an_unknown_usage_is_an_invalid_request(authority: Authority) -> None:
    with pytest.raises(InvalidRequest, match="unrecognized usage values"):
        signed(authority, request_pem("jane"), ["client auth", "teleport"])


def test_a_certificate_starts_five_minutes_back_and_lives_its_lifetime(
    authority: Authority,
) -> None:
    cert = signed(authority, request_pem("jane"), ["client auth"], span=YEAR)

    assert cert.not_valid_before_utc == NOW - datetime.timedelta(minutes=5)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == YEAR


def test_a_short_lived_certificate_keeps_all_of_its_lifetime_ahead(authority: Authority) -> None:
    hour = datetime.timedelta(hours=1)
    cert = signed(authority, request_pem("jane"), ["client auth"], span=hour)

    assert cert.not_valid_before_utc == NOW - datetime.timedelta(minutes=5)
    assert cert.not_valid_after_utc == NOW + hour


def test_no_certificate_outlives_the_ca(authority: Authority) -> None:
    ca_end = authority.cert.not_valid_after_utc
    late = ca_end - datetime.timedelta(days=30)

    cert = signed(authority, request_pem("jane"), ["client auth"], now=late)

    assert cert.not_valid_after_utc == ca_end
    with pytest.raises(ValueError, match="CA expired"):
        signed(authority, request_pem("jane"), ["client auth"], now=ca_end)


def spec(expiration_seconds: int | None) -> certificates_pb2.CertificateSigningRequestSpec:
    s = certificates_pb2.CertificateSigningRequestSpec()
    if expiration_seconds is not None:
        s.expiration_seconds = expiration_seconds
    return s


@pytest.mark.parametrize(
    ("asked", "longest", "expected"),
    [
        (None, 8760 * 3600.0, 8760 * 3600),
        (3600, 8760 * 3600.0, 3600),
        (30 * 86400, 86400.0, 86400),
        (60, 86400.0, 600),
    ],
    ids=["none-asked", "shorter-asked", "longer-asked", "below-the-floor"],
)
def test_the_lifetime_is_the_requested_one_capped_by_the_configured_one(
    asked: int | None, longest: float, expected: int
) -> None:
    assert lifetime(spec(asked), longest) == datetime.timedelta(seconds=expected)


def test_serving_sans_are_copied_into_the_certificate(authority: Authority) -> None:
    pem = request_pem("system:node:n1", ["system:nodes"], dns=["n1", "n1.local"], ips=["10.0.0.7"])

    cert = signed(authority, pem, ["digital signature", "server auth"])

    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["n1", "n1.local"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]


def test_a_request_that_is_not_a_signed_pem_request_is_invalid(authority: Authority) -> None:
    with pytest.raises(InvalidRequest, match="CERTIFICATE REQUEST"):
        parse_request(authority.cert_pem)
    request = x509.load_pem_x509_csr(request_pem("jane"))
    der = bytearray(request.public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1  # the signature's last byte: still a request, no longer its key's
    body = base64.encodebytes(bytes(der)).decode()
    forged = f"-----BEGIN {PEM_TYPE}-----\n{body}-----END {PEM_TYPE}-----\n".encode()
    with pytest.raises(InvalidRequest, match="signature does not verify"):
        parse_request(forged)


def test_a_key_that_is_not_the_certificate_s_is_refused_naming_the_key_file(
    tmp_path: Path,
) -> None:
    ours, theirs = ca_files(tmp_path, "ours"), ca_files(tmp_path, "theirs")

    with pytest.raises(AuthorityError, match=f"key file {theirs.key_file}: does not match") as e:
        Authority.load(ours.cert_file, theirs.key_file)
    assert e.value.file == "key"


def test_unreadable_or_unfit_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    files = ca_files(tmp_path)
    missing = tmp_path / "nope.key"
    with pytest.raises(AuthorityError, match=f"key file {missing}: No such file"):
        Authority.load(files.cert_file, missing)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not a key")
    with pytest.raises(AuthorityError, match="not an unencrypted PEM private key"):
        Authority.load(files.cert_file, garbage)
    leaf = files.ca.issue("jane", client=True)
    leaf_cert, leaf_key = tmp_path / "leaf.crt", tmp_path / "leaf.key"
    leaf_cert.write_bytes(leaf.cert)
    leaf_key.write_bytes(leaf.key)
    with pytest.raises(AuthorityError, match=f"certificate file {leaf_cert}: not a CA") as e:
        Authority.load(leaf_cert, leaf_key)
    assert e.value.file == "cert"
    key = serialization.load_pem_private_key(files.key_file.read_bytes(), password=None)
    assert isinstance(Authority.load(files.cert_file, files.key_file).key, type(key))
