"""What a pod asks of a node: its containers' requests, with init containers and sidecars
counted as Kubernetes counts them."""

from __future__ import annotations

from master.scheduler.framework import NO_SCALARS, pod_requests, scalar_requests
from proto import core_pb2


def container(name: str, cpu: str, memory: str, *, sidecar: bool = False) -> core_pb2.Container:
    c = core_pb2.Container(name=name, image="busybox:1.35")
    c.resources.requests["cpu"], c.resources.requests["memory"] = cpu, memory
    if sidecar:
        c.restart_policy = "Always"
    return c


def test_an_init_container_asks_for_the_most_of_any_one_step():
    pod = core_pb2.Pod()
    pod.spec.containers.append(container("app", "100m", "64Mi"))
    pod.spec.init_containers.append(container("setup", "500m", "16Mi"))
    asked = pod_requests(pod)
    assert (asked.milli_cpu, asked.memory) == (500, 64 << 20)


def test_a_sidecar_adds_to_the_apps_and_to_every_init_container_after_it():
    pod = core_pb2.Pod()
    pod.spec.containers.append(container("app", "100m", "64Mi"))
    pod.spec.init_containers.extend(
        [
            container("proxy", "200m", "32Mi", sidecar=True),
            container("migrate", "400m", "16Mi"),
        ]
    )
    asked = pod_requests(pod)
    # cpu: the migration with the proxy beside it (600m) beats app + proxy (300m);
    # memory: app + proxy (96Mi) beats migration + proxy (48Mi).
    assert (asked.milli_cpu, asked.memory) == (600, 96 << 20)


def test_the_overhead_comes_on_top_also_of_the_scoring_defaults():
    pod = core_pb2.Pod()
    pod.spec.containers.add(name="app", image="busybox:1.35")
    pod.spec.overhead.update({"cpu": "250m", "memory": "120Mi"})
    asked = pod_requests(pod)
    assert (asked.milli_cpu, asked.memory) == (250, 120 << 20)
    scored = pod_requests(pod, non_zero=True)
    # Kubernetes' defaults for an unset request (100m, 200Mi), then the overhead.
    assert (scored.milli_cpu, scored.memory) == (350, 320 << 20)


def test_scoring_counts_a_request_less_sidecar_at_the_defaults():
    pod = core_pb2.Pod()
    pod.spec.containers.append(container("app", "100m", "64Mi"))
    proxy = core_pb2.Container(name="proxy", image="busybox:1.35", restart_policy="Always")
    pod.spec.init_containers.append(proxy)
    asked = pod_requests(pod, non_zero=True)
    assert (asked.milli_cpu, asked.memory) == (200, (64 << 20) + 200 * 1024 * 1024)
    assert (pod_requests(pod).milli_cpu, pod_requests(pod).memory) == (100, 64 << 20)


def test_extended_resources_count_as_cpu_does_and_a_limit_alone_is_the_request():
    pod = core_pb2.Pod()
    app = container("app", "100m", "64Mi")
    app.resources.limits["nvidia.com/gpu"] = "1"
    pod.spec.containers.append(app)
    proxy = container("proxy", "100m", "64Mi", sidecar=True)
    proxy.resources.requests["example.com/nic"] = "1"
    warmup = container("warmup", "100m", "64Mi")
    warmup.resources.requests["nvidia.com/gpu"] = "2"
    pod.spec.init_containers.extend([proxy, warmup])
    assert dict(scalar_requests(pod)) == {"nvidia.com/gpu": 2, "example.com/nic": 1}


def test_a_pod_asking_only_cpu_and_memory_has_no_scalar_requests():
    pod = core_pb2.Pod()
    pod.spec.containers.append(container("app", "100m", "64Mi"))
    assert scalar_requests(pod) is NO_SCALARS
