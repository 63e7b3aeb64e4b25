"""Certificate requests as a user makes them (`openssl req -new`), CertificateSigningRequest
objects around them, a CA on disk to sign them with, and an in-memory API holding them
for the controllers' unit tests.

The CA is the one `tug up` makes (cli/cluster/pki.py: ECDSA P-256 with a subject key
identifier), so the signer is tested against the CA it meets in a real cluster.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cli.cluster.pki import CertificateAuthority
from client.api import ObjectList, WatchEvent
from client.errors import Conflict, NotFound
from master.controllers.base import Context
from proto import certificates_pb2

CLIENT = "kubernetes.io/kube-apiserver-client"
KUBELET_CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"


@dataclass(frozen=True)
class CaFiles:
    """A CA saved as the controller manager is given it."""

    ca: CertificateAuthority
    cert_file: Path
    key_file: Path


def ca_files(folder: Path, name: str = "test-ca") -> CaFiles:
    ca = CertificateAuthority.create(name)
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    ca.save(cert_file, key_file)
    return CaFiles(ca, cert_file, key_file)


def request_pem(
    common_name: str,
    groups: Iterable[str] = (),
    *,
    dns: Iterable[str] = (),
    ips: Iterable[str] = (),
    emails: Iterable[str] = (),
    key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """A PEM request for CN `common_name`, O each of `groups`, with the SANs given."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    subject = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
    subject.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    names += [x509.RFC822Name(e) for e in emails]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    request = builder.sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM)


def csr(
    name: str,
    request: bytes,
    signer: str = CLIENT,
    usages: Iterable[str] = ("client auth",),
    *,
    conditions: Iterable[str] = (),
    certificate: bytes = b"",
    expiration_seconds: int | None = None,
) -> certificates_pb2.CertificateSigningRequest:
    """A CertificateSigningRequest named `name` carrying `conditions` (types, status True)."""
    obj = certificates_pb2.CertificateSigningRequest(
        api_version="certificates.k8s.io/v1", kind="CertificateSigningRequest"
    )
    obj.metadata.name = name
    obj.metadata.uid = f"uid-{name}"
    obj.metadata.resource_version = "1"
    obj.spec.request = request
    obj.spec.signer_name = signer
    obj.spec.usages.extend(usages)
    if expiration_seconds is not None:
        obj.spec.expiration_seconds = expiration_seconds
    for kind in conditions:
        obj.status.conditions.add(type=kind, status="True", reason=f"Test{kind}")
    obj.status.certificate = certificate
    return obj


CSR = certificates_pb2.CertificateSigningRequest


class RequestApi:
    """Requests by name, listed once and never changed by a watch; status writes and
    deletes recorded, the first `conflicts` status writes refused with Conflict."""

    def __init__(self, *requests: CSR) -> None:
        self.stored = {r.metadata.name: r for r in requests}
        self.written: list[CSR] = []
        self.deleted: list[tuple[str, str]] = []
        """(name, precondition uid) of every delete."""
        self.conflicts = 0
        self.reads = 0

    async def list(self, resource: str, namespace: str = "", **_: Any) -> ObjectList:
        return ObjectList(items=list(self.stored.values()), resource_version="5")

    async def watch(self, resource: str, namespace: str = "", **_: Any) -> Any:
        await asyncio.Event().wait()
        yield WatchEvent("BOOKMARK", None, "5")  # never reached: a watch with no events

    async def get(self, resource: str, namespace: str, name: str) -> Any:
        self.reads += 1
        if name not in self.stored:
            raise NotFound(name)
        fresh = CSR()
        fresh.CopyFrom(self.stored[name])
        return fresh

    async def update_status(self, obj: Any) -> Any:
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict(f'Operation cannot be fulfilled on "{obj.metadata.name}"')
        self.written.append(obj)
        return obj

    async def delete(self, resource: str, namespace: str, name: str, **options: Any) -> Any:
        uid = options.get("precondition_uid", "")
        stored = self.stored.get(name)
        if stored is None:
            raise NotFound(name)
        if uid and uid != stored.metadata.uid:
            raise Conflict(f"Precondition failed: UID in precondition: {uid}")
        self.deleted.append((name, uid))
        return self.stored.pop(name)


@asynccontextmanager
async def listed(ctx: Context) -> AsyncIterator[None]:
    """The requests' informer of `ctx` running and listed (stopped on leaving)."""
    informer = ctx.informers.get("certificatesigningrequests")
    informer.start()
    try:
        assert await informer.wait_synced(10)
        yield
    finally:
        await informer.stop()
