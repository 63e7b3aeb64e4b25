"""Deployments, ReplicaSets and pods as the workload controllers' unit tests seed them:
namespace "default", label app=web, one container, each ReplicaSet told apart by its
pod-template-hash."""

from __future__ import annotations

from master.controllers import deployment_util as du
from proto import core_pb2, meta_pb2, workloads_pb2
from tests.unit.controllers.memory_api import ago

NS = "default"


def replica_set(
    name: str, replicas: int, *, owner_uid: str = "", hash_label: str = "a"
) -> workloads_pb2.ReplicaSet:
    """A ReplicaSet selecting app=web and its hash; controlled by Deployment "web" (of uid
    `owner_uid`) when given."""
    rs = workloads_pb2.ReplicaSet(api_version="apps/v1", kind="ReplicaSet")
    rs.metadata.name, rs.metadata.namespace, rs.metadata.uid = name, NS, f"uid-{name}"
    rs.metadata.generation = 1
    labels = {"app": "web", "pod-template-hash": hash_label}
    rs.metadata.labels.update(labels)
    if owner_uid:
        rs.metadata.owner_references.add(
            api_version="apps/v1", kind="Deployment", name="web", uid=owner_uid, controller=True
        )
    rs.spec.replicas = replicas
    rs.spec.selector.match_labels.update(labels)
    rs.spec.template.metadata.labels.update(labels)
    rs.spec.template.spec.containers.add(name="main", image="busybox:1.35")
    return rs


def pod(
    name: str,
    owner: workloads_pb2.ReplicaSet,
    *,
    age: float,
    node: str = "n1",
    uid: str = "",
    cost: str | None = None,
) -> core_pb2.Pod:
    """A Running pod of `owner` on `node`, created and Ready `age` seconds ago."""
    p = core_pb2.Pod(api_version="v1", kind="Pod")
    p.metadata.name, p.metadata.namespace = name, NS
    p.metadata.uid = uid or f"uid-{name}"
    p.metadata.creation_timestamp = ago(age)
    p.metadata.labels.update(owner.spec.template.metadata.labels)
    p.metadata.owner_references.add(
        api_version="apps/v1",
        kind="ReplicaSet",
        name=owner.metadata.name,
        uid=owner.metadata.uid,
        controller=True,
    )
    if cost is not None:
        p.metadata.annotations["controller.kubernetes.io/pod-deletion-cost"] = cost
    p.spec.node_name = node
    p.status.phase = "Running"
    p.status.conditions.append(
        meta_pb2.Condition(type="Ready", status="True", last_transition_time=ago(age))
    )
    return p


def deployment(replicas: int) -> workloads_pb2.Deployment:
    """Deployment "web" as the API server defaults it: RollingUpdate 25 % / 25 %,
    revisionHistoryLimit 10, progressDeadlineSeconds 600."""
    d = workloads_pb2.Deployment(api_version="apps/v1", kind="Deployment")
    d.metadata.name, d.metadata.namespace, d.metadata.uid = "web", NS, "uid-web"
    d.metadata.generation = 1
    d.spec.replicas = replicas
    d.spec.selector.match_labels["app"] = "web"
    d.spec.template.metadata.labels["app"] = "web"
    d.spec.template.spec.containers.add(name="main", image="busybox:1.35")
    d.spec.strategy.type = "RollingUpdate"
    d.spec.strategy.rolling_update.max_surge.str_val = "25%"
    d.spec.strategy.rolling_update.max_unavailable.str_val = "25%"
    d.spec.revision_history_limit = 10
    d.spec.progress_deadline_seconds = 600
    return d


def owned_set(d: workloads_pb2.Deployment, name: str, replicas: int) -> workloads_pb2.ReplicaSet:
    """A ReplicaSet of `d` with `d`'s template, sized and reported at `replicas`."""
    rs = replica_set(name, replicas, owner_uid=d.metadata.uid, hash_label=name)
    rs.spec.template.CopyFrom(d.spec.template)
    rs.spec.template.metadata.labels["pod-template-hash"] = name
    rs.metadata.annotations[du.REVISION] = "1"
    rs.metadata.annotations[du.DESIRED_REPLICAS] = str(d.spec.replicas)
    rs.metadata.annotations[du.MAX_REPLICAS] = str(d.spec.replicas + du.max_surge(d))
    rs.status.replicas = rs.status.ready_replicas = rs.status.available_replicas = replicas
    rs.status.observed_generation = 1
    return rs
