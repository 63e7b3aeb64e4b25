"""`tug rollout status` messages, as kubectl prints them."""

from __future__ import annotations

import pytest

from cli.commands.rollout import status_message
from cli.errors import CliError
from proto import meta_pb2, workloads_pb2


def deployment(generation: int = 1, observed: int = 1, **status: int) -> workloads_pb2.Deployment:
    d = workloads_pb2.Deployment()
    d.metadata.name = "web"
    d.metadata.generation = generation
    d.spec.replicas = 3
    d.status.observed_generation = observed
    for k, v in status.items():
        setattr(d.status, k, v)
    return d


@pytest.mark.parametrize(
    ("d", "message", "done"),
    [
        (deployment(2, 1), "Waiting for deployment spec update to be observed...", False),
        (
            deployment(updated_replicas=1, replicas=4),
            'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
            "updated...",
            False,
        ),
        (
            deployment(updated_replicas=3, replicas=4),
            'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
            "termination...",
            False,
        ),
        (
            deployment(updated_replicas=3, replicas=3, available_replicas=2),
            'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
            "available...",
            False,
        ),
        (
            deployment(updated_replicas=3, replicas=3, available_replicas=3),
            'deployment "web" successfully rolled out',
            True,
        ),
    ],
)
def test_status_messages(d: workloads_pb2.Deployment, message: str, done: bool) -> None:
    assert status_message(d) == (message, done)


def test_a_missed_deadline_is_an_error() -> None:
    d = deployment()
    d.status.conditions.append(
        meta_pb2.Condition(type="Progressing", status="False", reason="ProgressDeadlineExceeded")
    )
    with pytest.raises(CliError, match="exceeded its progress deadline"):
        status_message(d)
