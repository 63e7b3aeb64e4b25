"""ControllerRevisions: a workload's pod template at each revision, as objects in the API.

A StatefulSet rolls its pods from one revision to the next by name, so it must be able to
make a pod of an older revision again (a partitioned update keeps ordinals below the
partition at the current revision; `rollout undo` returns to any kept revision). Kubernetes
keeps those templates as ControllerRevisions owned by the workload, named by a hash of
the template, and so does Tugboat: `data` holds `{"spec": {"template": ...}}`, the
`controller.kubernetes.io/hash` label the hash, and `revision` a number that only grows. A
template equal to a kept revision's reuses that revision under a new number, as a rollback
does in Kubernetes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from client import codec
from master.controllers import controller_utils as cu
from master.controllers.deployment_util import fnv32a, safe_encode
from proto import core_pb2, workloads_pb2

__all__ = [
    "HASH_LABEL",
    "new_revision",
    "revision_data",
    "revision_template",
    "template_hash",
]

HASH_LABEL = "controller.kubernetes.io/hash"


def revision_data(template: core_pb2.PodTemplateSpec) -> str:
    """The revision's `data` as canonical JSON: the template alone, under spec."""
    return json.dumps(
        {"spec": {"template": codec.to_dict(template)}}, sort_keys=True, separators=(",", ":")
    )


def template_hash(template: core_pb2.PodTemplateSpec, collision_count: int = 0) -> str:
    """The hash naming the revision of `template` (fnv32a, encoded as Kubernetes does)."""
    data = revision_data(template).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


def new_revision(
    owner: Any,
    template: core_pb2.PodTemplateSpec,
    number: int,
    labels: dict[str, str],
    collision_count: int = 0,
) -> workloads_pb2.ControllerRevision:
    """The ControllerRevision of `owner`'s `template` at revision `number`."""
    digest = template_hash(template, collision_count)
    rev = workloads_pb2.ControllerRevision(api_version="apps/v1", kind="ControllerRevision")
    rev.metadata.name = f"{owner.metadata.name}-{digest}"
    rev.metadata.namespace = owner.metadata.namespace
    rev.metadata.labels.update(labels)
    rev.metadata.labels[HASH_LABEL] = digest
    rev.metadata.owner_references.append(cu.owner_reference(owner))
    rev.data.json = revision_data(template)
    rev.revision = number
    return rev


def revision_template(rev: workloads_pb2.ControllerRevision) -> core_pb2.PodTemplateSpec:
    """The pod template a revision holds."""
    data = json.loads(rev.data.json or "{}")
    return codec.from_dict(core_pb2.PodTemplateSpec, data.get("spec", {}).get("template", {}))


def same_template(
    rev: workloads_pb2.ControllerRevision, template: core_pb2.PodTemplateSpec
) -> bool:
    """Whether the revision holds exactly `template`."""
    recorded: object = json.loads(rev.data.json or "{}")
    wanted: object = json.loads(revision_data(template))
    return recorded == wanted


def sorted_revisions(
    revisions: Iterable[workloads_pb2.ControllerRevision],
) -> list[workloads_pb2.ControllerRevision]:
    """Oldest first, by revision number and then name."""
    return sorted(revisions, key=lambda r: (r.revision, r.metadata.name))
