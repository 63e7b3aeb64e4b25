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
