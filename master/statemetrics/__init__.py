"""Cluster-state metrics in kube-state-metrics' names, served by the leading controller manager.

Dashboards and alerts users already have read `kube_pod_status_phase`,
`kube_deployment_status_replicas_available`, `kube_node_status_condition` and their
kin: this package turns the controller manager's informer caches into those series. Only
the leader has synced caches, so only it serves them and nothing is counted three times;
a standby answers with no series. Each kind's rules live in its own module
(`pods.py`, `nodes.py`, `workloads.py`, `core.py`), registered in `collector.GENERATORS`.
"""
