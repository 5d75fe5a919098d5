"""Speed-test endpoints for the agents' TR-143 DownloadDiagnostics and UploadDiagnostics.

Unauthenticated but bounded, like an ISP's TR-143 test server: agents speak MQTT, not HTTP with
credentials, and a token in a URL would leak into logs. What an anonymous caller can cost is
capped instead: ``MAX_DURATION_S`` and ``MAX_BYTES`` per request and ``MAX_STREAMS`` concurrent
streams per process (beyond that: 503 with ``Retry-After``). Neither direction buffers: the download
sends one shared, pre-made chunk at the pace the socket drains (uvicorn applies flow control to
``send``); the upload counts what arrives and keeps nothing.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.types import Receive, Scope, Send

from ...const import (
    SPEEDTEST_CHUNK_BYTES,
    SPEEDTEST_MAX_BYTES,
    SPEEDTEST_MAX_DURATION_S,
    SPEEDTEST_MAX_STREAMS,
)

router = APIRouter(prefix="/speedtest", tags=["speedtest"])

#: Random rather than zeros, so that no compressing middlebox flatters the line.
_CHUNK = os.urandom(SPEEDTEST_CHUNK_BYTES)


class _Streams:
    active = 0


def _acquire() -> None:
    if _Streams.active >= SPEEDTEST_MAX_STREAMS:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Too many speed tests are running at once; try again in a few seconds.",
            headers={"Retry-After": "5"},
        )
    _Streams.active += 1


def _release() -> None:
    _Streams.active = max(0, _Streams.active - 1)


class UploadCounted(BaseModel):
    bytes: int
    seconds: float


#: Beyond a test's own duration, how long a slow or silent client may hold its slot.
GRACE_S = 5.0


class _RandomStream(Response):
    """Streams ``nbytes`` or for ``duration_s``, stopping the moment the client goes away.

    Raw ASGI rather than ``StreamingResponse``: uvicorn's ``send`` returns silently once the client
    has gone, so a generator would go on producing into a closed socket until its limit; here a
    watcher reads ``http.disconnect`` and ends the loop.
    """

    def __init__(self, nbytes: int, duration_s: float) -> None:
        super().__init__()
        # No Content-Length: the stream may end early (duration), so the body is chunked.
        self.raw_headers = [(b"content-type", b"application/octet-stream"), (b"cache-control", b"no-store")]
        self.nbytes = nbytes
        self.duration_s = duration_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        try:
            # A client that stops reading blocks send() (flow control): the deadline covers it too.
            async with asyncio.timeout(self.duration_s + GRACE_S):
                await self._stream(send, gone)
        except TimeoutError:
            pass  # the slot is freed; the client gets a truncated chunked body
        finally:
            watcher.cancel()
            _release()

    async def _stream(self, send: Send, gone: asyncio.Event) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sent = 0
        end = time.monotonic() + self.duration_s
        while sent < self.nbytes and not gone.is_set() and time.monotonic() < end:
            n = min(len(_CHUNK), self.nbytes - sent)
            body = _CHUNK if n == len(_CHUNK) else _CHUNK[:n]
            await send({"type": "http.response.body", "body": body, "more_body": True})
            sent += n
            await asyncio.sleep(0)  # let the watcher run even when send never waits
        if not gone.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})


@router.get("/download")
async def download(
    nbytes: Annotated[int, Query(alias="bytes", ge=1, le=SPEEDTEST_MAX_BYTES)] = SPEEDTEST_MAX_BYTES,
    duration_s: Annotated[float, Query(gt=0, le=SPEEDTEST_MAX_DURATION_S)] = SPEEDTEST_MAX_DURATION_S,
) -> Response:
    """Random bytes until ``bytes`` are sent or ``duration_s`` has passed, whichever comes first."""
    _acquire()
    return _RandomStream(nbytes, duration_s)


@router.post("/upload")
async def upload(request: Request) -> UploadCounted:
    """Count the body's bytes, keep none; the time is from the first byte to the last."""
    _acquire()
    try:
        received = 0
        first = last = None
        try:
            # An uploader that sends nothing must not hold its slot: the deadline covers the waits.
            async with asyncio.timeout(SPEEDTEST_MAX_DURATION_S + GRACE_S):
                async for chunk in request.stream():
                    now = time.monotonic()
                    if first is None:
                        first = now
                    last = now
                    received += len(chunk)
                    if received > SPEEDTEST_MAX_BYTES:
                        raise HTTPException(
                            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                            detail="The upload test sent more data than one test may; run the test again.",
                        )
        except TimeoutError:
            raise HTTPException(
                status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                detail="The upload test took longer than one test may; run the test again.",
            ) from None
        return UploadCounted(bytes=received, seconds=round((last or 0.0) - (first or 0.0), 6))
    finally:
        _release()
