"""
The process's own tuning, done once at start: the garbage collector and the open-files limit.
"""

from __future__ import annotations

import gc
import logging
import resource

logger = logging.getLogger(__name__)

#: gc.set_threshold: young collections every 10,000 net allocations instead of 700; the middle
#: and old generations are examined every 50 collections of the one below (not 10) — see
#: tune_garbage_collector().
GC_THRESHOLDS = (10_000, 50, 50)


def tune_garbage_collector() -> None:
    """
    Keep the cyclic garbage collector's pauses off the hot path (call once, after imports).

    Its full passes walk every tracked object and stall the loop meanwhile, and with Python's
    default thresholds they set a busy process's tail latency (docs/performance.md, "Garbage
    collector"). Django, the app and its imports live as long as the process, so they are frozen
    out of the collector's reach; the higher first threshold lets a tick's short-lived objects
    (decoded ops, frames) die before a collection, so far fewer survive into the older
    generations and trigger full passes.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def raise_open_files_limit() -> int:
    """
    Raise RLIMIT_NOFILE's soft limit to the hard limit and return the new soft limit.

    Each socket is a file descriptor; the usual soft default of 1024 would cap a pod near 1000
    clients. Containers usually get a hard limit of 1048576; the pod needs >= 10,000.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as error:
            logger.warning("could not raise the open-files limit to %s: %s", target, error)
    logger.info("open-files limit (RLIMIT_NOFILE) is %s (hard %s)", soft, hard)
    return soft
