"""An Indexed Job's successPolicy: when the Job has succeeded before every index has.

A rule is met by the succeeded indexes alone: with succeededIndexes only, when every
index it names has succeeded; with succeededCount only, when that many indexes have;
with both, when that many of the named indexes have. The first rule met wins and its
position is in the message, as Kubernetes writes it.
"""

from __future__ import annotations

from client import jobindexes
from proto import workloads_pb2


def matched(policy: workloads_pb2.SuccessPolicy, completions: int, succeeded: set[int]) -> str:
    """The SuccessCriteriaMet message of the first rule met, or "" when none is."""
    for at, rule in enumerate(policy.rules):
        named: set[int] | None = None
        if rule.HasField("succeeded_indexes"):
            try:
                named = jobindexes.parse(rule.succeeded_indexes, completions)
            except jobindexes.IndexesError:
                continue  # validation refuses this; an old object must not stop the Job
        done = len(succeeded if named is None else succeeded & named)
        if rule.HasField("succeeded_count"):
            met = done >= rule.succeeded_count
        else:
            met = named is not None and done == len(named)
        if met:
            return f"Matched rules at index {at}"
    return ""
