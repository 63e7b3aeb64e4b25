import asyncio
import time

from tests.integration.kubelet.loop_watchdog import LoopWatchdog


def test_a_running_loop_blocked_past_the_threshold_is_a_stall_and_an_idle_loop_is_not():
    loop = asyncio.new_event_loop()
    try:
        watchdog = LoopWatchdog(loop, threshold=0.2, interval=0.02)
        watchdog.start()

        async def blocks() -> None:
            time.sleep(0.5)  # noqa: ASYNC251 - the very fault the watchdog is for

        loop.run_until_complete(blocks())
        loop.run_until_complete(asyncio.sleep(0.1))
        assert len(watchdog.stalls) == 1
        assert "blocks" in watchdog.stalls[0].stack
        # The loop not running at all (a synchronous fixture between coroutines) is no stall.
        time.sleep(0.5)
        loop.run_until_complete(asyncio.sleep(0.1))
        watchdog.stop()
        assert len(watchdog.stalls) == 1
    finally:
        loop.close()
