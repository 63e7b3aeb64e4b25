"""What a pod adds to a namespace's quota: its app containers' and sidecars' requests."""

from __future__ import annotations

from fractions import Fraction

from client.kinds import by_resource
from client.quota import usage_of
from proto import core_pb2


def test_a_pods_sidecars_count_with_its_app_containers_and_init_containers_do_not():
    pod = core_pb2.Pod()
    pod.spec.containers.add(name="app").resources.requests["cpu"] = "100m"
    side = pod.spec.init_containers.add(name="proxy", restart_policy="Always")
    side.resources.requests["cpu"] = "50m"
    pod.spec.init_containers.add(name="setup").resources.requests["cpu"] = "20m"
    adds, missing = usage_of(by_resource("pods"), pod, ["requests.cpu"])
    assert (adds, missing) == ({"requests.cpu": Fraction(150, 1000)}, [])


def test_a_pods_overhead_counts_with_its_requests_and_with_the_limits_it_sets():
    pod = core_pb2.Pod()
    app = pod.spec.containers.add(name="app").resources
    app.requests.update({"cpu": "100m", "memory": "64Mi"})
    app.limits["cpu"] = "200m"
    pod.spec.overhead.update({"cpu": "250m", "memory": "120Mi"})
    names = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]
    adds, missing = usage_of(by_resource("pods"), pod, names)
    assert adds == {
        "requests.cpu": Fraction(350, 1000),
        "requests.memory": Fraction(184 << 20),
        "limits.cpu": Fraction(450, 1000),
    }
    # No memory limit to add the overhead to: refused as any pod without one is.
    assert missing == ["limits.memory"]
