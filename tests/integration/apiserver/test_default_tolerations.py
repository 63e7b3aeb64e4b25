"""`--default-unreachable-toleration` and `--default-not-ready-toleration` reach every new pod."""

from __future__ import annotations

from typing import Any

import pytest

from master.apiserver import defaults
from master.apiserver.main import parse_args
from master.apiserver.server import ApiServer, ApiServerConfig
from proto import core_pb2
from tests.integration.apiserver.helpers import create, pod, stub_for


def _seconds(p: core_pb2.Pod) -> dict[str, int]:
    return {t.key: t.toleration_seconds for t in p.spec.tolerations if t.effect == "NoExecute"}


async def test_a_pod_created_through_a_server_started_with_300_s_tolerates_for_300_s(
    apiserver_factory: Any,
) -> None:
    proc = apiserver_factory.start_process(
        name="tolerations",
        extra_args=[
            "--default-unreachable-toleration",
            "300",
            "--default-not-ready-toleration",
            "120",
        ],
    )
    async with stub_for(proc.endpoint) as stub:
        created = await create(stub, pod("patient"))
    assert _seconds(created) == {
        "node.kubernetes.io/unreachable": 300,
        "node.kubernetes.io/not-ready": 120,
    }


async def test_an_in_process_server_applies_its_tolerations_and_puts_the_old_ones_back(
    etcd_clean: Any,
) -> None:
    before = defaults.DEFAULT_UNREACHABLE_TOLERATION_SECONDS
    server = ApiServer(
        ApiServerConfig(
            etcd_servers=etcd_clean.endpoints, port=0, default_unreachable_toleration=45
        )
    )
    try:
        await server.start()
        async with stub_for(server.endpoint) as stub:
            created = await create(stub, pod("in-process"))
    finally:
        await server.stop(grace=0.1)
    assert _seconds(created)["node.kubernetes.io/unreachable"] == 45
    assert defaults.DEFAULT_UNREACHABLE_TOLERATION_SECONDS == before


def test_the_flags_default_to_two_seconds_and_reject_what_is_not_whole_seconds(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = parse_args([])
    assert (config.default_unreachable_toleration, config.default_not_ready_toleration) == (2, 2)
    with pytest.raises(SystemExit):
        parse_args(["--default-unreachable-toleration", "1.5"])
    assert "--default-unreachable-toleration" in capsys.readouterr().err
