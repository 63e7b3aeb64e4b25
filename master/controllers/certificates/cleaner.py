"""The csrcleaner: requests that have served their purpose are deleted.

Kubelets and approvers make a request per certificate, and once its certificate has been
read nothing needs the request, so without a cleaner they only pile up. As
kube-controller-manager's csrcleaner, a request goes when it is

- issued, and its Approved condition is more than an hour old;
- denied or failed, and that condition is more than an hour old;
- pending (no condition at all) and created more than 24 hours ago;
- issued, and its certificate has expired.

Kubernetes looks at every request once an hour; so does `background` here, and it only
puts the due ones on the queue. A sync checks again against the cache and deletes with
the request's uid as precondition, so a request made again under the same name is never
deleted for its predecessor's age. A condition's age is its lastUpdateTime (the API
server stamps it), else its lastTransitionTime, else the request's creation.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable

import structlog
from cryptography import x509

from client import kinds, timestamps
from client.errors import Conflict, NotFound
from master.controllers.base import Context, Controller
from master.controllers.certificates import conditions
from master.controllers.certificates.signing import RESOURCE
from proto import certificates_pb2

__all__ = ["CSRCleaner", "due"]

log = structlog.get_logger("controllers.csrcleaner")

PERIOD_SECONDS = 3600.0
"""How often every request is looked at (Kubernetes: 1 h)."""
DECIDED_AGE = datetime.timedelta(hours=1)
"""Approved-and-issued, denied and failed requests are kept this long (Kubernetes: 1 h)."""
PENDING_AGE = datetime.timedelta(hours=24)
"""A request nobody decided on is kept this long (Kubernetes: 24 h)."""

CSR = certificates_pb2.CertificateSigningRequest


def _since(
    csr: CSR, condition: certificates_pb2.CertificateSigningRequestCondition | None
) -> datetime.datetime | None:
    stamps = [csr.metadata.creation_timestamp]
    if condition is not None:
        stamps = [condition.last_update_time, condition.last_transition_time, *stamps]
    for stamp in stamps:
        moment = timestamps.try_parse(stamp)
        if moment is not None:
            return moment
    return None


def _older(csr: CSR, kind: str, age: datetime.timedelta, now: datetime.datetime) -> bool:
    for c in csr.status.conditions:
        if c.type == kind and c.status == "True":
            since = _since(csr, c)
            if since is not None and now - since > age:
                return True
    return False


def _expired(csr: CSR, now: datetime.datetime) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(csr.status.certificate)
    except ValueError:
        log.warning("issued certificate unreadable, kept", csr=csr.metadata.name)
        return False
    return now > cert.not_valid_after_utc


def due(csr: CSR, now: datetime.datetime) -> str:
    """Why `csr` is to be deleted at `now`; "" while it is to be kept."""
    issued = conditions.is_issued(csr)
    if issued and _older(csr, conditions.APPROVED, DECIDED_AGE, now):
        return "issued more than 1h ago"
    if _older(csr, conditions.DENIED, DECIDED_AGE, now):
        return "denied more than 1h ago"
    if _older(csr, conditions.FAILED, DECIDED_AGE, now):
        return "failed more than 1h ago"
    if not csr.status.conditions:
        created = _since(csr, None)
        if created is not None and now - created > PENDING_AGE:
            return "pending for more than 24h"
    if issued and conditions.has(csr, conditions.APPROVED) and _expired(csr, now):
        return "its certificate has expired"
    return ""


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class CSRCleaner(Controller):
    """Deletes CertificateSigningRequests that are done with, as `due` says."""

    name = "csrcleaner"
    component = "csrcleaner-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.clock: Callable[[], datetime.datetime] = _utc_now
        """The time requests' ages are measured at; tests set their own."""
        self.requests = ctx.informers.get(RESOURCE)

    async def background(self) -> None:
        """Every request once at the start and then every PERIOD_SECONDS: queue the due."""
        while True:
            now = self.clock()
            for csr in self.requests.list(copy=False):
                if due(csr, now):
                    self.queue.add(kinds.key(csr))
            await asyncio.sleep(PERIOD_SECONDS)

    async def sync(self, key: str) -> None:
        """Delete request `key` if it is (still) due."""
        csr = self.requests.get(key, copy=False)
        if csr is None:
            return
        reason = due(csr, self.clock())
        if not reason:
            return
        try:
            await self.client.delete(RESOURCE, "", key, precondition_uid=csr.metadata.uid)
        except (NotFound, Conflict):
            return  # gone, or a new request of the same name: its own age counts
        log.info("request deleted", csr=key, reason=reason)
