"""NodeResourcesFit: requests of bound and assumed pods count against allocatable."""

from __future__ import annotations

import pytest

from master.scheduler.algorithm import Algorithm, FitError
from master.scheduler.framework import Code, CycleState, PodInfo
from master.scheduler.plugins.node_resources_fit import NodeResourcesFit
from tests.unit.scheduler.builders import node, node_info, pod, snapshot


@pytest.mark.parametrize(
    ("node_kw", "existing", "incoming", "reasons"),
    [
        pytest.param({}, [], {"cpu": "1"}, (), id="fits-empty-node"),
        pytest.param(
            {"cpu": "2"}, [], {"cpu": "3"}, ("Insufficient cpu",), id="more-cpu-than-node"
        ),
        pytest.param(
            {"cpu": "2"},
            [{"cpu": "1500m"}],
            {"cpu": "600m"},
            ("Insufficient cpu",),
            id="cpu-taken-by-bound-pod",
        ),
        pytest.param({"cpu": "2"}, [{"cpu": "1500m"}], {"cpu": "500m"}, (), id="exactly-full-fits"),
        pytest.param(
            {"memory": "1Gi"},
            [{"memory": "768Mi"}],
            {"memory": "512Mi"},
            ("Insufficient memory",),
            id="memory-taken",
        ),
        pytest.param(
            {"cpu": "1", "memory": "1Gi"},
            [],
            {"cpu": "2", "memory": "2Gi"},
            ("Insufficient cpu", "Insufficient memory"),
            id="both-short-gives-both-reasons",
        ),
        pytest.param({"pods": "2"}, [{}, {}], {}, ("Too many pods",), id="pod-count-full"),
        pytest.param({"cpu": "1"}, [{"cpu": "1"}], {}, (), id="request-less-pod-fits-full-node"),
    ],
)
def test_node_resources_fit(node_kw, existing, incoming, reasons):
    n = node_info(node("n", **node_kw), *(pod(f"e{i}", **kw) for i, kw in enumerate(existing)))
    st = NodeResourcesFit().filter(CycleState(), PodInfo.of(pod("p", **incoming)), n)
    assert st.reasons == reasons
    assert st.code is (Code.UNSCHEDULABLE if reasons else Code.SUCCESS)


def test_an_assumed_pod_takes_room_for_the_next_one():
    n = node_info(node("n", cpu="1"))
    n.add_pod(PodInfo.of(pod("assumed", cpu="800m")))
    st = NodeResourcesFit().filter(CycleState(), PodInfo.of(pod("next", cpu="300m")), n)
    assert st.reasons == ("Insufficient cpu",)


def test_init_containers_count_by_their_maximum():
    p = pod(
        "p", cpu="500m", initContainers=[{"name": "i", "resources": {"requests": {"cpu": "2"}}}]
    )
    assert PodInfo.of(p).requests.milli_cpu == 2000


def test_a_pods_overhead_counts_on_top_of_its_requests_on_the_node_and_for_itself():
    # Kubernetes' computePodResourceRequest: 600m of containers + 250m of sandbox.
    heavy = pod("heavy", cpu="600m", memory="100Mi", overhead={"cpu": "250m", "memory": "120Mi"})
    assert PodInfo.of(heavy).requests.milli_cpu == 850
    assert PodInfo.of(heavy).requests.memory == 220 << 20
    n = node_info(node("n", cpu="1"))
    assert NodeResourcesFit().filter(CycleState(), PodInfo.of(heavy), n).code is Code.SUCCESS
    n.add_pod(PodInfo.of(heavy))
    # The node has 150m left, not the 400m its containers' requests alone would leave.
    st = NodeResourcesFit().filter(CycleState(), PodInfo.of(pod("next", cpu="200m")), n)
    assert st.reasons == ("Insufficient cpu",)


@pytest.mark.parametrize(
    ("offered", "existing", "wanted", "reasons"),
    [
        pytest.param({}, [], {"nvidia.com/gpu": "1"}, ("Insufficient nvidia.com/gpu",), id="none"),
        pytest.param({"nvidia.com/gpu": "2"}, [], {"nvidia.com/gpu": "2"}, (), id="all-of-them"),
        pytest.param(
            {"nvidia.com/gpu": "2"},
            [{"nvidia.com/gpu": "1"}],
            {"nvidia.com/gpu": "2"},
            ("Insufficient nvidia.com/gpu",),
            id="one-taken",
        ),
        pytest.param(
            {"hugepages-2Mi": "64Mi"},
            [],
            {"hugepages-2Mi": "128Mi"},
            ("Insufficient hugepages-2Mi",),
            id="hugepages",
        ),
        pytest.param({"example.com/dongle": "1"}, [], {}, (), id="not-asked-for"),
    ],
)
def test_a_pod_fits_only_where_its_extended_resources_are_left(offered, existing, wanted, reasons):
    n = node_info(
        node("n", extended=offered),
        *(pod(f"e{i}", extended=e) for i, e in enumerate(existing)),
    )
    st = NodeResourcesFit().filter(CycleState(), PodInfo.of(pod("p", extended=wanted)), n)
    assert st.reasons == reasons
    assert st.code is (Code.UNSCHEDULABLE if reasons else Code.SUCCESS)


def test_a_gpu_pod_stays_pending_with_kubernetes_reason_when_no_node_has_a_gpu():
    snap = snapshot(node_info(node("n1")), node_info(node("n2")))
    with pytest.raises(FitError) as err:
        Algorithm().schedule(PodInfo.of(pod("train", extended={"nvidia.com/gpu": "1"})), snap)
    assert err.value.message == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."


def test_a_gpu_pod_goes_to_the_node_with_a_free_gpu():
    snap = snapshot(
        # The emptiest node by far, which would win on score alone.
        node_info(node("plain", cpu="64", memory="256Gi")),
        node_info(
            node("busy-gpu", extended={"nvidia.com/gpu": "1"}),
            pod("e", extended={"nvidia.com/gpu": "1"}),
        ),
        node_info(node("gpu", extended={"nvidia.com/gpu": "1"})),
    )
    train = PodInfo.of(pod("train", extended={"nvidia.com/gpu": "1"}))
    assert Algorithm().schedule(train, snap).node == "gpu"
