"""One write of the configuration loop (ensurer.py, status.py), and what its outcome says
about whether the store has settled.

Every API server makes the same writes, so most failures are someone else's success: an
object created, changed or deleted first by another server is a round's news, not an
error, and the watch event that says so brings the next round. A write refused for good
(an admission webhook or policy on these kinds) is logged and left until the next change,
so that one refusal neither stops the other writes nor retries forever. etcd away is the
round's failure: it propagates, and the loop retries the whole round later.
"""

from __future__ import annotations

from collections.abc import Awaitable

import structlog

from client import errors

log = structlog.get_logger("apiserver.flowcontrol")


async def attempt(write: Awaitable[object], key: str, done: str, refused: str) -> int:
    """Await `write` for the object `key`: 1 when it was written or the store was found
    otherwise than this server saw it (not settled yet), 0 when it was refused for good.
    `done` and `refused` are the log lines of each outcome."""
    try:
        await write
    except (errors.AlreadyExists, errors.Conflict, errors.NotFound):
        return 1
    except errors.Unavailable:
        raise
    except errors.ApiError as e:
        log.warning(refused, key=key, error=e.message)
        return 0
    log.info(done, key=key)
    return 1
