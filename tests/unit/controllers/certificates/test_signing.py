"""Which requests the csrsigning controller signs, refuses or leaves alone, and how it
writes the outcome.

The controller reads its cache as it does in the controller manager: its informer lists
an in-memory API first; each test then calls `sync(name)` for every request, so what
the controller decided is all written by the time the test looks.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

import pytest
from cryptography import x509

from client.api import ApiClient
from client.errors import Conflict
from master.controllers.base import Context
from master.controllers.certificates.signing import CSRSigningController
from master.controllers.settings import ControllerSettings
from proto import certificates_pb2
from tests.support.certificates import (
    CLIENT,
    KUBELET_CLIENT,
    CaFiles,
    RequestApi,
    ca_files,
    csr,
    listed,
    request_pem,
)

CSR = certificates_pb2.CertificateSigningRequest
NOW = datetime.datetime(2030, 6, 1, 12, 0, tzinfo=datetime.UTC)


@asynccontextmanager
async def signing(
    api: RequestApi, ca: CaFiles, *, duration: float = 8760 * 3600.0
) -> AsyncIterator[CSRSigningController]:
    settings = ControllerSettings(
        cluster_signing_cert_file=str(ca.cert_file),
        cluster_signing_key_file=str(ca.key_file),
        cluster_signing_duration=duration,
    )
    ctx = Context(cast(ApiClient, api), settings)
    controller = CSRSigningController(ctx)
    controller.clock = lambda: NOW
    async with listed(ctx):
        for name in api.stored:
            await controller.sync(name)
        yield controller


@pytest.fixture
def ca(tmp_path: Path) -> CaFiles:
    return ca_files(tmp_path)


def issued(written: CSR) -> x509.Certificate:
    return x509.load_pem_x509_certificate(written.status.certificate)


async def test_only_approved_undecided_requests_of_a_signer_served_are_signed(ca: CaFiles) -> None:
    pem = request_pem("jane", ["devs"])
    api = RequestApi(
        csr("pending", pem),
        csr("denied", pem, conditions=["Approved", "Denied"]),
        csr("failed", pem, conditions=["Approved", "Failed"]),
        csr("issued", pem, conditions=["Approved"], certificate=b"-----BEGIN CERTIFICATE-----"),
        csr("elsewhere", pem, "example.com/my-signer", conditions=["Approved"]),
        csr("approved", pem, conditions=["Approved"]),
    )

    async with signing(api, ca):
        pass

    assert [w.metadata.name for w in api.written] == ["approved"]
    cert = issued(api.written[0])
    cert.verify_directly_issued_by(ca.ca.cert)
    assert cert.subject.rfc4514_string() == "CN=jane,O=devs"


async def test_a_request_its_signer_refuses_is_marked_failed_with_the_reason(ca: CaFiles) -> None:
    api = RequestApi(
        csr("not-a-node", request_pem("jane", ["system:nodes"]), KUBELET_CLIENT,
            ["digital signature", "client auth"], conditions=["Approved"]),
        csr("no-client-auth", request_pem("jane"), CLIENT, ["digital signature"],
            conditions=["Approved"]),
        csr("garbled", b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", conditions=["Approved"]),
    )  # fmt: skip

    async with signing(api, ca):
        pass

    failed = {}
    for written in api.written:
        assert not written.status.certificate
        (condition,) = [c for c in written.status.conditions if c.type == "Failed"]
        assert (condition.status, condition.reason) == ("True", "SignerValidationFailure")
        assert condition.last_update_time
        failed[written.metadata.name] = condition.message
    assert failed["not-a-node"] == "subject common name does not begin with system:node:"
    assert failed["no-client-auth"] == (
        "missing required usage for client certificate: client auth"
    )
    assert failed["garbled"] == "PEM block type must be CERTIFICATE REQUEST"  # no END line


async def test_the_certificate_lives_the_shorter_of_the_asked_and_the_configured_time(
    ca: CaFiles,
) -> None:
    pem = request_pem("jane")
    api = RequestApi(
        csr("short", pem, conditions=["Approved"], expiration_seconds=3600),
        csr("long", pem, conditions=["Approved"], expiration_seconds=30 * 86400),
    )

    async with signing(api, ca, duration=86400.0):
        pass

    certs = {w.metadata.name: issued(w) for w in api.written}
    assert certs["short"].not_valid_after_utc == NOW + datetime.timedelta(hours=1)
    long = certs["long"]
    assert long.not_valid_before_utc == NOW - datetime.timedelta(minutes=5)
    assert long.not_valid_after_utc - long.not_valid_before_utc == datetime.timedelta(days=1)


async def test_a_conflict_is_retried_on_a_fresh_read_with_the_same_certificate(
    ca: CaFiles,
) -> None:
    api = RequestApi(csr("approved", request_pem("jane"), conditions=["Approved"]))
    api.conflicts = 1

    async with signing(api, ca):
        pass

    assert api.reads == 1
    (written,) = api.written
    assert issued(written).subject.rfc4514_string() == "CN=jane"


async def test_a_request_decided_meanwhile_is_not_written_after_a_conflict(ca: CaFiles) -> None:
    api = RequestApi()
    async with signing(api, ca) as controller:
        seen = csr("approved", request_pem("jane"), conditions=["Approved"])
        # Denied while the controller's write was on its way: the fresh read says so.
        now = CSR()
        now.CopyFrom(seen)
        now.status.conditions.add(type="Denied", status="True")
        api.stored["approved"] = now
        api.conflicts = 1
        await controller.handle(seen)
    assert (api.reads, api.written) == (1, [])


async def test_two_conflicts_in_a_row_are_left_to_the_queue_s_back_off(ca: CaFiles) -> None:
    api = RequestApi()
    async with signing(api, ca) as controller:
        seen = csr("approved", request_pem("jane"), conditions=["Approved"])
        api.stored["approved"] = CSR()
        api.stored["approved"].CopyFrom(seen)
        api.conflicts = 2
        with pytest.raises(Conflict):
            await controller.handle(seen)
    assert api.written == []
