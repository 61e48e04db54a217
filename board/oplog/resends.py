"""
The resend heuristic: whether the next append should probe for stored ops before inserting.

Resends (the same (client_id, i) again after a reconnect) are rare outside reconnect waves, so
on PostgreSQL an append inserts first and lets the unique key refuse a resend
(board.oplog.append). After a reconnect wave most ticks carry some, and inserting first would
then pay for the insert twice; so once a resend is seen, the next calls probe first, until
PESSIMISTIC_CALLS probes in a row found none.
"""

from __future__ import annotations


class ResendWeather:
    """
    Whether resends are about. Per process, shared by the threads that append without a lock:
    a lost update only costs one probe more or less.
    """

    PESSIMISTIC_CALLS = 50

    def __init__(self) -> None:
        self.probes_left = 0

    def quiet(self) -> bool:
        """
        True when no resend was seen lately: insert first.
        """
        return self.probes_left <= 0

    def probed(self, *, found: bool) -> None:
        """
        Record what a probe (or a refused optimistic insert) found.
        """
        self.probes_left = self.PESSIMISTIC_CALLS if found else self.probes_left - 1


#: This process's weather, read and updated by board.oplog.append.
RESENDS = ResendWeather()
