"""A bare election candidate in its own process, for tests that SIGKILL a leader.

Usage: candidate_process.py ETCD_ENDPOINT COMPONENT IDENTITY TTL
Prints "LEADING <revision>" when it wins; its leader work does nothing.
"""

from __future__ import annotations

import asyncio
import sys

from master.leaderelection.election import Callbacks, ElectionConfig, LeaderElector, Leadership


async def main() -> None:
    endpoint, component, identity, ttl = sys.argv[1:5]
    config = ElectionConfig(component, identity=identity, lease_ttl=float(ttl))

    def started(term: Leadership) -> None:
        print(f"LEADING {term.revision}", flush=True)

    elector = LeaderElector([endpoint], config, callbacks=Callbacks(started_leading=started))

    async def work(term: Leadership) -> None:
        await asyncio.Event().wait()

    await elector.run(work)


if __name__ == "__main__":
    asyncio.run(main())
