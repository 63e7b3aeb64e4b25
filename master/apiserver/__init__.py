"""The API server: the only component that talks to etcd.

How the pieces fit, from the wire inwards:

- `main.py`: the `tug-apiserver` command; `server.py`: one server (gRPC resource and
  health services, the HTTP status port, the compactor), start and graceful stop.
- `service.py`: `tugboat.v1.Resources` over gRPC; errors become status codes, every
  request is counted and timed (`metrics.py`).
- `registry.py` (Create, Get, Update, UpdateStatus), `deletion.py` (Delete),
  `listing.py` (paged List at one revision), `watching.py` (Watch, selectors judged on
  both sides of each change): the generic store, holding no kind's rules.
- `strategies/`: one module per kind with everything that differs by kind (what the
  server owns, defaults, validation, what an update keeps, allocation, deletion); see
  README.md for the Strategy methods and when the store calls them.
- `requests.py`: a request's object, namespace and resourceVersion, checked;
  `apierrors.py`: refusals in kube-apiserver's words.
- `writes.py`: every change is one etcd transaction guarded by the revision it was
  based on, plus the leader's fence; `objects.py`: the etcd layout (keys, encoding).
- `etcd.py`: the connection over several etcd endpoints with fail-over.
- `defaults.py` and `validation/` (called by the strategies on every create and update),
  `selection.py` (label and field selectors), `bootstrap.py` (system namespaces),
  `compaction.py` (history kept for watches to resume).
"""
