"""bench.proxy's TIME_WAIT count reads the namespace a phase connects from: a fresh
network namespace, three loopback connections closed client-first, three sockets."""

from __future__ import annotations

import importlib
import secrets
import subprocess
import sys
from typing import Any

from tests.support.waiting import wait_until

# Imported by name, as in test_run.py: mypy sees bench/ as top-level scripts.
timewait: Any = importlib.import_module("bench.proxy.timewait")

CLOSE_CLIENT_FIRST = """
import socket
server = socket.create_server(("127.0.0.1", 0))
for _ in range(3):
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    client.close()
    assert accepted.recv(1) == b""
    accepted.close()
"""


def test_time_waits_counts_the_sockets_in_time_wait_of_the_namespace_it_enters() -> None:
    ns = f"tugboat-tw-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
    try:
        prefix = ("ip", "netns", "exec", ns)
        subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], check=True, timeout=30)
        assert timewait.time_waits(prefix) == 0
        subprocess.run([*prefix, sys.executable, "-c", CLOSE_CLIENT_FIRST], check=True, timeout=30)
        wait_until(lambda: timewait.time_waits(prefix) == 3, what="three sockets in TIME_WAIT")
    finally:
        subprocess.run(["ip", "netns", "delete", ns], check=True, timeout=30)


def test_settle_waits_for_every_namespace_it_is_given_and_says_what_is_left() -> None:
    names = [f"tugboat-tw-{secrets.token_hex(3)}" for _ in range(2)]
    prefixes = [("ip", "netns", "exec", ns) for ns in names]
    try:
        for ns, prefix in zip(names, prefixes, strict=True):
            subprocess.run(["ip", "netns", "add", ns], check=True, timeout=30)
            subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], check=True, timeout=30)
        quiet, busy = prefixes
        subprocess.run([*busy, sys.executable, "-c", CLOSE_CLIENT_FIRST], check=True, timeout=30)
        wait_until(lambda: timewait.time_waits(busy) == 3, what="three sockets in TIME_WAIT")
        assert timewait.settle(quiet, most=2, limit=5) == 0
        # TIME_WAIT lasts a minute: the busy namespace is still busy when the wait gives up.
        assert timewait.settle(quiet, busy, most=2, limit=1) == 3
    finally:
        for ns in names:
            subprocess.run(["ip", "netns", "delete", ns], check=False, timeout=30)
