"""FlowSchemas: Kubernetes v1's one default, its checks, and a status only the server writes.

As Kubernetes' registry/flowcontrol/flowschema/strategy.go: a new schema's status starts
empty (its Dangling condition is the API server's word on whether the priority level it
names exists, never the client's), an update of the object keeps the stored status, and
`/status` changes the status only (the generic store's rule for kinds with a status).
The request dispatcher (master/apiserver/flowcontrol/) reads the schemas; nothing here
depends on it.
"""

from __future__ import annotations

from typing import Any

from client.kinds import by_resource
from master.apiserver.strategies.base import Strategy
from master.apiserver.validation.errors import Errors
from master.apiserver.validation.flowcontrol import validate_flow_schema
from proto import flowcontrol_pb2

DEFAULT_MATCHING_PRECEDENCE = 1000
"""FlowSchemaDefaultMatchingPrecedence: between the built-in schemas and catch-all's 10000."""


def default_flow_schema(fs: flowcontrol_pb2.FlowSchema) -> None:
    """SetDefaults_FlowSchemaSpec: an unset (0) matchingPrecedence becomes 1000."""
    if fs.spec.matching_precedence == 0:
        fs.spec.matching_precedence = DEFAULT_MATCHING_PRECEDENCE


class FlowSchemaStrategy(Strategy):
    def prepare_for_create(self, obj: Any) -> None:
        obj.ClearField("status")

    def default(self, obj: Any) -> None:
        default_flow_schema(obj)

    def validate(self, errs: Errors, obj: Any) -> None:
        validate_flow_schema(errs, obj)


STRATEGY = FlowSchemaStrategy(by_resource("flowschemas"))
