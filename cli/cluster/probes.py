"""Is it up yet? Readiness checks of local processes over loopback HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl

from client.timeouts import within

_MAX_ANSWER = 16 << 20


async def http_get(
    host: str, port: int, path: str, timeout: float = 1.0, *, tls: bool | ssl.SSLContext = False
) -> tuple[int, bytes]:
    """A minimal HTTP/1.0 GET: (status, body); (0, b"") when nothing answers.

    With `tls`, over HTTPS without checking the certificate: a readiness probe of a
    process this tool started itself, as kubelet's HTTPS probes do. A server that demands
    a client certificate (etcd) is given an ssl context holding one instead."""
    context = tls if isinstance(tls, ssl.SSLContext) else None
    if tls is True:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        reader, writer = await within(asyncio.open_connection(host, port, ssl=context), timeout)
    except (OSError, TimeoutError):
        return 0, b""
    try:
        writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        await writer.drain()
        # The server closes after an HTTP/1.0 answer; its headers and body may come in
        # separate segments, so read to the end (bounded: a status page, not a download).
        raw = await within(reader.read(_MAX_ANSWER), timeout)
        while raw and len(raw) < _MAX_ANSWER:
            more = await within(reader.read(_MAX_ANSWER - len(raw)), timeout)
            if not more:
                break
            raw += more
    except (OSError, TimeoutError):
        return 0, b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    try:
        return int(parts[1]), body
    except (IndexError, ValueError):
        return 0, b""


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on (or holds) host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def accepts(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port succeeds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
        except OSError:
            return False
    return True
