"""The fuzz suite's settings and its API server.

`make test` runs a short pass (TUG_FUZZ_PROFILE=ci, the default); `make fuzz` a long one
(TUG_FUZZ_PROFILE=fuzz). The settings are applied per test through FUZZ, not loaded
globally, so the suite's other property tests keep their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import grpc
import pytest
from hypothesis import HealthCheck, settings

from proto import api_pb2, core_pb2, meta_pb2
from tests.support.apiserver import ApiServerProcess
from tests.support.etcd import EtcdCluster

PROFILES = {
    "ci": settings(max_examples=300, deadline=None),
    "fuzz": settings(max_examples=20_000, deadline=None),
}
PROFILE = os.environ.get("TUG_FUZZ_PROFILE", "ci")
FUZZ = settings(
    PROFILES[PROFILE],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
    print_blob=True,
)
NAMESPACE = "fuzz"


@pytest.fixture(scope="module")
def server(etcd: EtcdCluster) -> Iterator[ApiServerProcess]:
    """A `tug-apiserver` process of this module's own, with the namespace `fuzz`; a crash
    shows as UNAVAILABLE on the next call and as a dead process at the end."""
    proc = ApiServerProcess.start(etcd.endpoints, name="fuzz-apiserver")
    try:
        with grpc.insecure_channel(proc.endpoint) as channel:
            ns = core_pb2.Namespace(metadata=meta_pb2.ObjectMeta(name=NAMESPACE))
            request = api_pb2.CreateRequest(resource="namespaces", object=ns.SerializeToString())
            create = channel.unary_unary(
                "/tugboat.v1.Resources/Create",
                request_serializer=api_pb2.CreateRequest.SerializeToString,
                response_deserializer=api_pb2.ObjectResponse.FromString,
            )
            try:
                create(request, timeout=10)
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                    raise
        yield proc
        assert proc.process is not None and proc.process.poll() is None, proc.logs()
    finally:
        proc.stop()
