"""NetworkPolicies enforced for real: the node agent's rules between network namespaces.

The lab of test_nftables_netns.py (a node namespace with a pod bridge, pods pod-a
172.30.1.2 and pod-b 172.30.1.3, an outside host 10.99.0.2 on an uplink) and a real
`NetworkPolicyAgent` whose `nft` works in the node namespace, fed by a real API server.
A connection that a policy forbids is dropped, so "blocked" is a connect that times out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.api import ApiClient
from client.codec import from_dict
from proto import core_pb2, networking_pb2
from proxy.netpol_agent import NetworkPolicyAgent
from tests.integration.proxy import test_nftables_netns as netns_lab
from tests.integration.proxy.test_nftables_netns import Lab
from tests.support.netlab import OUTSIDE_IP, run
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("nft") is None or shutil.which("ip") is None,
    reason="needs root, nft and ip",
)

lab_namespaces = netns_lab.lab_namespaces
lab = netns_lab.lab
"""The lab's fixtures, shared with the service proxy's tests."""

NODE = "node-1"
A, B = "172.30.1.2", "172.30.1.3"


async def pod(api: ApiClient, name: str, ip: str, labels: dict[str, str]) -> None:
    """The API's record of a pod the lab runs: on this node, Running at `ip`, serving 8080
    under the port name `http`."""
    body = {
        "metadata": {"name": name, "namespace": "default", "labels": labels},
        "spec": {
            "nodeName": NODE,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:1.35",
                    "ports": [{"name": "http", "containerPort": 8080}],
                }
            ],
        },
    }
    created: Any = await api.create(from_dict(core_pb2.Pod, body))
    created.status.phase = "Running"
    created.status.pod_ip = ip
    await api.update_status(created)


async def policy(api: ApiClient, name: str, spec: dict[str, Any]) -> None:
    body = {"metadata": {"name": name, "namespace": "default"}, "spec": spec}
    await api.create(from_dict(networking_pb2.NetworkPolicy, body))


@pytest.fixture
async def agent(api: ApiClient, lab: Lab) -> AsyncIterator[NetworkPolicyAgent]:
    await lab.serve("pa", A, "pod-a")
    await lab.serve("pb", B, "pod-b")
    await lab.serve("out", OUTSIDE_IP, "outside")
    await pod(api, "pod-a", A, {"role": "client"})
    await pod(api, "pod-b", B, {"role": "server"})
    running = NetworkPolicyAgent(api, NODE, command=lab.nft, min_sync_interval=0.05)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


def rules(lab: Lab) -> str:
    return run(*lab.nft, "list", "table", "ip", "tugboat-netpol", check=False)


async def loaded(lab: Lab, *needles: str) -> None:
    await eventually(
        lambda: all(n in rules(lab) for n in needles), timeout=10, what=f"{needles} loaded"
    )


async def reaches(lab: Lab, source: str, ip: str) -> bool:
    """Whether a TCP connection from `source`'s namespace to ip:8080 gets an answer."""
    try:
        return bool(await lab.ask(source, ip, 8080, timeout=1.0))
    except TimeoutError:
        return False


async def test_without_policies_every_pod_is_reachable_and_the_table_is_empty(
    api: ApiClient, lab: Lab, agent: NetworkPolicyAgent
) -> None:
    await loaded(lab, "chain forward")
    assert "jump" not in rules(lab)
    assert await reaches(lab, "pa", B)
    assert await reaches(lab, "out", B)
    assert await reaches(lab, "pb", OUTSIDE_IP)


async def test_a_default_deny_cuts_a_pod_off_and_an_allow_rule_lets_only_its_peers_in(
    api: ApiClient, lab: Lab, agent: NetworkPolicyAgent
) -> None:
    await policy(api, "deny", {"podSelector": {"matchLabels": {"role": "server"}}})
    await loaded(lab, "default/pod-b")
    assert not await reaches(lab, "pa", B)
    assert not await reaches(lab, "out", B)
    assert await reaches(lab, "pb", A), "pod-a is not isolated, and replies to pod-b pass"

    await policy(
        api,
        "clients",
        {
            "podSelector": {"matchLabels": {"role": "server"}},
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"role": "client"}}}],
                    "ports": [{"port": "http"}],
                },
            ],
        },
    )
    await loaded(lab, f"ip saddr {A} tcp dport 8080 return")
    assert await reaches(lab, "pa", B)
    assert not await reaches(lab, "out", B)

    await policy(
        api,
        "uplink",
        {
            "podSelector": {"matchLabels": {"role": "server"}},
            "ingress": [
                {"from": [{"ipBlock": {"cidr": "10.99.0.0/24", "except": ["10.99.0.2/32"]}}]}
            ],
        },
    )
    await loaded(lab, "10.99.0.0/24")
    assert not await reaches(lab, "out", B), "the outside host is the exception"
    await api.delete("networkpolicies", "default", "uplink")
    await policy(
        api,
        "uplink",
        {
            "podSelector": {"matchLabels": {"role": "server"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.99.0.0/24"}}]}],
        },
    )
    await eventually(
        lambda: "ip saddr 10.99.0.0/24 return" in rules(lab) and "!=" not in rules(lab),
        timeout=10,
        what="the block without its exception",
    )
    assert await reaches(lab, "out", B)

    for name in ("deny", "clients", "uplink"):
        await api.delete("networkpolicies", "default", name)
    await eventually(lambda: "jump" not in rules(lab), timeout=10, what="no pod isolated")
    assert await reaches(lab, "pa", B)


async def test_an_egress_policy_lets_a_pod_reach_only_the_named_port_of_its_peers(
    api: ApiClient, lab: Lab, agent: NetworkPolicyAgent
) -> None:
    await policy(
        api,
        "out",
        {
            "podSelector": {"matchLabels": {"role": "client"}},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"role": "server"}}}],
                    "ports": [{"port": "http"}],
                },
            ],
        },
    )
    await loaded(lab, "egress-", f"ip daddr {B} tcp dport 8080 return")
    assert await reaches(lab, "pa", B)
    assert not await reaches(lab, "pa", OUTSIDE_IP)
    assert await reaches(lab, "pb", OUTSIDE_IP), "pod-b is not isolated"
    assert await reaches(lab, "out", A), "ingress to pod-a is not isolated"


async def test_a_stopped_agent_leaves_no_table(
    api: ApiClient, lab: Lab, agent: NetworkPolicyAgent
) -> None:
    await loaded(lab, "chain forward")
    await agent.stop()
    assert "tugboat-netpol" not in run(*lab.nft, "list", "tables")
