"""The lanes Lease renewals take into an API server, named once for both ends.

gRPC's asyncio server keeps one call request open per method: it takes a method's next
call only after the last one went through the event loop, a few turns of it per call.
While the loop is busy, a method whose calls come at hundreds per second queues them in
gRPC's core, out of sight of every handler, limit and metric. At 5,000 simulated nodes
the Update method, carrying 500 renewals a second, held its calls for seconds (other
methods answered in milliseconds); renewals missed their deadline and healthy nodes
fenced their pods.

So Leases (node heartbeats, and the mirrors of leader election) have lanes of their
own, as Kubernetes' API Priority and Fairness gives them a priority level of their own:
`LANES` methods of one service, each served by the same Update of Leases, so that
gRPC keeps that many of their calls requested at once. A client takes the lanes in
turn. The service is not in api.proto: it is the same UpdateRequest and
ObjectResponse as Update, under several names, and only for Leases.

Why not lanes for every method: they were tried. Eight lanes per method took creates
from 880 to 1,510 a second and gets from 1,380 to 2,610 at the same CPU, but at 5,000
simulated nodes the server then took more calls than its loop could serve beside the
watches. Watches fell behind and were ended, the controller manager's Lease watch among
them, and 311-384 healthy nodes were marked NotReady in each of four runs (none with
Lease lanes only). One call at a time per ordinary method is the throttle that keeps
the watches flowing, until the server gives watches and calls a fair share of its own.
"""

from __future__ import annotations

SERVICE = "tugboat.v1.LeaseLanes"
RESOURCE = "leases"
"""The one resource the lanes update: the client sends its updates here, the server
refuses any other."""
LANES = 16
"""At five loop turns per call and a loop turn of a few milliseconds under load, one
lane takes roughly 50-100 calls a second; sixteen keep 500 renewals a second moving."""


def method(lane: int) -> str:
    """The name of lane `lane`'s method within SERVICE."""
    return f"Update{lane}"


def path(lane: int) -> str:
    """The full gRPC path of lane `lane` (wrapped into range)."""
    return f"/{SERVICE}/{method(lane % LANES)}"
