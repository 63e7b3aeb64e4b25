"""Leader election for the masters' elected components (scheduler, controller manager).

- `election.py`: who leads, decided on etcd directly (a lease-bound key, create-if-absent)
  with a fencing token for every write the leader makes (see its docstring for what is and
  is not guaranteed);
- `lease.py`: the coordination.k8s.io Lease that mirrors the etcd key through the API,
  so users see the leader the way Kubernetes shows it;
- `elected.py`: the runner every elected component shares (flags, status port,
  registration, the leader-only work given a fenced client).

See master/README.md for why election talks to etcd and the Lease is only a mirror.
"""

