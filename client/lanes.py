"""The lanes calls take into an API server, named once for both ends.

gRPC's asyncio server keeps one call request open per method: it takes a method's next
call only after the last one went through the event loop, a few turns of it per call.
So a method called hundreds of times a second queues its calls in gRPC's core, out of
sight of every handler, limit and metric, while the server has CPU to spare. Measured
on two cores: 1,000 Lease updates a second through one method, against 1,780 through
sixteen, at the same 0.8 of a core; ConfigMap creates (16 at once), 880 a second through
one method against 1,350-1,420 through four, 1,510 through eight and 1,630 through
sixteen. At 5,000 simulated nodes the Update method, carrying 500 renewals a second, held
its calls for seconds while Get answered in milliseconds; renewals missed their
deadline and healthy nodes fenced their pods.

So every unary method of `tugboat.v1.Resources` is also served under `LANES` names of
`tugboat.v1.Lanes` (`Create0` ... `Create7`, and so on), and a client takes them in
turn: that many of each method's calls are requested at once. Lease updates (node
heartbeats, leader election's mirrors) have lanes of their own, `LEASE_LANES` methods of
`tugboat.v1.LeaseLanes`, as Kubernetes' API Priority and Fairness gives them a priority
level of their own: a renewal never queues behind other objects' updates. The lanes are
not in api.proto: each is a Resources method under another name, with the same request
and response. `tugboat.v1.Resources` itself is served as before, for any other client.
"""

from __future__ import annotations

SERVICE = "tugboat.v1.Lanes"
RESOURCES = "tugboat.v1.Resources"
UNARY = ("Create", "Get", "List", "Update", "UpdateStatus", "Delete")
"""The methods of tugboat.v1.Resources that have lanes (Watch streams are long-lived)."""
LANES = 8
"""Lanes per method. More take calls faster still, but gRPC's server loop waits on every
registered method's request at once and walks them all for every call it takes: about
13 microseconds more per call at eight lanes (66 methods in all), 32 at sixteen."""

LEASE_SERVICE = "tugboat.v1.LeaseLanes"
LEASE_LANES = 16
"""At a few loop turns per call and a turn of a few milliseconds under load, one lane
takes some 50-100 calls a second; sixteen keep 500 renewals a second moving."""


def method(name: str, lane: int) -> str:
    """The name of lane `lane` of Resources method `name` (or of the Lease Update)."""
    return f"{name}{lane}"


def path(name: str, lane: int) -> str:
    """The full gRPC path of lane `lane` (wrapped into range) of Resources method `name`."""
    return f"/{SERVICE}/{method(name, lane % LANES)}"


def lease_path(lane: int) -> str:
    """The full gRPC path of Lease lane `lane` (wrapped into range)."""
    return f"/{LEASE_SERVICE}/{method('Update', lane % LEASE_LANES)}"
