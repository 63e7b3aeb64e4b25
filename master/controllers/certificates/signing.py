"""The csrsigning controller: approved requests to the signers served get a certificate.

kube-controller-manager runs one copy of its signing loop per signer name, each ignoring
the others' requests; here one controller serves the three signers of signers.py with
one CA, which is what those copies share anyway (one pair of --cluster-signing-* files).

Level-triggered, as every controller: a sync reads the request from the cache and acts
only if it waits for this controller (approved, neither denied nor failed, no
certificate, a signer served). Then it either signs, or, when the signer's rules or the
request itself (unparsable, a signature that does not verify) refuse it, adds a Failed
condition with reason SignerValidationFailure: Kubernetes would retry an unreadable
request forever, but no retry can mend it. Either is written through the status
subresource, guarded by the resourceVersion read. A Conflict (someone wrote the request
meanwhile) re-reads it and writes the same outcome once more if the request still waits
for it, so one write never costs two signatures; a second Conflict backs off.

The CA is read when the controller is built, at the start of every leadership term, so
a replaced CA counts from the next term (Kubernetes watches the files instead). Signing
is synchronous on the event loop: authority.py says why that is fast enough.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from cryptography.hazmat.primitives import serialization

from client.errors import Conflict, NotFound
from client.informer import copy_object
from master.controllers.base import Context, Controller
from master.controllers.certificates import conditions, signers
from master.controllers.certificates.authority import (
    Authority,
    InvalidRequest,
    alt_names,
    parse_request,
)
from master.controllers.metrics import CERTIFICATE_REQUESTS_FAILED, CERTIFICATES_ISSUED
from master.controllers.settings import ControllerSettings
from proto import certificates_pb2

__all__ = ["MIN_LIFETIME", "RESOURCE", "CSRSigningController", "Decision", "lifetime", "waiting"]

log = structlog.get_logger("controllers.csrsigning")

RESOURCE = "certificatesigningrequests"
MIN_LIFETIME = datetime.timedelta(minutes=10)
"""The shortest lifetime signed, twice the backdating (Kubernetes' sanity bound); the
API server refuses spec.expirationSeconds under 600 already."""

CSR = certificates_pb2.CertificateSigningRequest


def waiting(csr: CSR) -> bool:
    """Whether `csr` waits for a certificate from a signer served here."""
    return (
        csr.spec.signer_name in signers.SIGNERS
        and conditions.is_approved(csr)
        and not conditions.has(csr, conditions.FAILED)
        and not conditions.is_issued(csr)
    )


def lifetime(
    spec: certificates_pb2.CertificateSigningRequestSpec, longest: float
) -> datetime.timedelta:
    """The certificate's lifetime: spec.expirationSeconds within [MIN_LIFETIME, longest],
    `longest` (seconds, --cluster-signing-duration) when the request names none."""
    configured = datetime.timedelta(seconds=longest)
    if not spec.HasField("expiration_seconds"):
        return configured
    asked = datetime.timedelta(seconds=spec.expiration_seconds)
    if asked > configured:
        return configured
    return max(asked, MIN_LIFETIME)


@dataclass(frozen=True)
class Decision:
    """What the signer writes into a request: a certificate, or why there is none."""

    certificate: bytes = b""
    """The issued certificate in PEM; empty when refused."""
    refusal: str = ""
    """Why the request cannot be signed: the Failed condition's message."""

    def apply(self, csr: CSR) -> None:
        if self.certificate:
            csr.status.certificate = self.certificate
        else:
            conditions.add_failed(csr, self.refusal)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class CSRSigningController(Controller):
    """Signs approved CertificateSigningRequests of the signers in signers.SIGNERS."""

    name = "csrsigning"
    component = "csrsigning-controller"

    @classmethod
    def configured(cls, settings: ControllerSettings) -> bool:
        return bool(settings.cluster_signing_cert_file and settings.cluster_signing_key_file)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.authority = Authority.load(
            self.settings.cluster_signing_cert_file, self.settings.cluster_signing_key_file
        )
        self.clock: Callable[[], datetime.datetime] = _utc_now
        """The time certificates are signed at; tests set their own."""
        self.requests = ctx.informers.get(RESOURCE)
        self.requests.add_handler(on_add=self._offer, on_update=lambda _old, new: self._offer(new))

    def _offer(self, csr: Any) -> None:
        if waiting(csr):
            self.enqueue(csr)

    async def sync(self, key: str) -> None:
        """Sign request `key`, or mark it Failed, if it waits for this controller."""
        cached = self.requests.get(key, copy=False)
        if cached is None or not waiting(cached):
            return
        await self.handle(copy_object(cached))

    def decide(self, csr: CSR) -> Decision:
        """The certificate for `csr`, or the reason its signer refuses it."""
        signer, usages = csr.spec.signer_name, list(csr.spec.usages)
        try:
            request = parse_request(csr.spec.request)
            refusal = signers.problem(signer, request, alt_names(request), usages)
            if refusal:
                return Decision(refusal=refusal)
            cert = self.authority.sign(
                request,
                usages=usages,
                lifetime=lifetime(csr.spec, self.settings.cluster_signing_duration),
                now=self.clock(),
            )
        except InvalidRequest as e:
            return Decision(refusal=str(e))
        return Decision(certificate=cert.public_bytes(serialization.Encoding.PEM))

    async def handle(self, csr: CSR) -> None:
        """Decide for `csr` (a copy, which this may change) and write the outcome."""
        name, signer = csr.metadata.name, csr.spec.signer_name
        decision = self.decide(csr)
        if not await self._write(csr, decision):
            return
        if decision.certificate:
            CERTIFICATES_ISSUED.labels(signer).inc()
            log.info("certificate issued", csr=name, signer=signer, user=csr.spec.username)
        else:
            CERTIFICATE_REQUESTS_FAILED.labels(signer).inc()
            log.info("request refused", csr=name, signer=signer, reason=decision.refusal)

    async def _write(self, csr: CSR, decision: Decision) -> bool:
        """Write `decision` into `csr`'s status; False when the request went or changed."""
        decision.apply(csr)
        try:
            await self.client.update_status(csr)
            return True
        except NotFound:
            return False
        except Conflict:
            log.info("request changed meanwhile, reading it again", csr=csr.metadata.name)
        try:
            current = await self.client.get(RESOURCE, "", csr.metadata.name)
        except NotFound:
            return False
        if (
            not isinstance(current, CSR)
            or current.metadata.uid != csr.metadata.uid
            or current.spec != csr.spec
            or not waiting(current)
        ):
            return False  # what changed is the sync of its own event
        decision.apply(current)
        try:
            await self.client.update_status(current)
        except NotFound:
            return False
        return True
