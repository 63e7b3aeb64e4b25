"""A node, its pods and an outside host as network namespaces: the shape of a container node.

The nftables proxy programs the kernel of its own host, so testing or measuring it needs a
host of its own: a node namespace with a pod bridge (172.30.1.1/24, hairpin on every
port, as the kubelet sets it), the service interface carrying the cluster DNS address and
the route of the service range, and an uplink (10.99.0.1/24) to an outside namespace
(10.99.0.2) that stands for another host. Pods are namespaces on the bridge at
172.30.1.2, .3, ... Names carry a random tag, so labs of parallel runs never meet, and
removing the namespaces removes every link, rule and socket in them.

Used by the nftables integration tests and by `bench.proxy`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

__all__ = ["DNS_IP", "NODE_IP", "OUTSIDE_IP", "NodeLab", "run"]

DNS_IP = "172.30.255.10"
NODE_IP = "10.99.0.1"
OUTSIDE_IP = "10.99.0.2"
SERVICE_RANGE = "172.30.255.0/24"


def run(*argv: str, check: bool = True, timeout: float = 20) -> str:
    """A command's output; AssertionError with its stderr when it fails and `check`."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


@dataclass(frozen=True)
class NodeLab:
    """The namespaces of one lab: `node`, `out` and one per pod role."""

    tag: str
    pods: tuple[str, ...] = ("pa", "pb")

    def ns(self, role: str) -> str:
        return f"tug{role}-{self.tag}"

    def pod_ip(self, role: str) -> str:
        return f"172.30.1.{2 + self.pods.index(role)}"

    @property
    def roles(self) -> tuple[str, ...]:
        return ("node", *self.pods, "out")

    @property
    def nft(self) -> tuple[str, ...]:
        """`nft` working in the node's namespace (the proxy's command there)."""
        return ("ip", "netns", "exec", self.ns("node"), "nft")

    def build(self) -> None:
        """Make every namespace and link; on failure, what was made is removed."""
        try:
            self._build()
        except BaseException:
            self.remove()
            raise

    def _build(self) -> None:
        node, out = self.ns("node"), self.ns("out")
        for role in self.roles:
            run("ip", "netns", "add", self.ns(role))
            run("ip", "-n", self.ns(role), "link", "set", "lo", "up")
        run("ip", "-n", node, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", node, "addr", "add", "172.30.1.1/24", "dev", "br0")
        run("ip", "-n", node, "link", "set", "br0", "up")
        for i, role in enumerate(self.pods):
            ns, veth = self.ns(role), f"v{i}{self.tag[:6]}"
            run(
                "ip",
                "link",
                "add",
                veth,
                "netns",
                node,
                "type",
                "veth",
                "peer",
                "eth0",
                "netns",
                ns,
            )
            run("ip", "-n", node, "link", "set", veth, "master", "br0", "up")
            # Hairpin on the port, as Kubernetes' kubelet sets it (--hairpin-mode): with
            # br_netfilter a DNAT back to the sender is bridged out of the port it came in by.
            run("ip", "-n", node, "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
            run("ip", "-n", ns, "addr", "add", f"{self.pod_ip(role)}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", ns, "route", "add", "default", "via", "172.30.1.1")
        run("ip", "link", "add", "up0", "netns", node, "type", "veth", "peer", "eth0", "netns", out)
        run("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "up0")
        run("ip", "-n", node, "link", "set", "up0", "up")
        run("ip", "-n", out, "addr", "add", f"{OUTSIDE_IP}/24", "dev", "eth0")
        run("ip", "-n", out, "link", "set", "eth0", "up")
        run("ip", "-n", out, "route", "add", "default", "via", NODE_IP)
        # As the proxy's Interface does on a node: the DNS address local, the range routed here.
        run("ip", "-n", node, "link", "add", "tugboat-svc", "type", "bridge")
        run("ip", "-n", node, "link", "set", "tugboat-svc", "up")
        run("ip", "-n", node, "addr", "add", f"{DNS_IP}/32", "dev", "tugboat-svc")
        run("ip", "-n", node, "route", "add", SERVICE_RANGE, "dev", "tugboat-svc")
        run("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")

    def remove(self) -> None:
        """Delete every namespace of the lab (and so all in them)."""
        for role in self.roles:
            run("ip", "netns", "del", self.ns(role), check=False)
