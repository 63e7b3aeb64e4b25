"""Which requests the csrcleaner deletes, and when: Kubernetes' ages."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import cast

import pytest
from cryptography.hazmat.primitives import serialization

from client import timestamps
from client.api import ApiClient
from master.controllers.base import Context
from master.controllers.certificates.authority import Authority, parse_request
from master.controllers.certificates.cleaner import CSRCleaner, due
from master.controllers.settings import ControllerSettings
from proto import certificates_pb2
from tests.support.certificates import RequestApi, ca_files, csr, listed, request_pem

NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)
HOUR = datetime.timedelta(hours=1)


def aged(
    conditions: list[str],
    *,
    name: str = "r",
    decided: datetime.timedelta = datetime.timedelta(0),
    created: datetime.timedelta = datetime.timedelta(0),
    certificate: bytes = b"",
) -> certificates_pb2.CertificateSigningRequest:
    """A request created `created` and decided (its conditions stamped) `decided` ago."""
    obj = csr(name, request_pem("jane"), conditions=conditions, certificate=certificate)
    obj.metadata.creation_timestamp = timestamps.format_time(NOW - created)
    for c in obj.status.conditions:
        c.last_update_time = timestamps.format_time(NOW - decided)
    return obj


@pytest.fixture
def cert_pem(tmp_path: Path) -> bytes:
    files = ca_files(tmp_path)
    authority = Authority.load(files.cert_file, files.key_file)
    signed = authority.sign(
        parse_request(request_pem("jane")),
        usages=["client auth"],
        lifetime=datetime.timedelta(days=1),
        now=NOW - datetime.timedelta(days=2),
    )
    return signed.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (aged([], created=25 * HOUR), "pending for more than 24h"),
        (aged(["Denied"], decided=2 * HOUR), "denied more than 1h ago"),
        (aged(["Approved", "Failed"], decided=2 * HOUR), "failed more than 1h ago"),
        (aged(["Approved"], decided=2 * HOUR, certificate=b"x"), "issued more than 1h ago"),
    ],
    ids=["pending-a-day", "denied-an-hour", "failed-an-hour", "issued-an-hour"],
)
def test_requests_past_their_age_are_due(
    request_: certificates_pb2.CertificateSigningRequest, reason: str
) -> None:
    assert due(request_, NOW) == reason


@pytest.mark.parametrize(
    "request_",
    [
        aged([], created=23 * HOUR),
        aged(["Denied"], decided=HOUR / 2, created=48 * HOUR),
        aged(["Approved"], decided=2 * HOUR),
        aged(["Approved"], decided=HOUR / 2, certificate=b"x"),
    ],
    ids=["pending-a-while", "denied-lately", "approved-never-issued", "issued-lately"],
)
def test_requests_within_their_age_are_kept(
    request_: certificates_pb2.CertificateSigningRequest,
) -> None:
    assert due(request_, NOW) == ""


def test_an_issued_request_goes_once_its_certificate_has_expired(cert_pem: bytes) -> None:
    fresh = aged(["Approved"], decided=HOUR / 2, certificate=cert_pem)
    assert due(fresh, NOW) == "its certificate has expired"
    assert due(fresh, NOW - 2 * HOUR * 24 + HOUR) == ""


async def test_a_due_request_is_deleted_with_its_uid_as_precondition() -> None:
    old = aged(["Denied"], decided=2 * HOUR)
    young = aged(["Denied"], decided=HOUR / 2, name="young")
    api = RequestApi(old, young)
    ctx = Context(cast(ApiClient, api), ControllerSettings())
    cleaner = CSRCleaner(ctx)
    cleaner.clock = lambda: NOW

    async with listed(ctx):
        for name in ("r", "young", "never-there"):
            await cleaner.sync(name)

    assert api.deleted == [("r", "uid-r")]
