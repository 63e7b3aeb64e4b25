"""`tug get` tables carry kubectl's headers and cells for each kind."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from client.codec import from_dict
from client.printing import columns
from proto import certificates_pb2, core_pb2, flowcontrol_pb2, node_pb2, workloads_pb2

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
CREATED = "2026-11-23T11:59:55Z"


def test_pods_show_ready_status_restarts_age_and_wide_adds_ip_and_node():
    pod = from_dict(core_pb2.Pod, {
        "metadata": {"name": "web-1", "namespace": "default", "creationTimestamp": CREATED},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
            {"name": "c", "ready": True, "state": {"running": {}}}]},
    })
    assert columns.header("pods", wide=False, all_namespaces=False) == [
        "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert columns.row("pods", pod, NOW, wide=False, all_namespaces=False) == [
        "web-1", "1/1", "Running", "0", "5s"]
    wide = columns.row("pods", pod, NOW, wide=True, all_namespaces=True)
    assert wide[:1] == ["default"] and wide[6:8] == ["10.0.0.5", "n1"]


def test_deployments_show_ready_over_desired():
    d = from_dict(workloads_pb2.Deployment, {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"replicas": 3},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    })
    assert columns.header("deployments", wide=False, all_namespaces=False) == [
        "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert columns.row("deployments", d, NOW, wide=False, all_namespaces=False) == [
        "web", "2/3", "3", "2", "5s"]


def test_services_show_type_ip_and_node_ports():
    svc = from_dict(core_pb2.Service, {
        "metadata": {"name": "web", "creationTimestamp": CREATED},
        "spec": {"type": "NodePort", "clusterIP": "10.96.0.7",
                 "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                           {"port": 53, "protocol": "UDP"}]},
    })
    assert columns.row("services", svc, NOW, wide=False, all_namespaces=False) == [
        "web", "NodePort", "10.96.0.7", "<none>", "80:30080/TCP,53/UDP", "5s"]


def test_nodes_show_readiness_cordoning_and_roles():
    node = from_dict(core_pb2.Node, {
        "metadata": {"name": "n1", "creationTimestamp": CREATED,
                     "labels": {"node-role.kubernetes.io/worker": ""}},
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"kubeletVersion": "v0.1.0"}},
    })
    assert columns.row("nodes", node, NOW, wide=False, all_namespaces=False) == [
        "n1", "Ready,SchedulingDisabled", "worker", "5s", "v0.1.0"]


def test_jobs_show_completions_and_duration():
    job = from_dict(workloads_pb2.Job, {
        "metadata": {"name": "j", "creationTimestamp": CREATED},
        "spec": {"completions": 3},
        "status": {"succeeded": 1, "startTime": "2026-11-23T11:59:50Z"},
    })
    assert columns.row("jobs", job, NOW, wide=False, all_namespaces=False) == [
        "j", "1/3", "10s", "5s"]


def test_endpoints_list_at_most_three_addresses():
    ep = from_dict(core_pb2.Endpoints, {
        "metadata": {"name": "web"},
        "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)],
                     "ports": [{"port": 80}]}],
    })
    assert columns.endpoints_text(ep) == "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more..."


def test_events_have_no_name_column():
    assert columns.header("events", wide=False, all_namespaces=True) == [
        "NAMESPACE", "LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]


def test_configmaps_count_their_keys():
    cm = from_dict(core_pb2.ConfigMap, {"metadata": {"name": "c", "creationTimestamp": CREATED},
                                        "data": {"a": "1", "b": "2"}})
    assert columns.row("configmaps", cm, NOW, wide=False, all_namespaces=False) == [
        "c", "2", "5s"]


def test_certificate_requests_show_signer_requestor_duration_and_kubectls_condition():
    def csr_row(spec: Mapping[str, object], status: Mapping[str, object]) -> list[str]:
        csr = from_dict(certificates_pb2.CertificateSigningRequest, {
            "metadata": {"name": "me", "creationTimestamp": CREATED},
            "spec": {"username": "ann", **spec}, "status": status,
        })
        return columns.row("certificatesigningrequests", csr, NOW, wide=False,
                           all_namespaces=False)

    assert columns.header("certificatesigningrequests", wide=False, all_namespaces=False) == [
        "NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"]
    client = {"signerName": "kubernetes.io/kube-apiserver-client", "expirationSeconds": 86400}
    assert csr_row(client, {}) == [
        "me", "5s", "kubernetes.io/kube-apiserver-client", "ann", "24h", "Pending"]
    assert csr_row({}, {})[2:5] == ["<none>", "ann", "<none>"]
    approved = {"type": "Approved", "status": "True"}
    issued = {"conditions": [approved], "certificate": "UEVN"}
    assert csr_row(client, issued)[-1] == "Approved,Issued"
    # Denied wins over Approved (data from before they were exclusive); Failed is added.
    both = [approved, {"type": "Denied", "status": "True"}, {"type": "Failed", "status": "True"}]
    assert csr_row(client, {"conditions": both})[-1] == "Denied,Failed"


def test_wide_pods_count_readiness_gates_whose_condition_is_true():
    def gates_cell(gates: list[str], conditions: list[dict[str, str]]) -> str:
        pod = from_dict(core_pb2.Pod, {
            "metadata": {"name": "web-1", "creationTimestamp": CREATED},
            "spec": {"containers": [{"name": "c", "image": "i"}],
                     "readinessGates": [{"conditionType": g} for g in gates]},
            "status": {"conditions": conditions},
        })
        return columns.row("pods", pod, NOW, wide=True, all_namespaces=False)[-1]

    assert columns.header("pods", wide=True, all_namespaces=False)[-1] == "READINESS GATES"
    assert gates_cell([], []) == "<none>"
    assert gates_cell(["a.io/x", "b.io/y"], []) == "0/2"
    opened = [{"type": "a.io/x", "status": "True"}, {"type": "b.io/y", "status": "False"}]
    assert gates_cell(["a.io/x", "b.io/y"], opened) == "1/2"


def test_runtime_classes_show_their_handler():
    rc = from_dict(node_pb2.RuntimeClass, {
        "metadata": {"name": "kata", "creationTimestamp": CREATED}, "handler": "kata-fc"})
    assert columns.header("runtimeclasses", wide=False, all_namespaces=False) == [
        "NAME", "HANDLER", "AGE"]
    assert columns.row("runtimeclasses", rc, NOW, wide=False, all_namespaces=False) == [
        "kata", "kata-fc", "5s"]


def test_flow_schemas_show_their_level_precedence_distinguisher_and_missing_level():
    fs = from_dict(flowcontrol_pb2.FlowSchema, {
        "metadata": {"name": "list-events", "creationTimestamp": CREATED},
        "spec": {"priorityLevelConfiguration": {"name": "catch-all"}, "matchingPrecedence": 8000,
                 "distinguisherMethod": {"type": "ByUser"}},
        "status": {"conditions": [{"type": "Dangling", "status": "False"}]}})
    assert columns.header("flowschemas", wide=False, all_namespaces=False) == [
        "NAME", "PRIORITYLEVEL", "MATCHINGPRECEDENCE", "DISTINGUISHERMETHOD", "AGE", "MISSINGPL"]
    assert columns.row("flowschemas", fs, NOW, wide=False, all_namespaces=False) == [
        "list-events", "catch-all", "8000", "ByUser", "5s", "False"]


def test_a_flow_schema_without_distinguisher_or_dangling_condition_shows_none_and_question_mark():
    fs = from_dict(flowcontrol_pb2.FlowSchema, {
        "metadata": {"name": "health", "creationTimestamp": CREATED},
        "spec": {"priorityLevelConfiguration": {"name": "exempt"}, "matchingPrecedence": 1000}})
    assert columns.row("flowschemas", fs, NOW, wide=False, all_namespaces=False) == [
        "health", "exempt", "1000", "<none>", "5s", "?"]


def test_flow_schemas_are_listed_in_the_order_they_are_matched_and_other_kinds_as_given():
    def fs(name: str, precedence: int) -> flowcontrol_pb2.FlowSchema:
        return from_dict(flowcontrol_pb2.FlowSchema, {
            "metadata": {"name": name}, "spec": {"matchingPrecedence": precedence}})
    given = [fs("global-default", 9900), fs("exempt", 1), fs("b", 500), fs("a", 500)]
    assert [o.metadata.name for o in columns.ordered("flowschemas", given)] == [
        "exempt", "a", "b", "global-default"]
    pods = [from_dict(core_pb2.Pod, {"metadata": {"name": n}}) for n in ("z", "a")]
    assert [o.metadata.name for o in columns.ordered("pods", pods)] == ["z", "a"]


def test_priority_levels_show_shares_and_queues_of_a_queuing_limited_level():
    pl = from_dict(flowcontrol_pb2.PriorityLevelConfiguration, {
        "metadata": {"name": "restrict", "creationTimestamp": CREATED},
        "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 5, "limitResponse": {
            "type": "Queue", "queuing": {"queues": 10, "handSize": 4, "queueLengthLimit": 20}}}}})
    assert columns.header("prioritylevelconfigurations", wide=False, all_namespaces=False) == [
        "NAME", "TYPE", "NOMINALCONCURRENCYSHARES", "QUEUES", "HANDSIZE", "QUEUELENGTHLIMIT",
        "AGE"]
    assert columns.row(
        "prioritylevelconfigurations", pl, NOW, wide=False, all_namespaces=False
    ) == ["restrict", "Limited", "5", "10", "4", "20", "5s"]


def test_priority_levels_that_reject_or_are_exempt_show_none_where_kubernetes_does():
    reject = from_dict(flowcontrol_pb2.PriorityLevelConfiguration, {
        "metadata": {"name": "catch-all", "creationTimestamp": CREATED},
        "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": 0,
                                                "limitResponse": {"type": "Reject"}}}})
    exempt = from_dict(flowcontrol_pb2.PriorityLevelConfiguration, {
        "metadata": {"name": "exempt", "creationTimestamp": CREATED},
        "spec": {"type": "Exempt", "exempt": {"nominalConcurrencyShares": 0}}})
    row = columns.row
    assert row("prioritylevelconfigurations", reject, NOW, wide=False, all_namespaces=False) == [
        "catch-all", "Limited", "0", "<none>", "<none>", "<none>", "5s"]
    assert row("prioritylevelconfigurations", exempt, NOW, wide=False, all_namespaces=False) == [
        "exempt", "Exempt", "<none>", "<none>", "<none>", "<none>", "5s"]
