"""
Whether this process is draining: the one flag that the hub, the socket gate and /readyz read.

A stop signal sets it (realtime.server.serve). From then on the process takes no new work: new
sockets are closed with 1012 (CloseCode.SERVICE_RESTART), /readyz answers 503 so the Service
stops routing here, and frames from open sockets are left unread, while the hub commits what it
holds and closes every socket with 1012 (Hub.drain). The simulation gives each of its hubs a
Drain of its own, as its "pods" share one process.
"""

from __future__ import annotations

from realtime import metrics


class Drain:
    """
    A draining flag: set once when shutdown begins; only tests clear it.
    """

    __slots__ = ("draining",)

    def __init__(self) -> None:
        self.draining = False

    def begin(self) -> None:
        self.draining = True
        metrics.DRAINING.set(1)

    def clear(self) -> None:
        self.draining = False
        metrics.DRAINING.set(0)


#: The process's flag, which get_hub()'s hubs read.
PROCESS_DRAIN = Drain()


def is_draining() -> bool:
    """
    True once this process began shutting down.
    """
    return PROCESS_DRAIN.draining
