import asyncio

import pytest

from tests.support.leaks import assert_no_leaked_tasks


async def test_a_task_left_running_fails_the_check_and_is_cancelled():
    before = set(asyncio.all_tasks())
    leaked = asyncio.create_task(asyncio.Event().wait(), name="forgotten-watch")
    with pytest.raises(AssertionError, match="forgotten-watch"):
        await assert_no_leaked_tasks(before, grace=0.1)
    await asyncio.sleep(0)
    assert leaked.cancelled()


async def test_tasks_that_finish_within_the_grace_do_not_count():
    before = set(asyncio.all_tasks())
    finishing = asyncio.create_task(asyncio.sleep(0.05))
    await assert_no_leaked_tasks(before, grace=1.0)
    assert finishing.done()
