"""Validation of objects before they are stored.

Each kind's strategy (strategies/<kind>.py) calls the checks here after defaulting, and
Strategy.problems returns every problem at once, each a FieldError
with Kubernetes' path and wording (`spec.containers[0].ports[0].containerPort: Invalid
value: 0: must be between 1 and 65535, inclusive`). One module per family of kinds:
meta.py (every kind's metadata), pod.py (pods and pod templates), workloads.py,
service.py, cluster.py (the smaller kinds); fields.py has the checks of single fields
they share (quantities, IP addresses, ports); errors.py has the wording.

Where Tugboat deliberately differs from Kubernetes:
- an invalid label value is reported at `metadata.labels[key]` (Kubernetes says only
  `metadata.labels`), so the key at fault is named;
- Endpoints may hold loopback addresses: Tugboat's local nodes live on 127.0.0.0/8;
- an update that leaves a Service's `clusterIP` empty keeps it instead of failing;
- an Event's `type` must be Normal or Warning (Kubernetes checks this only for
  events.k8s.io events);
- finalizer names need only be qualified names (Kubernetes merely warns about ones
  without a domain).
Service names are RFC 1035 labels (start with a letter), as in Kubernetes.
"""
