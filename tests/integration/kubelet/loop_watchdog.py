"""A watchdog that notices a blocked event loop and remembers where it was blocked.

A thread pings the loop with `call_soon_threadsafe`; when the ping is not answered
within the threshold, the loop thread's stack is captured right then, so a test that
blocked the loop (a synchronous Docker call, a join on a thread) fails naming the line.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback
from dataclasses import dataclass


@dataclass(frozen=True)
class Stall:
    """One time the loop did not answer within the threshold."""

    seconds: float
    stack: str


class LoopWatchdog:
    """Pings `loop` every `interval` s from a thread; records stalls longer than `threshold`."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, threshold: float = 0.5, interval: float = 0.1
    ) -> None:
        self.loop = loop
        self.threshold = threshold
        self.interval = interval
        self.stalls: list[Stall] = []
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)

    def start(self) -> None:
        """Start watching; call from the loop's own thread."""
        self._loop_thread = threading.get_ident()
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (bounded: the watcher waits at most one threshold at a time)."""
        self._stop.set()
        self._thread.join(timeout=5 * self.threshold + 1)

    def _watch(self) -> None:
        while not self._stop.is_set():
            answered = threading.Event()
            started = time.monotonic()
            try:
                self.loop.call_soon_threadsafe(answered.set)
            except RuntimeError:
                return  # the loop is closed
            if not answered.wait(self.threshold) and self.loop.is_running():
                # Only a running loop can be blocked: between a test's coroutines (a
                # synchronous fixture's teardown) the loop is not running at all.
                frame = sys._current_frames().get(self._loop_thread)
                stack = "".join(traceback.format_stack(frame)) if frame else "(no frame)"
                # Wait for the loop to come back (or for stop) to measure the stall.
                while not answered.wait(self.threshold) and not self._stop.is_set():
                    pass
                self.stalls.append(Stall(time.monotonic() - started, stack))
            self._stop.wait(self.interval)

    def report(self) -> str:
        """Every stall with the loop thread's stack at the moment it was noticed."""
        return "\n".join(
            f"the event loop was blocked for {s.seconds:.2f} s at:\n{s.stack}" for s in self.stalls
        )
