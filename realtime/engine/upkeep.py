"""
The hub's upkeep, every HOUSEKEEPING_SECS: what no frame or tick would otherwise do.

It flushes the frame counters of a quiet second, expires other hubs' presence and re-announces
ours, closes sockets that stopped reading, checks again the role of sockets whose share link
expired, forgets idle rooms, compares live boards' heads with
the log every HEAD_CHECK_SECS, reloads inexact states and renews the hub's group membership.
"""

from __future__ import annotations

import asyncio
import logging
import time

from realtime.cluster.pods import GROUP_RENEW_SECS, Pods
from realtime.engine.ports import HubPort
from realtime.engine.repair import Repair

logger = logging.getLogger(__name__)

#: Upkeep cadence: presence expiry, stalled sockets, idle rooms, inexact-state reloads.
HOUSEKEEPING_SECS = 1.0
#: How often live boards' heads are compared with what was delivered (one query for all).
HEAD_CHECK_SECS = 2.0


class Upkeep:
    """
    The upkeep loop of one hub.
    """

    def __init__(self, hub: HubPort, pods: Pods, repair: Repair) -> None:
        self.hub = hub
        self.pods = pods
        self.repair = repair

    async def run(self) -> None:
        hub = self.hub
        last_heads = last_group = hub.clock()
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECS)
            now = hub.clock()
            try:
                hub.counts.flush()  # frames that arrived without causing a tick
                self.pods.presence_upkeep(now)
                hub.close_stalled(now)
                await self.pods.recheck_expired_shares(time.time())
                hub.forget_idle_rooms(now)
                if now - last_heads >= HEAD_CHECK_SECS:
                    last_heads = now
                    await self.repair.check_heads()
                self.repair.refresh_inexact(now)
                if now - last_group >= GROUP_RENEW_SECS and hub.channel is not None:
                    last_group = now
                    await self.pods.renew_group()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("hub housekeeping failed; carrying on")
