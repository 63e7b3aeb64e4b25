"""PriorityLevelConfigurations: Kubernetes v1's defaults, its checks, a server-owned status.

Defaults are SetDefaults_* of pkg/apis/flowcontrol/v1/defaults.go, each filling only what
is unset, so they are idempotent: a Limited level's nominalConcurrencyShares 30 and
lendablePercent 0 (v1 keeps an explicit 0 shares apart from unset: a level of 0 shares
has no seats of its own and only borrows), an exempt member's shares and lendablePercent
0 (only when the member is given: Kubernetes never adds it), and a queuing member's
queues 64, handSize 8 and queueLengthLimit 50 for each left 0 (only when the member is
given: a Queue response without it is refused by validation, as in Kubernetes).

As for other kinds with a status, a new level's status starts empty, an update of the
object keeps the stored one and `/status` changes the status only.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.flowcontrol import validate_priority_level_configuration
from proto import flowcontrol_pb2

DEFAULT_NOMINAL_CONCURRENCY_SHARES = 30
DEFAULT_QUEUES = 64
DEFAULT_HAND_SIZE = 8
DEFAULT_QUEUE_LENGTH_LIMIT = 50


def default_priority_level_configuration(pl: flowcontrol_pb2.PriorityLevelConfiguration) -> None:
    """Kubernetes v1's defaults of a level, on the members the client gave."""
    spec = pl.spec
    if spec.HasField("exempt"):
        exempt = spec.exempt
        if not exempt.HasField("nominal_concurrency_shares"):
            exempt.nominal_concurrency_shares = 0
        if not exempt.HasField("lendable_percent"):
            exempt.lendable_percent = 0
    if spec.HasField("limited"):
        limited = spec.limited
        if not limited.HasField("nominal_concurrency_shares"):
            limited.nominal_concurrency_shares = DEFAULT_NOMINAL_CONCURRENCY_SHARES
        if not limited.HasField("lendable_percent"):
            limited.lendable_percent = 0
        response = limited.limit_response
        if response.HasField("queuing"):
            queuing = response.queuing
            queuing.hand_size = queuing.hand_size or DEFAULT_HAND_SIZE
            queuing.queues = queuing.queues or DEFAULT_QUEUES
            queuing.queue_length_limit = queuing.queue_length_limit or DEFAULT_QUEUE_LENGTH_LIMIT


class PriorityLevelConfigurationStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")

    def default(self, obj: Any) -> None:
        default_priority_level_configuration(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        validate_priority_level_configuration(errs, obj)


STRATEGY = PriorityLevelConfigurationStrategy(by_resource("prioritylevelconfigurations"))
