"""HTTP check: the status of one GET and where its time went (DNS, TCP connect, TLS, first byte).

Written on asyncio streams rather than an HTTP client library because the phases must be timed
separately, and a client's connection pool would hide them. HTTP/1.1, ``Connection: close``, the
body read up to ``max_body_bytes`` and then dropped. Times are milliseconds.

Failures are statuses named after TR-143's: ``Error_CannotResolveHostName``, ``Error_NoRouteToHost``,
``Error_InitConnectionFailed`` (refused: nothing listens on that port), ``Error_Timeout``,
``Error_NoResponse`` (connected, but no HTTP answer), ``Error_TLS`` and ``Error_Other``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from protocol.samples import HTTPCheckData

from ..result import COMPLETE, ProbeResult
from .ipping import UNREACHABLE_ERRNOS, resolve_ipv4

USER_AGENT = "homediag-agent"


def _ms(start: float, end: float) -> float:
    return round((end - start) * 1000, 3)


async def http_check(url: str, *, timeout_s: float = 10.0, max_body_bytes: int = 1_000_000) -> ProbeResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ProbeResult.error("Error_Other", f"not an http(s) URL: {url}", HTTPCheckData(URL=url))
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    data: dict[str, Any] = {"URL": url}
    t0 = time.monotonic()
    address = await resolve_ipv4(host)
    t_dns = time.monotonic()
    data["DNSResolutionTime"] = _ms(t0, t_dns)
    if address is None:
        return ProbeResult.error(
            "Error_CannotResolveHostName", f"{host} does not resolve", HTTPCheckData(**data)
        )
    data["IPAddressUsed"] = address
    deadline = t0 + timeout_s
    writer: asyncio.StreamWriter | None = None
    try:
        try:
            reader, stream = await asyncio.wait_for(
                asyncio.open_connection(address, port), max(0.0, deadline - time.monotonic())
            )
            writer = stream
        except ConnectionRefusedError:
            return ProbeResult.error(
                "Error_InitConnectionFailed", f"connection refused by {address}:{port}", HTTPCheckData(**data)
            )
        except OSError as exc:
            if exc.errno in UNREACHABLE_ERRNOS:
                return ProbeResult.error(
                    "Error_NoRouteToHost", f"{address}: {exc.strerror}", HTTPCheckData(**data)
                )
            raise
        t_conn = time.monotonic()
        data["TCPConnectTime"] = _ms(t_dns, t_conn)
        t_tls = t_conn
        if parts.scheme == "https":
            context = ssl.create_default_context()
            try:
                await asyncio.wait_for(
                    stream.start_tls(context, server_hostname=host), max(0.0, deadline - time.monotonic())
                )
            except ssl.SSLError as exc:
                return ProbeResult.error(
                    "Error_TLS", f"TLS handshake failed: {exc.reason or exc}", HTTPCheckData(**data)
                )
            t_tls = time.monotonic()
            data["TLSHandshakeTime"] = _ms(t_conn, t_tls)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        host_header = host if parts.port is None else f"{host}:{parts.port}"
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Accept: */*\r\nConnection: close\r\n\r\n"
        )
        stream.write(request.encode("ascii", "replace"))
        await stream.drain()
        status_line = await asyncio.wait_for(reader.readline(), max(0.0, deadline - time.monotonic()))
        t_first = time.monotonic()
        if not status_line:
            return ProbeResult.error(
                "Error_NoResponse", "the server closed without answering", HTTPCheckData(**data)
            )
        data["TimeToFirstByte"] = _ms(t_tls, t_first)
        fields = status_line.decode("latin-1").split(" ", 2)
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            return ProbeResult.error(
                "Error_NoResponse", f"not an HTTP answer: {status_line[:80]!r}", HTTPCheckData(**data)
            )
        data["HTTPStatusCode"] = int(fields[1])
        received = 0
        while received < max_body_bytes:
            chunk = await asyncio.wait_for(reader.read(65536), max(0.0, deadline - time.monotonic()))
            if not chunk:
                break
            received += len(chunk)
        data["BytesReceived"] = received
        data["TotalTime"] = _ms(t0, time.monotonic())
        return ProbeResult.of(HTTPCheckData(**data), COMPLETE)
    except TimeoutError:
        return ProbeResult.error("Error_Timeout", f"no answer within {timeout_s} s", HTTPCheckData(**data))
    except OSError as exc:
        return ProbeResult.error("Error_Other", f"{type(exc).__name__}: {exc}", HTTPCheckData(**data))
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError, ssl.SSLError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
