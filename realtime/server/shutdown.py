"""
The two steps of a graceful stop: drain the hub (commit, ack, close every socket with 1012) within
the budget, then close it; and the watchdog that ends a process whose stop overruns.

The hub is imported where it is used: its modules need Django's settings, which the entry point
(realtime.server.serve.main) configures after this module is imported.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

#: Part of the drain budget kept for stopping Hypercorn, closing the hub (its threads' database
#: connections) and interpreter exit, measured at ~0.4 s (seconds).
EXIT_RESERVE_SECS = 1.0
#: Shortest time given to the hub's drain, however small INKROOM_DRAIN_SECS is (seconds).
MIN_DRAIN_SECS = 0.3


async def close_hub() -> None:
    """
    Stop the hub's tasks, leave the layer group and release its database connections.
    """
    from realtime.engine.hub import get_hub

    try:
        await asyncio.wait_for(get_hub().close(), EXIT_RESERVE_SECS / 2)
    except TimeoutError:
        logger.warning("closing the hub took over %s s; exiting anyway", EXIT_RESERVE_SECS / 2)
    except Exception:
        logger.exception("closing the hub failed")


async def drain_hub(timeout_secs: float) -> None:
    """
    Ask the hub to flush pending ops and close every socket with 1012, within `timeout_secs`.
    """
    from realtime.engine.hub import get_hub

    started = time.monotonic()
    try:
        await asyncio.wait_for(get_hub().drain(), timeout_secs)
    except TimeoutError:
        logger.error("hub drain overran %s s; remaining sockets will be cut", timeout_secs)
    except Exception:
        logger.exception("hub drain failed; remaining sockets will be cut")
    else:
        logger.info("hub drained in %.3f s", time.monotonic() - started)


def start_watchdog(limit_secs: float) -> None:
    """
    End the process (exit 1) in `limit_secs` unless it ended before: an overloaded loop can
    starve the shutdown path.
    """

    def expire() -> None:
        logger.error("shutdown overran %s s; exiting now", limit_secs)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(limit_secs, expire)
    timer.daemon = True
    timer.start()
