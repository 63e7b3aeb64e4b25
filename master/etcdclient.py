"""An etcd client over TLS, or plaintext for tests: what the API servers and the elected
daemons dial etcd with.

aetcd, the etcd client we use, dials only plaintext: its `connect` makes an insecure
channel and the stubs on it. `TlsClient` makes the same stubs on a TLS channel that shows
the caller's client certificate and checks etcd's against the cluster CA (kube-apiserver's
--etcd-cafile, --etcd-certfile, --etcd-keyfile). Everything after connecting is aetcd's.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

import aetcd
import aetcd.rpc
import aetcd.watcher
import grpc.aio

from client.timeouts import within
from client.tls import ClientCredentials, TlsError

__all__ = ["TlsClient", "add_etcd_tls_flags", "etcd_client", "etcd_tls"]


class TlsClient(aetcd.Client):  # type: ignore[misc]
    """aetcd's client on a TLS channel."""

    # aetcd's own attributes, which it leaves unannotated.
    _is_connecting: bool
    _connected: asyncio.Event
    _connect_wait_timeout: float

    def __init__(self, *, tls: ClientCredentials, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tls = tls

    async def connect(self) -> None:
        if self._connected.is_set():
            return
        if self._is_connecting:
            # Another task is dialling: wait for it, as aetcd does.
            await within(self._connected.wait(), self._connect_wait_timeout)
            return
        self._is_connecting = True
        try:
            self.channel = grpc.aio.secure_channel(
                f"{self._host}:{self._port}",
                self._tls.channel(),
                options=list(self._options.items()),
            )
            self.kvstub = aetcd.rpc.KVStub(self.channel)
            self.clusterstub = aetcd.rpc.ClusterStub(self.channel)
            self.leasestub = aetcd.rpc.LeaseStub(self.channel)
            self.maintenancestub = aetcd.rpc.MaintenanceStub(self.channel)
            self._watcher = aetcd.watcher.Watcher(
                aetcd.rpc.WatchStub(self.channel), timeout=self._timeout, metadata=self.metadata
            )
            self._connected.set()
        finally:
            self._is_connecting = False


def etcd_client(endpoint: str, tls: ClientCredentials | None, **kwargs: Any) -> aetcd.Client:
    """A client of the etcd member at `endpoint` (host:port): TLS with `tls`."""
    host, _, port = endpoint.rpartition(":")
    if tls is None:
        return aetcd.Client(host=host, port=int(port), **kwargs)
    return TlsClient(tls=tls, host=host, port=int(port), **kwargs)


def add_etcd_tls_flags(p: argparse.ArgumentParser) -> None:
    """kube-apiserver's names for how to reach etcd over TLS."""
    p.add_argument(
        "--etcd-cafile",
        type=Path,
        default=None,
        help="CA of etcd's serving certificates: etcd is dialled over TLS "
        "(default: plaintext, for tests)",
    )
    p.add_argument(
        "--etcd-certfile", type=Path, default=None, help="PEM client certificate shown to etcd"
    )
    p.add_argument("--etcd-keyfile", type=Path, default=None, help="its private key")  # fmt: skip


def etcd_tls(p: argparse.ArgumentParser, a: Any) -> ClientCredentials | None:
    """The etcd TLS material the flags name; exits naming the flag when it is incomplete."""
    if (a.etcd_certfile is None) != (a.etcd_keyfile is None):
        p.error("--etcd-certfile and --etcd-keyfile: give both or neither")
    if a.etcd_cafile is None:
        if a.etcd_certfile is not None:
            p.error("--etcd-certfile: needs --etcd-cafile (TLS)")
        return None
    try:
        return ClientCredentials.from_files(a.etcd_cafile, a.etcd_certfile, a.etcd_keyfile)
    except TlsError as e:
        p.error(f"etcd TLS: {e}")
    raise AssertionError("unreachable")
