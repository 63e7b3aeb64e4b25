"""CertificateSigningRequests: who asked is the server's word, and each door changes one part.

As Kubernetes' registry/certificates/certificates/strategy.go, in three parts:

- create: spec.username, uid, groups and extra are the requesting user's (admission's
  CALLER), whatever the client sent, so a signer and an approver can trust them; the
  status starts empty, so nobody creates a request already approved or signed;
- an update of the object changes only its metadata (labels, annotations, finalizers);
- `/approval` takes only the conditions (kubectl certificate approve and deny), `/status`
  everything of the status but the Approved and Denied conditions, which it keeps as
  stored: approving and signing are separate acts, authorized separately
  (admission/certificates.py), and validation refuses the rest
  (validation/certificates.py).

Each condition written without times gets lastUpdateTime now and keeps the
lastTransitionTime of a stored condition of the same type and status, else now too.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from client.timestamps import now
from master.apiserver.admission import caller, certificates
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.certificates import (
    APPROVED,
    DENIED,
    validate_csr,
    validate_csr_update,
)
from master.apiserver.validation.errors import Errors

APPROVAL = "approval"


def _stamp(conditions: Any, stored: Any) -> None:
    """Fill the times a client left out of `conditions`, `stored` being the ones before."""
    at = now()
    for c in conditions:
        if not c.last_update_time:
            c.last_update_time = at
        if not c.last_transition_time:
            same = (
                o.last_transition_time
                for o in stored
                if o.type == c.type and o.status == c.status and o.last_transition_time
            )
            c.last_transition_time = next(same, at)


def _take_conditions(stored: Any, incoming: Any) -> None:
    """certificatesigningrequests/approval: the incoming conditions, nothing else."""
    conditions = list(incoming.status.conditions)
    _stamp(conditions, stored.status.conditions)
    stored.status.ClearField("conditions")
    stored.status.conditions.extend(conditions)


def _keep_decisions(new: Any, old: Any) -> None:
    """Each Approved and Denied condition of `new` becomes the stored one at the same rank,
    when there are as many of them; an added or removed one is validation's to refuse."""
    for kind in (APPROVED, DENIED):
        before = [c for c in old.status.conditions if c.type == kind]
        after = [i for i, c in enumerate(new.status.conditions) if c.type == kind]
        if len(before) == len(after):
            for i, condition in zip(after, before, strict=True):
                new.status.conditions[i].CopyFrom(condition)


class CertificateSigningRequestStrategy(Strategy):
    subresources = {APPROVAL: _take_conditions}

    def prepare_for_create(self, obj: Any) -> None:
        spec = obj.spec
        for field in ("username", "uid", "groups", "extra"):
            spec.ClearField(field)
        user = caller.CALLER.get()
        if user is not None:
            spec.username, spec.uid = user.name, user.uid
            spec.groups.extend(user.groups)
            for key, values in user.extra.items():
                spec.extra[key].items.extend(values)
        obj.ClearField("status")

    def prepare_for_update(self, new: Any, old: Any) -> None:
        # The status is kept by the store for every kind with one; the spec, here.
        new.spec.CopyFrom(old.spec)

    def prepare_for_status_update(self, new: Any, old: Any) -> None:
        _keep_decisions(new, old)
        _stamp(new.status.conditions, old.status.conditions)

    def validate(self, errs: Errors, obj: Any) -> None:
        validate_csr(errs, obj)

    def validate_update(self, errs: Errors, new: Any, old: Any) -> None:
        validate_csr_update(errs, new, old)

    def validate_subresource_update(
        self, errs: Errors, new: Any, old: Any, subresource: str
    ) -> None:
        validate_csr_update(
            errs, new, old, approval=subresource == APPROVAL, certificate=subresource == "status"
        )

    def admit(self, obj: Any, namespace: Any) -> str | None:
        return certificates.subject_refusal(self.kind, obj)

    async def authorize_update(
        self, authorizer: Authorizer, new: Any, old: Any, subresource: str
    ) -> None:
        await certificates.authorize_update(authorizer, self.kind, new, old, subresource)


STRATEGY = CertificateSigningRequestStrategy(by_resource("certificatesigningrequests"))
