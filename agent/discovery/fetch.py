"""Blocking HTTP exchanges with devices (UPnP descriptions, IPP), bounded in time as well as size.

A device sets the pace of its answer: ``http.client``'s timeout is per ``recv``, so one byte every
2.9 s keeps a 3 s timeout from ever firing and a read going for days. Each exchange here has one
monotonic deadline: the body is read in chunks with the socket's timeout cut to what is left, and
when the loop gives up (``asyncio.wait_for``) it shuts the socket down, which ends a ``recv`` still
waiting in the worker thread (headers included). The exchanges run in a small executor of their
own, so slow devices never take the loop's default executor (DNS, sqlite) from the rest of the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK_BYTES = 16 * 1024


class Exchange:
    """One exchange's deadline and connection: the worker reads by it, the loop can cut it."""

    def __init__(self, budget_s: float) -> None:
        self.deadline = time.monotonic() + budget_s
        self.conn: http.client.HTTPConnection | None = None
        self.aborted = False
        self._responses: list[http.client.HTTPResponse] = []

    def attach(self, conn: http.client.HTTPConnection) -> None:
        """Read through ``conn``; its responses are kept so that :meth:`close` closes them too."""
        self.conn = conn
        make = conn.response_class

        def response(*args: Any, **kwargs: Any) -> http.client.HTTPResponse:
            answer: http.client.HTTPResponse = make(*args, **kwargs)
            self._responses.append(answer)
            return answer

        conn.response_class = response  # type: ignore[assignment]

    def close(self) -> None:
        """Close the connection and every response, also one whose headers never finished."""
        for answer in self._responses:
            answer.close()
        if self.conn is not None:
            self.conn.close()

    def left(self) -> float:
        """Seconds left; TimeoutError once the deadline has passed or the loop gave up."""
        left = self.deadline - time.monotonic()
        if left <= 0 or self.aborted:
            raise TimeoutError("the device did not finish its answer in time")
        return left

    def pace(self) -> None:
        """Cut the socket's per-recv timeout to what is left of the whole exchange."""
        left = self.left()
        sock = self.conn.sock if self.conn is not None else None
        if isinstance(sock, socket.socket):
            sock.settimeout(left)

    def abort(self) -> None:
        """From the loop: end a recv the worker may still be blocked in."""
        self.aborted = True
        sock = self.conn.sock if self.conn is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def read_bounded(response: http.client.HTTPResponse, limit: int, exchange: Exchange) -> bytes:
    """The body, at most ``limit + 1`` bytes (so that the caller sees it was too long), by the deadline."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        exchange.pace()
        chunk = response.read1(min(CHUNK_BYTES, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class FetchPool:
    """A small executor of its own for exchanges with devices; ``close()`` when done."""

    def __init__(self, workers: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="discovery-fetch")

    async def run(self, fn: Callable[[Exchange], T], budget_s: float) -> T:
        """``fn(exchange)`` in the pool; TimeoutError (and the socket cut) past ``budget_s``."""
        exchange = Exchange(budget_s)
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn, exchange)
        try:
            # A little over the budget: the worker's own deadline should end it first, with its reason.
            return await asyncio.wait_for(future, budget_s + 0.5)
        except BaseException:
            exchange.abort()
            raise

    def close(self) -> None:
        # Not waiting: a worker still in a recv ends at once, its socket being shut down.
        self._executor.shutdown(wait=False, cancel_futures=True)
