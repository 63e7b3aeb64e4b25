"""The signers the controller manager serves, and what each one agrees to sign.

Approval says a person (or an approver) trusts the requester; a signer's rules say what
kind of certificate its name stands for, and hold whoever approved. They are Kubernetes'
(`pkg/apis/certificates/helpers.go` and the signer's `isKubeletServing`, `isKubeletClient`
and `isKubeAPIServerClient`), checked in the same order and worded the same, so a refused
request reads as it would on Kubernetes:

- `kubernetes.io/kube-apiserver-client`: a client certificate for the API servers, which
  read its CN as the user and its Os as the groups; usages must include "client auth"
  and stay within {digital signature, key encipherment, client auth}.
- `kubernetes.io/kube-apiserver-client-kubelet`: a node's client certificate: O exactly
  [system:nodes], CN `system:node:<name>`, no SANs, usages {digital signature, client
  auth}, with key encipherment or without.
- `kubernetes.io/kubelet-serving`: a node agent's serving certificate: the same subject,
  at least one DNS or IP SAN and no email or URI one, usages {digital signature, server
  auth}, with key encipherment or without.

A rule answers with what is wrong ("" for nothing); the controller turns that into the
request's Failed condition. Which user asked is the approver's concern, not the signer's:
Kubernetes' signer does not compare the CN with spec.username either.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography import x509
from cryptography.x509.oid import NameOID

__all__ = [
    "KUBELET_SERVING",
    "KUBE_APISERVER_CLIENT",
    "KUBE_APISERVER_CLIENT_KUBELET",
    "SIGNERS",
    "problem",
]

KUBE_APISERVER_CLIENT = "kubernetes.io/kube-apiserver-client"
KUBE_APISERVER_CLIENT_KUBELET = "kubernetes.io/kube-apiserver-client-kubelet"
KUBELET_SERVING = "kubernetes.io/kubelet-serving"

NODE_PREFIX = "system:node:"
NODES_GROUP = "system:nodes"

Rule = Callable[[x509.CertificateSigningRequest, list[x509.GeneralName], list[str]], str]
"""(the request, its subjectAltNames, spec.usages) -> what is wrong, "" for nothing."""


def _names(request: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in request.subject.get_attributes_for_oid(oid)]


def _subject_problems(request: x509.CertificateSigningRequest) -> tuple[str, str]:
    """What is wrong with a node request's O and with its CN ("" for nothing)."""
    organizations = _names(request, NameOID.ORGANIZATION_NAME)
    common = _names(request, NameOID.COMMON_NAME)
    # The CN checked is the one the API servers will read as the user: the first
    # (client/tls.py's certificate_subject), where Go, and so Kubernetes, reads the last.
    return (
        "" if organizations == [NODES_GROUP] else f"subject organization is not {NODES_GROUP}",
        ""
        if common and common[0].startswith(NODE_PREFIX)
        else f"subject common name does not begin with {NODE_PREFIX}",
    )


_SAN_LABELS: dict[type[x509.GeneralName], str] = {
    x509.DNSName: "DNS",
    x509.RFC822Name: "Email",
    x509.IPAddress: "IP",
    x509.UniformResourceIdentifier: "URI",
}


def _forbidden_sans(names: list[x509.GeneralName], *kinds: type[x509.GeneralName]) -> str:
    for kind in kinds:
        if any(isinstance(n, kind) for n in names):
            return f"{_SAN_LABELS[kind]} subjectAltNames are not allowed"
    return ""


def _node_usages(usages: list[str], auth: str) -> str:
    """Kubernetes' two accepted sets: with key encipherment (RSA) and without."""
    wanted = {"digital signature", auth}
    if set(usages) in (wanted, wanted | {"key encipherment"}):
        return ""
    # Go prints a sorted set as [a b c]: kept, so the message reads as Kubernetes'.
    return f"usages did not match [{' '.join(sorted(wanted | {'key encipherment'}))}]"


def kube_apiserver_client(
    request: x509.CertificateSigningRequest, names: list[x509.GeneralName], usages: list[str]
) -> str:
    for usage in usages:
        if usage not in ("digital signature", "key encipherment", "client auth"):
            return f"invalid usage for client certificate: {usage}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return ""


# The two node rules check in Kubernetes' order, which differs between them, so that of
# several problems the one named is the one Kubernetes names.


def kubelet_client(
    request: x509.CertificateSigningRequest, names: list[x509.GeneralName], usages: list[str]
) -> str:
    organization, common_name = _subject_problems(request)
    return (
        organization
        or _forbidden_sans(names, *_SAN_LABELS)
        or common_name
        or _node_usages(usages, "client auth")
    )


def kubelet_serving(
    request: x509.CertificateSigningRequest, names: list[x509.GeneralName], usages: list[str]
) -> str:
    addressed = any(isinstance(n, x509.DNSName | x509.IPAddress) for n in names)
    organization, common_name = _subject_problems(request)
    return (
        organization
        or ("" if addressed else "DNS or IP subjectAltName is required")
        or _forbidden_sans(names, x509.RFC822Name, x509.UniformResourceIdentifier)
        or _node_usages(usages, "server auth")
        or common_name
    )


SIGNERS: dict[str, Rule] = {
    KUBE_APISERVER_CLIENT: kube_apiserver_client,
    KUBE_APISERVER_CLIENT_KUBELET: kubelet_client,
    KUBELET_SERVING: kubelet_serving,
}
"""Every signer name served, with its rule."""


def problem(
    signer: str,
    request: x509.CertificateSigningRequest,
    names: list[x509.GeneralName],
    usages: list[str],
) -> str:
    """What keeps `signer` from signing `request` for `usages`; "" when nothing does.
    KeyError for a signer not in SIGNERS (the caller picks only those)."""
    rule = SIGNERS[signer]
    if len(_names(request, NameOID.COMMON_NAME)) > 1:
        # The API servers read the first CN as the user, Go tools (kubectl describe csr)
        # show the last: a subject with two could be approved as one user and act as
        # another. Kubernetes, reading the last everywhere, need not refuse it.
        return "subject must not hold more than one common name"
    return rule(request, names, usages)
