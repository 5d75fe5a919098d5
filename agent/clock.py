"""The cloud's clock as this agent estimates it, from the signed acks it receives."""

from __future__ import annotations

import time


class CloudClock:
    """The cloud's time as seen from here: local time plus an offset learnt from signed acks.

    The offset is the largest observed in the current connection: a replayed old ack can only
    make it smaller, never larger, so a replay cannot make an expired command look fresh by more
    than it already was. Reset on every reconnect, so a corrected local clock is picked up.
    """

    def __init__(self) -> None:
        self._offset: float | None = None

    def observe(self, cloud_sent: float, local_received: float | None = None) -> None:
        offset = cloud_sent - (time.time() if local_received is None else local_received)
        if self._offset is None or offset > self._offset:
            self._offset = offset

    def reset(self) -> None:
        self._offset = None

    @property
    def offset_s(self) -> float | None:
        return self._offset

    def now(self) -> float:
        return self.at(time.time())

    def at(self, local_time: float) -> float:
        """A moment of the local clock on the cloud's clock."""
        return local_time + (self._offset or 0.0)
