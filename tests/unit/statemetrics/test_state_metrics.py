"""Cluster-state metrics: kube-state-metrics' names and labels from cached objects."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from client.manifests import parse_manifests
from master.statemetrics.collector import GENERATORS, StateMetrics, state_registry

OBJECTS = """
apiVersion: v1
kind: Pod
metadata:
  name: crashy
  namespace: shop
  uid: u-1
  creationTimestamp: "2026-01-01T00:00:00Z"
  ownerReferences:
  - {apiVersion: apps/v1, kind: ReplicaSet, name: crashy-rs, uid: r1, controller: true}
spec:
  nodeName: n1
  containers:
  - name: main
    image: busybox:1.35
    resources: {requests: {cpu: 250m, memory: 64Mi}, limits: {memory: 128Mi}}
status:
  phase: Running
  podIP: 172.30.0.5
  conditions: [{type: Ready, status: "False"}, {type: PodScheduled, status: "True"}]
  containerStatuses:
  - name: main
    image: busybox:1.35
    restartCount: 4
    ready: false
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState: {terminated: {reason: Error, exitCode: 1}}
---
apiVersion: v1
kind: Node
metadata: {name: n1}
spec:
  unschedulable: true
  taints: [{key: node.kubernetes.io/unreachable, effect: NoExecute}]
status:
  capacity: {cpu: "2", memory: 4Gi, pods: "110"}
  allocatable: {cpu: "2", memory: 4Gi, pods: "110"}
  conditions: [{type: Ready, status: Unknown}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 3}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1.16.1}]}
status: {replicas: 3, availableReplicas: 1, unavailableReplicas: 2, observedGeneration: 3}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: shop}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: pi, image: busybox:1.35}]}
status:
  failed: 2
  conditions: [{type: Failed, status: "True"}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets: [{notReadyAddresses: [{ip: 172.30.0.5}], ports: [{port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: mail, namespace: shop}
spec: {type: ExternalName, externalName: smtp.example.com}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc12, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints: [{addresses: [172.30.0.5], conditions: {ready: false}}]
ports: [{port: 80}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop, generation: 2}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
status:
  currentHealthy: 1
  desiredHealthy: 2
  disruptionsAllowed: 0
  expectedPods: 3
  observedGeneration: 2
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-clients, namespace: shop, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress: [{from: [{podSelector: {}}]}, {ports: [{port: 5432}]}]
"""


class Cache:
    def __init__(self, objects: list[Any]) -> None:
        self.objects = objects

    def list(self, *, copy: bool = True) -> list[Any]:
        return list(self.objects)


def caches(objects: str = OBJECTS) -> dict[str, Cache]:
    found: dict[str, Cache] = {r: Cache([]) for r in GENERATORS}
    for m in parse_manifests(objects, "objects.yaml"):
        found[m.kind.resource].objects.append(m.obj)
    return found


def exposition_of(objects: str) -> str:
    """The metrics text of the objects of a YAML stream."""
    state = StateMetrics()
    state.serve(caches(objects))
    return generate_latest(state_registry(state)).decode()


@pytest.fixture
def exposition() -> str:
    return exposition_of(OBJECTS)


def samples(text: str, name: str) -> dict[frozenset[tuple[str, str]], float]:
    out: dict[frozenset[tuple[str, str]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[frozenset(s.labels.items())] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    want = set(labels.items())
    found = [v for k, v in samples(text, name).items() if want <= k]
    assert len(found) == 1, (name, labels, samples(text, name))
    return found[0]


def test_a_crash_looping_pod_shows_its_phase_restarts_and_waiting_reason(exposition):
    pod = {"namespace": "shop", "pod": "crashy", "uid": "u-1"}
    assert value(exposition, "kube_pod_status_phase", phase="Running", **pod) == 1
    assert value(exposition, "kube_pod_status_phase", phase="Pending", **pod) == 0
    assert value(exposition, "kube_pod_container_status_restarts_total", container="main") == 4
    assert value(
        exposition, "kube_pod_container_status_waiting_reason", reason="CrashLoopBackOff"
    ) == 1
    assert value(
        exposition, "kube_pod_container_status_last_terminated_reason", reason="Error"
    ) == 1
    assert value(exposition, "kube_pod_status_ready", condition="false", **pod) == 1
    assert value(exposition, "kube_pod_info", node="n1", created_by_kind="ReplicaSet") == 1
    assert value(exposition, "kube_pod_created", **pod) == 1767225600
    assert value(
        exposition, "kube_pod_container_resource_requests", resource="cpu", unit="core"
    ) == 0.25
    assert value(exposition, "kube_pod_container_resource_limits", resource="memory") == 128 << 20


RUNTIME_PODS = """
apiVersion: v1
kind: Pod
metadata: {name: sandboxed, namespace: shop, uid: u-2}
spec:
  runtimeClassName: kata-fc
  overhead: {cpu: 250m, memory: 120Mi}
  containers: [{name: main, image: busybox:1.35}]
---
apiVersion: v1
kind: Pod
metadata: {name: odd, namespace: shop, uid: u-3}
spec:
  runtimeClassName: gvisor
  overhead: {cpu: 100500u, memory: 1500m}
  containers: [{name: main, image: busybox:1.35}]
---
apiVersion: v1
kind: Pod
metadata: {name: plain, namespace: shop, uid: u-4}
spec:
  containers: [{name: main, image: busybox:1.35}]
"""


def test_a_pod_shows_its_runtime_class_and_overhead_only_when_it_has_them():
    text = exposition_of(RUNTIME_PODS)
    pod = {"namespace": "shop", "pod": "sandboxed", "uid": "u-2"}
    assert samples(text, "kube_pod_runtimeclass_name_info") == {
        frozenset({**pod, "runtimeclass_name": "kata-fc"}.items()): 1,
        frozenset({"namespace": "shop", "pod": "odd", "uid": "u-3",
                   "runtimeclass_name": "gvisor"}.items()): 1,
    }
    cpu = samples(text, "kube_pod_overhead_cpu_cores")
    assert cpu[frozenset(pod.items())] == 0.25
    memory = samples(text, "kube_pod_overhead_memory_bytes")
    assert memory[frozenset(pod.items())] == 120 << 20
    # Rounded up as kube-state-metrics rounds a Quantity: to the millicore, to the byte.
    assert value(text, "kube_pod_overhead_cpu_cores", pod="odd") == 0.101
    assert value(text, "kube_pod_overhead_memory_bytes", pod="odd") == 2
    # "plain" names no class and has no overhead: no sample at all, not a zero.
    for name in ("kube_pod_overhead_cpu_cores", "kube_pod_overhead_memory_bytes"):
        assert sorted(dict(k)["pod"] for k in samples(text, name)) == ["odd", "sandboxed"]


def test_a_pod_without_an_owner_has_empty_owner_and_creator_labels_as_in_ksm_2():
    text = exposition_of(RUNTIME_PODS)
    owner = dict(next(k for k in samples(text, "kube_pod_owner") if ("pod", "plain") in k))
    assert (owner["owner_kind"], owner["owner_name"], owner["owner_is_controller"]) == (
        "", "", "")
    info = dict(next(k for k in samples(text, "kube_pod_info") if ("pod", "plain") in k))
    assert (info["created_by_kind"], info["created_by_name"]) == ("", "")


def test_an_external_name_service_shows_its_name_and_type(exposition):
    service = {"namespace": "shop", "service": "mail"}
    assert value(exposition, "kube_service_info", external_name="smtp.example.com", **service) == 1
    assert value(exposition, "kube_service_spec_type", type="ExternalName", **service) == 1


def test_a_node_shows_its_conditions_schedulability_taints_and_allocatable(exposition):
    assert value(exposition, "kube_node_status_condition", condition="Ready", status="unknown") == 1
    assert value(exposition, "kube_node_status_condition", condition="Ready", status="true") == 0
    assert value(exposition, "kube_node_spec_unschedulable", node="n1") == 1
    assert value(exposition, "kube_node_spec_taint", key="node.kubernetes.io/unreachable") == 1
    assert value(exposition, "kube_node_status_allocatable", resource="memory") == 4 << 30


def test_workloads_show_desired_against_actual(exposition):
    web = {"namespace": "shop", "deployment": "web"}
    assert value(exposition, "kube_deployment_spec_replicas", **web) == 3
    assert value(exposition, "kube_deployment_status_replicas_available", **web) == 1
    assert value(exposition, "kube_deployment_metadata_generation", **web) == 3
    assert value(exposition, "kube_job_status_failed", job_name="pi") == 2
    assert value(exposition, "kube_job_failed", job_name="pi", status="true") == 1
    assert value(exposition, "kube_endpoint_address_available", endpoint="web") == 0
    assert value(exposition, "kube_endpoint_address_not_ready", endpoint="web") == 1


def test_a_disruption_budget_shows_the_status_its_controller_keeps(exposition):
    budget = {"namespace": "shop", "poddisruptionbudget": "web"}
    status = "kube_poddisruptionbudget_status_"
    assert value(exposition, status + "current_healthy", **budget) == 1
    assert value(exposition, status + "desired_healthy", **budget) == 2
    assert value(exposition, status + "pod_disruptions_allowed", **budget) == 0
    assert value(exposition, status + "expected_pods", **budget) == 3
    assert value(exposition, status + "observed_generation", **budget) == 2


def test_an_endpoint_slice_shows_its_address_type(exposition):
    slice_ = {"namespace": "shop", "endpointslice": "web-abc12"}
    assert value(exposition, "kube_endpointslice_info", addresstype="IPv4", **slice_) == 1


def test_a_standby_or_a_finished_term_serves_no_series():
    state = StateMetrics()
    registry = state_registry(state)
    assert generate_latest(registry) == b""
    state.serve(caches())
    assert b"kube_pod_info{" in generate_latest(registry)
    state.stop()
    assert generate_latest(registry) == b""


def test_serving_without_an_informer_for_every_kind_is_refused():
    state = StateMetrics()
    partial = caches()
    del partial["leases"]
    with pytest.raises(ValueError, match="leases"):
        state.serve(partial)


def test_a_network_policy_counts_its_rules(exposition):
    policy = {"namespace": "shop", "networkpolicy": "db-clients"}
    assert value(exposition, "kube_networkpolicy_spec_ingress_rules", **policy) == 2
    assert value(exposition, "kube_networkpolicy_spec_egress_rules", **policy) == 0
    assert value(exposition, "kube_networkpolicy_created", **policy) == 1767225600


def test_the_exposition_passes_promtool_check_metrics(exposition):
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=exposition.encode(), capture_output=True
    )
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()


def test_every_kind_served_has_state_metrics_or_a_reason_for_none():
    from client.kinds import KINDS
    from master.statemetrics.collector import NO_FAMILY

    missing = [k.resource for k in KINDS if k.resource not in GENERATORS | NO_FAMILY]
    assert not missing, (
        f"kinds without cluster-state metrics: {missing}; add a generator to "
        "master/statemetrics/collector.py GENERATORS (kube-state-metrics' names), "
        "or a line to NO_FAMILY saying why there is none"
    )
