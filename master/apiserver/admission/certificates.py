"""Who may decide about certificate requests and sign them: Kubernetes' CertificateApproval,
CertificateSigning and CertificateSubjectRestriction admission plugins.

Updating a CSR's `/approval` or `/status` is an ordinary RBAC verb on a subresource, which
a role may grant for reasons of its own (a controller that marks requests Failed). What
such a write means depends on whose certificate it is: writing the approval asks the verb
`approve`, setting the certificate the verb `sign`, of the resource `signers` in
certificates.k8s.io named by the request's signerName, or by its domain and `/*`
(`kubernetes.io/*`). So a role says "may approve requests for this signer" and trusts no
other signer with it. The question goes to the API server's own authorizer, as the plugins
ask kube-apiserver's, for the user the request runs as (admission's CALLER); a write the
server makes itself has no caller and is not asked about.

Kubernetes asks on every write of `/approval`, changed or not, and on a write of `/status`
only when it changes the certificate or the conditions; the signer of a status write is
the stored one. The request is read with client/pem.py, the reader the signer uses, so
the subject judged here is the one that would be signed.

The subject restriction keeps the client-certificate signer from issuing a certificate in
`system:masters`, which would pass every authorization check for as long as it is valid.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from client import errors, pem
from client.kinds import Kind
from master.apiserver.admission.caller import CALLER
from master.apiserver.apierrors import resource_named
from master.apiserver.auth.attributes import Attributes
from master.apiserver.auth.authorizer import Authorizer
from master.apiserver.auth.user import MASTERS, UserInfo

__all__ = [
    "GROUP",
    "KUBE_APISERVER_CLIENT",
    "authorize_update",
    "may_use_signer",
    "subject_refusal",
]

GROUP = "certificates.k8s.io"
SIGNERS = "signers"
KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
"""The signer of client certificates the API server trusts for authentication."""


async def may_use_signer(authorizer: Authorizer, user: UserInfo, verb: str, signer: str) -> bool:
    """Whether `user` may `verb` (approve, sign) requests of `signer`: by its name, else by
    its domain's wildcard."""
    domain = signer.split("/")[0]
    for name in (signer, f"{domain}/*"):
        asked = Attributes(user=user, verb=verb, resource=SIGNERS, api_group=GROUP, name=name)
        if (await authorizer.decide(asked)).allowed:
            return True
    return False


async def authorize_update(
    authorizer: Authorizer, kind: Kind, new: Any, old: Any, subresource: str
) -> None:
    """Forbidden unless the caller may approve (an `/approval` write) or sign (a `/status`
    write that changes the certificate) requests of the CSR's signer."""
    user = CALLER.get()
    if user is None:
        return
    if subresource == "approval":
        verb, signer = "approve", new.spec.signer_name
    elif subresource == "status" and (
        new.status.certificate != old.status.certificate
        or list(new.status.conditions) != list(old.status.conditions)
    ):
        # As Kubernetes' CertificateSigning plugin: a condition is the signer's word too
        # (Failed stops a request from ever being signed).
        verb, signer = "sign", old.spec.signer_name
    else:
        return
    if not await may_use_signer(authorizer, user, verb, signer):
        raise errors.Forbidden(
            f"{resource_named(kind, new.metadata.name)} is forbidden: user not permitted to "
            f'{verb} requests with signerName "{signer}"'
        )


def subject_refusal(kind: Kind, csr: Any) -> str | None:
    """Why a request to the client-certificate signer for `system:masters` is refused;
    None for any other request (one that does not parse was refused by validation, which
    reads its subject whole)."""
    if csr.spec.signer_name != KUBE_APISERVER_CLIENT:
        return None
    block = next(pem.blocks(csr.spec.request), None)
    try:
        subject = x509.load_der_x509_csr(block.der).subject if block else None
    except ValueError:
        return None
    groups = subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME) if subject else []
    if not any(g.value == MASTERS for g in groups):
        return None
    return (
        f"{resource_named(kind, csr.metadata.name)} is forbidden: use of "
        f"{KUBE_APISERVER_CLIENT} signer with {MASTERS} group is not allowed"
    )
