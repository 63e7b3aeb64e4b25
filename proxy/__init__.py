"""The service proxy agent (`tug-proxy`), one per node.

How the pieces fit:

- `main.py`: the command line; `settings.py`: every setting with its reason;
- `proxier.py`: informers on Services and Endpoints feed one level-triggered sync that
  makes the listeners, balancers, interface addresses and DNS answers match the cache;
- `table.py`: the pure part of a sync, Services + Endpoints -> what to serve;
- `balancer.py`: round-robin or least-connections over ready endpoints, ClientIP affinity;
- `tcp.py`, `udp.py`: the data path; `dns.py`: cluster DNS;
- `nftables.py`: nftables mode's rule set as text (pure); `nftsync.py`: loading it with
  one `nft -f` transaction per sync, stale-table replacement and cleanup;
- `network.py`: the project's own `tugboat-svc` interface that carries the ClusterIPs;
- `metrics.py`: Prometheus metrics.
- `ingress.py`: the ingress route table (pure: host, path and SNI matching);
  `ingress_server.py`: the ingress controller, an HTTP/1.1 reverse proxy on the node's
  address, sharing the proxier's Service and Endpoints informers.
"""
