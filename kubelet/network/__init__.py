"""Pod networking on a node: the bridge and each sandbox's address and resolver
(bridge.py, ipam.py, dns.py), and the node's podCIDR and routes to its peers
(podnetwork.py, routes.py). The runtime receives a plan from here and computes none."""
