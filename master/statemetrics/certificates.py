"""CertificateSigningRequests: kube-state-metrics' kube_certificatesigningrequest_* families.

kube-state-metrics (internal/store/certificatesigningrequest.go) labels every series of a
request with `certificatesigningrequest` and `signer_name` only: the kind is
cluster-scoped, and unlike the webhook configurations' families these carry no empty
`namespace`. Its condition family is a count, not a status: one sample each for approved,
denied and failed, the number of conditions of that type whatever their status, so an
alert on `kube_certificatesigningrequest_condition{condition="approved"} == 0` finds the
requests nobody has decided. Its `_labels` and `_annotations` families have samples only
for an allow-list, which Tugboat has for no kind, so they are not written here either.
"""

from __future__ import annotations

from master.statemetrics.families import Families, Labels
from proto import certificates_pb2

__all__ = ["csr_metrics"]

CONDITIONS = (("approved", "Approved"), ("denied", "Denied"), ("failed", "Failed"))
"""kube-state-metrics' `condition` label value and the condition type it counts."""


def csr_metrics(csr: certificates_pb2.CertificateSigningRequest, out: Families) -> None:
    """Every kube_certificatesigningrequest_* series of one request."""
    m = csr.metadata
    labels: Labels = {"certificatesigningrequest": m.name, "signer_name": csr.spec.signer_name}
    out.created(
        "certificatesigningrequest", "CertificateSigningRequest", labels, m.creation_timestamp
    )
    types = [c.type for c in csr.status.conditions]
    for value, ctype in CONDITIONS:
        out.gauge(
            "kube_certificatesigningrequest_condition",
            "The number of each certificatesigningrequest condition.",
            {**labels, "condition": value},
            types.count(ctype),
        )
    # The length in bytes of the PEM chain the signer wrote: 0 until one is issued, which
    # is what "approved but not issued" alerts compare against.
    out.gauge(
        "kube_certificatesigningrequest_cert_length",
        "Length of the issued cert.",
        labels,
        len(csr.status.certificate),
    )
