"""The API server: the only component that talks to etcd.

How the pieces fit, from the wire inwards:

- `main.py`: the `tug-apiserver` command; `server.py`: one server (gRPC resource and
  health services, the HTTP status port, the compactor), start and graceful stop.
- `service.py`: `tugboat.v1.Resources` over gRPC; errors become status codes, every
  request is counted and timed (`metrics.py`).
- `registry.py` (Create, Get, Update, UpdateStatus), `deletion.py` (Delete: graceful
  pods, finalizers, namespaces), `listing.py` (paged List at one revision),
  `watching.py` (Watch, selectors judged on both sides of each change).
- `writes.py`: every change is one etcd transaction guarded by the revision it was
  based on, plus the leader's fence; `objects.py`: keys, encoding, error messages.
- `etcd.py`: the connection over several etcd endpoints with fail-over.
- `defaults.py` and `validation/` (applied on every create and update),
  `selection.py` (label and field selectors), `bootstrap.py` (system namespaces),
  `compaction.py` (history kept for watches to resume).
"""
