"""The nftables rule set that enforces NetworkPolicies on one node, as text.

`render(isolations)` turns `netpol.isolations(...)` into one `nft -f` script, pure like
`nftables.render`, so a test compares the text and loads it with `nft -c`.

Why it has this shape:

- A table of its own, `ip tugboat-netpol`, replaced whole per sync by `add table; delete
  table; table ... {}` in one transaction, as the service table is: a failed load leaves
  the previous policy in force, never half of a new one.
- One base chain on the `forward` hook. Every packet between a pod of this node and
  anything else is forwarded, whether it crosses the node's pod bridge (br_netfilter
  hands bridged packets to this hook) or is routed to or from another node. The
  service table's DNAT runs at prerouting, before this hook, so a policy sees the pod
  a ClusterIP led to, as Kubernetes specifies. The node's own traffic to its pods
  (kubelet probes, `tug exec` is not traffic) leaves by the output hook and is never
  filtered, as most Kubernetes network plugins allow the node; a pod's traffic to an
  address of its own node (cluster DNS) is input, and not filtered either.
- `ct state established,related accept` first: a reply belongs to a connection some rule
  allowed in its direction, so only new connections meet the policies.
- Dispatch by verdict maps keyed on the pod's address, `egress-pods` on the source and
  then `ingress-pods` on the destination, so the cost is one lookup each however many
  pods are isolated. A pod's chain returns for each allowed way and drops the rest; a
  packet between two isolated pods of this node passes the sender's egress and then the
  receiver's ingress chain.
- The chains are numbered in pod-key order, and the pod's key is a comment on its chain,
  so `nft list table ip tugboat-netpol` on a node shows whose rules these are.
"""

from __future__ import annotations

from collections.abc import Iterable

from proxy.netpol import Allow, Isolation, PortMatch

__all__ = ["TABLE", "delete_script", "render"]

TABLE = "tugboat-netpol"
"""The table's name (family ip); nothing else in the host uses it."""


def delete_script(table: str = TABLE) -> str:
    """A script that removes the table if it is there."""
    return f"add table ip {table}\ndelete table ip {table}\n"


def _set(items: Iterable[str]) -> str:
    listed = list(items)
    return listed[0] if len(listed) == 1 else "{ " + ", ".join(listed) + " }"


def _port_matches(ports: tuple[PortMatch, ...] | None) -> list[str]:
    """One match per protocol ("" : any packet)."""
    if ports is None:
        return [""]
    out: list[str] = []
    by_protocol: dict[str, list[str]] = {}
    whole: set[str] = set()
    for p in ports:
        if p.low is None:
            whole.add(p.protocol)
        else:
            text = str(p.low) if p.high in (None, p.low) else f"{p.low}-{p.high}"
            by_protocol.setdefault(p.protocol, []).append(text)
    for protocol in sorted(whole | by_protocol.keys()):
        if protocol in whole:
            out.append(f"meta l4proto {protocol}")
        else:
            out.append(f"{protocol} dport {_set(by_protocol[protocol])}")
    return out


def _lines(allows: Iterable[Allow], field: str) -> list[str]:
    """`return` rules for each way allowed; `field` is saddr (ingress) or daddr (egress)."""
    out: list[str] = []
    for allow in allows:
        if allow.addresses is not None and not allow.addresses:
            continue  # its peers matched no pod: it allows nothing now
        address = ""
        if allow.addresses is not None:
            address = f"ip {field} {_set(allow.addresses)}"
            if allow.excepts:
                address += f" ip {field} != {_set(allow.excepts)}"
        for ports in _port_matches(allow.ports):
            match = " ".join(part for part in (address, ports) if part)
            out.append(f"{match} return" if match else "return")
    return out


def _chain(name: str, key: str, lines: list[str]) -> list[str]:
    out = [f"\tchain {name} {{", f'\t\tcomment "{key}"']
    out += [f"\t\t{line}" for line in dict.fromkeys(lines)]
    out += ["\t\tdrop", "\t}"]
    return out


def _map(name: str, entries: list[tuple[str, str]]) -> list[str]:
    out = [f"\tmap {name} {{", "\t\ttype ipv4_addr : verdict"]
    if entries:
        elements = ", ".join(f"{ip} : jump {chain}" for ip, chain in entries)
        out.append(f"\t\telements = {{ {elements} }}")
    return [*out, "\t}"]


def render(isolated: Iterable[Isolation], table: str = TABLE) -> str:
    """The whole script: replace the table with the rules for `isolated`."""
    body: list[str] = []
    ingress: list[tuple[str, str]] = []
    egress: list[tuple[str, str]] = []
    seen: set[str] = set()
    for n, pod in enumerate(isolated):
        if pod.ip in seen:
            continue  # two pods on one address: a stale record; the map takes one
        seen.add(pod.ip)
        if pod.ingress is not None:
            name = f"ingress-{n}"
            body += _chain(name, pod.key, _lines(pod.ingress, "saddr"))
            ingress.append((pod.ip, name))
        if pod.egress is not None:
            name = f"egress-{n}"
            body += _chain(name, pod.key, _lines(pod.egress, "daddr"))
            egress.append((pod.ip, name))
    body += _map("ingress-pods", ingress)
    body += _map("egress-pods", egress)
    body += [
        "\tchain forward {",
        "\t\ttype filter hook forward priority filter; policy accept;",
        "\t\tct state established,related accept",
        "\t\tip saddr vmap @egress-pods",
        "\t\tip daddr vmap @ingress-pods",
        "\t}",
    ]
    return delete_script(table) + f"table ip {table} {{\n" + "\n".join(body) + "\n}\n"


def rule_count(script: str) -> int:
    """How many rules (drop and return lines) a script holds, for the metric."""
    return sum(
        1
        for line in script.splitlines()
        if line.startswith("\t\t") and line.rstrip().endswith(("return", "drop"))
    )
