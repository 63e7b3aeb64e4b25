"""TLS material and how each transport takes it: gRPC channel and server credentials,
and ssl contexts for aiohttp.

A client holds the cluster CA (to verify the server) and proves who it is with a client
certificate, a bearer token, or both, as a kubeconfig user does. A token may come from a
file that is read again whenever it changes: the kubelet rewrites a pod's ServiceAccount
token before it expires, and a long-running process in the pod must pick up the new one.

Every daemon takes the same client flags (`add_client_flags`). Without a CA a daemon
speaks plaintext, which the test suites use; `tug up` gives every daemon the cluster CA
and a client certificate unless asked for `--insecure`.
"""

from __future__ import annotations

import argparse
import os
import ssl
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import grpc.aio

__all__ = [
    "ClientCredentials",
    "ServerTls",
    "TlsError",
    "add_client_flags",
    "add_server_flags",
    "certificate_subject",
    "client_credentials",
    "dial",
    "server_tls",
]


class TlsError(ValueError):
    """TLS material that is missing or unreadable; the message names the file."""


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise TlsError(f"{what} {path}: {e.strerror}") from None


class _TokenFile:
    """A bearer token read from a file, re-read when the file's mtime or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._token = ""
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            try:
                st = self.path.stat()
            except OSError:
                return self._token  # keep the last one while the file is being replaced
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp != self._stamp:
                self._token = self.path.read_text().strip()
                self._stamp = stamp
            return self._token


class _BearerPlugin(grpc.AuthMetadataPlugin):
    """Adds `authorization: Bearer <token>` to every call."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def __call__(
        self, context: grpc.AuthMetadataContext, callback: grpc.AuthMetadataPluginCallback
    ) -> None:
        token = self._token()
        callback((("authorization", f"Bearer {token}"),) if token else (), None)


@dataclass(frozen=True)
class ClientCredentials:
    """What a client trusts and who it is: a kubeconfig user and its cluster's CA."""

    ca: bytes
    """PEM of the CA that signed the servers' certificates."""
    cert: bytes | None = None
    """PEM client certificate (the user is its CN, the groups its O)."""
    key: bytes | None = None
    token: str = ""
    token_file: Path | None = None
    """Read again whenever it changes (ServiceAccount tokens are rotated)."""

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise TlsError("a client certificate needs its key, and a key its certificate")
        if self.token and self.token_file:
            raise TlsError("give a token or a token file, not both")

    @classmethod
    def from_files(
        cls,
        ca_file: Path,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        *,
        token: str = "",
        token_file: Path | None = None,
    ) -> ClientCredentials:
        """Credentials read from PEM files; TlsError names a file that cannot be read."""
        if (cert_file is None) != (key_file is None):
            raise TlsError("a client certificate file needs its key file, and the other way round")
        return cls(
            ca=_read(ca_file, "CA file"),
            cert=_read(cert_file, "client certificate") if cert_file else None,
            key=_read(key_file, "client key") if key_file else None,
            token=token,
            token_file=token_file,
        )

    def bearer(self) -> str:
        """The token to send now ("" when there is none)."""
        if self.token_file is not None:
            return _TokenFile(self.token_file).token()
        return self.token

    def channel(self) -> grpc.ChannelCredentials:
        """TLS verifying the server against the CA, presenting the client certificate."""
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert
        )

    def grpc(self) -> grpc.ChannelCredentials:
        """Channel credentials: TLS verifying the server, plus the token on every call."""
        channel = self.channel()
        source: Callable[[], str] | None = None
        if self.token_file is not None:
            source = _TokenFile(self.token_file).token
        elif self.token:
            token = self.token
            source = lambda: token  # noqa: E731
        if source is None:
            return channel
        call = grpc.metadata_call_credentials(_BearerPlugin(source), name="bearer")
        return grpc.composite_channel_credentials(channel, call)

    def ssl_context(self) -> ssl.SSLContext:
        """An ssl context for HTTPS clients (aiohttp, urllib) with the client certificate."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca.decode())
        if self.cert is not None and self.key is not None:
            _load_chain(context, self.cert, self.key)
        return context


def certificate_subject(pem: bytes) -> tuple[str, tuple[str, ...]]:
    """(CN, the Os) of a PEM certificate: Kubernetes' user and groups ("" : no CN)."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    subject = x509.load_pem_x509_certificate(pem).subject
    names = [str(a.value) for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    groups = tuple(str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return (names[0] if names else ""), groups


def dial(address: str, tls: ClientCredentials | None, **kwargs: Any) -> grpc.aio.Channel:
    """A gRPC channel to `address`: TLS with `tls`'s CA and certificate, else plaintext."""
    if tls is None:
        return grpc.aio.insecure_channel(address, **kwargs)
    return grpc.aio.secure_channel(address, tls.channel(), **kwargs)


SERVER_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:@SECLEVEL=0"


def _load_chain(context: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """ssl only loads certificates from files: write them to a private temporary folder."""
    with tempfile.TemporaryDirectory(prefix="tugboat-tls-") as folder:
        cert_path, key_path = Path(folder, "tls.crt"), Path(folder, "tls.key")
        cert_path.write_bytes(cert)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        context.load_cert_chain(cert_path, key_path)


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate and key, and the CA its clients' certificates must chain to."""

    cert: bytes
    key: bytes
    client_ca: bytes | None = None
    """Client certificates are verified against this CA (None: none are asked for)."""

    @classmethod
    def from_files(
        cls, cert_file: Path, key_file: Path, client_ca_file: Path | None = None
    ) -> ServerTls:
        return cls(
            cert=_read(cert_file, "TLS certificate"),
            key=_read(key_file, "TLS key"),
            client_ca=_read(client_ca_file, "client CA file") if client_ca_file else None,
        )

    def grpc(self, *, require_client_cert: bool = False) -> grpc.ServerCredentials:
        """gRPC server credentials; client certificates are verified when sent, and
        demanded with `require_client_cert` (tokens need none)."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)],
            root_certificates=self.client_ca,
            require_client_auth=require_client_cert,
        )

    def ssl_context(self, *, require_client_cert: bool = False) -> ssl.SSLContext:
        """An ssl context for aiohttp: client certificates optional unless required."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        # Only forward-secret AEAD suites, but handshake signatures with SHA-1 accepted for
        # TLS 1.2 clients that offer nothing else (busybox's wget in a pod), as Go's
        # crypto/tls, and so kube-apiserver, accepts them; OpenSSL's default security
        # level refuses those clients outright. TLS 1.3 is unaffected.
        context.set_ciphers(SERVER_CIPHERS)
        _load_chain(context, self.cert, self.key)
        if self.client_ca is not None:
            context.load_verify_locations(cadata=self.client_ca.decode())
            context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
        return context


def add_client_flags(p: argparse.ArgumentParser) -> None:
    """How a daemon trusts the API servers and proves who it is (kubectl's flag names).

    The daemons' `--token-file` stays their own flag: a token needs TLS no more than a
    certificate does, and the two may be combined."""
    g = p.add_argument_group("API server TLS")
    g.add_argument(
        "--certificate-authority",
        type=Path,
        default=None,
        help="PEM file of the CA the API servers' certificates chain to; "
        "without it the API servers are spoken to in plaintext (tests only)",
    )
    g.add_argument(
        "--client-certificate",
        type=Path,
        default=None,
        help="PEM client certificate: the user is its CN, the groups its O",
    )
    g.add_argument("--client-key", type=Path, default=None, help="its private key")


def client_credentials(p: argparse.ArgumentParser, a: Any) -> ClientCredentials | None:
    """The TLS material the flags name (None without --certificate-authority: plaintext);
    exits with a message naming the flag when it is incomplete or unreadable."""
    if (a.client_certificate is None) != (a.client_key is None):
        p.error("--client-certificate and --client-key: give both or neither")
    if a.certificate_authority is None:
        if a.client_certificate is not None:
            p.error("--client-certificate: needs --certificate-authority (TLS)")
        return None
    try:
        return ClientCredentials.from_files(
            a.certificate_authority, a.client_certificate, a.client_key
        )
    except TlsError as e:
        p.error(str(e))
    raise AssertionError("unreachable")


def add_server_flags(p: argparse.ArgumentParser, *, client_ca: bool = True) -> None:
    """A server's own certificate (kube-apiserver's flag names)."""
    g = p.add_argument_group("serving certificate")
    g.add_argument("--tls-cert-file", type=Path, default=None, help="PEM serving certificate")
    g.add_argument("--tls-private-key-file", type=Path, default=None, help="its private key")
    if client_ca:
        g.add_argument(
            "--client-ca-file",
            type=Path,
            default=None,
            help="CA that clients' certificates must chain to",
        )


def server_tls(p: argparse.ArgumentParser, a: Any) -> ServerTls | None:
    """The serving material the flags name (None without --tls-cert-file: plaintext);
    exits naming the flag when it is incomplete or unreadable."""
    if (a.tls_cert_file is None) != (a.tls_private_key_file is None):
        p.error("--tls-cert-file and --tls-private-key-file: give both or neither")
    client_ca = getattr(a, "client_ca_file", None)
    if a.tls_cert_file is None:
        if client_ca is not None:
            p.error("--client-ca-file: needs --tls-cert-file (TLS)")
        return None
    try:
        return ServerTls.from_files(a.tls_cert_file, a.tls_private_key_file, client_ca)
    except TlsError as e:
        p.error(str(e))
    raise AssertionError("unreachable")
