"""The locally built stand-ins for the Kubernetes docs' nginx images behave as nginx does
where a cluster can tell: they serve their page on port 80 and stop at SIGTERM."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import pytest
from docker.models.containers import Container

from tests.support.waiting import wait_until

pytestmark = pytest.mark.docker

STAND_INS = ["nginx:1.14.2", "nginx:1.16.1", "nginx:stable"]


@pytest.fixture
def started(request: pytest.FixtureRequest) -> Iterator[Container]:
    client = docker.from_env()
    box = client.containers.run(
        request.param, name=f"tug-stand-in-{uuid.uuid4().hex[:8]}", detach=True
    )
    try:
        yield box
    finally:
        box.remove(force=True)
        client.close()


@pytest.mark.parametrize("started", STAND_INS, indirect=True)
def test_a_stand_in_serves_its_page_and_stops_at_sigterm(started: Container) -> None:
    def page() -> bytes | None:
        got = started.exec_run(["wget", "-q", "-O", "-", "http://127.0.0.1/"])
        return got.output if got.exit_code == 0 and isinstance(got.output, bytes) else None

    assert b"Welcome to nginx!" in wait_until(page, timeout=10, what="the page")
    # Exit 0 is the shell's TERM trap; an image that ignored TERM would be killed (137).
    started.stop(timeout=30)
    started.reload()
    assert started.attrs["State"]["ExitCode"] == 0
