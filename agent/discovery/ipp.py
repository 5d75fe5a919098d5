"""IPP Get-Printer-Attributes (RFC 8011 §4.2.5) over a compact, bounded RFC 8010 codec.

Why not a client library: pyipp, the maintained Python IPP client, is built on aiohttp (about 10 MB
of resident imports for one request a minute) and decodes whatever the printer sends without size
bounds. The subset we need is small: one request with operation attributes, and a response decoder
for attribute groups. This one refuses responses over ``MAX_IPP_RESPONSE_BYTES``, keeps at most
``MAX_IPP_ATTRIBUTES`` attributes of ``MAX_IPP_VALUES`` values each, truncates strings and skips
collections (RFC 8010 §3.1.6) it does not need. It runs over ``http.client`` in an executor.
"""

from __future__ import annotations

import functools
import http.client
import itertools
import ssl
import struct
import urllib.parse
from typing import Any

from ..errors import AgentError
from .const import IPP_TIMEOUT_S, MAX_IPP_ATTRIBUTES, MAX_IPP_RESPONSE_BYTES, MAX_IPP_STRING, MAX_IPP_VALUES
from .fetch import Exchange, FetchPool, read_bounded
from .sanitize import Counters, clean_text

GET_PRINTER_ATTRIBUTES = 0x000B
# Delimiter tags (RFC 8010 §3.5.1).
OPERATION_GROUP, END_OF_ATTRIBUTES = 0x01, 0x03
# Value tags (RFC 8010 §3.5.2).
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
BEG_COLLECTION, END_COLLECTION, MEMBER_NAME = 0x34, 0x37, 0x4A
TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE = 0x35, 0x36
TEXT, NAME, KEYWORD, URI, CHARSET, LANGUAGE, MIME = 0x41, 0x42, 0x44, 0x45, 0x47, 0x48, 0x49

PRINTER_STATES = {3: "idle", 4: "processing", 5: "stopped"}
REQUESTED = (
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-make-and-model",
    "printer-name",
    "printer-info",
    "printer-location",
    "printer-uuid",
    "printer-more-info",
    "printer-uri-supported",
    "document-format-supported",
    "color-supported",
    "sides-supported",
    "marker-names",
    "marker-levels",
    "marker-colors",
    "marker-types",
    "printer-firmware-string-version",
)
_request_ids = itertools.count(1)


class IppError(AgentError):
    """The printer could not be asked or its answer could not be read; ``status`` says which (TR-181)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _attribute(tag: int, name: str, value: bytes) -> bytes:
    encoded = name.encode()
    return struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value


def encode_request(uri: str, request_id: int | None = None) -> bytes:
    """A Get-Printer-Attributes request asking for ``REQUESTED`` (IPP/2.0)."""
    rid = next(_request_ids) if request_id is None else request_id
    body = struct.pack(">BBHI", 2, 0, GET_PRINTER_ATTRIBUTES, rid) + bytes([OPERATION_GROUP])
    body += _attribute(CHARSET, "attributes-charset", b"utf-8")
    body += _attribute(LANGUAGE, "attributes-natural-language", b"en")
    body += _attribute(URI, "printer-uri", uri.encode())
    body += _attribute(NAME, "requesting-user-name", b"homediag")
    for i, name in enumerate(REQUESTED):
        body += _attribute(KEYWORD, "requested-attributes" if i == 0 else "", name.encode())
    return body + bytes([END_OF_ATTRIBUTES])


def _value(tag: int, raw: bytes, counters: Counters) -> Any:
    if tag in (INTEGER, ENUM) and len(raw) == 4:
        return struct.unpack(">i", raw)[0]
    if tag == BOOLEAN and len(raw) == 1:
        return raw != b"\x00"
    if tag in (TEXT_WITH_LANGUAGE, NAME_WITH_LANGUAGE) and len(raw) >= 4:
        (lang_len,) = struct.unpack(">H", raw[:2])
        rest = raw[2 + lang_len :]
        if len(rest) >= 2:
            (text_len,) = struct.unpack(">H", rest[:2])
            return clean_text(rest[2 : 2 + text_len], MAX_IPP_STRING, counters, "ipp")
        return ""
    if 0x40 <= tag <= 0x5F:
        return clean_text(raw, MAX_IPP_STRING, counters, "ipp")
    return None  # octetString, dateTime, resolution, range, out-of-band: not needed here


def decode_response(data: bytes, counters: Counters | None = None) -> tuple[int, dict[str, list[Any]]]:
    """(status-code, attributes of the printer group); raises IppError on a malformed message."""
    counters = counters if counters is not None else Counters()
    if len(data) > MAX_IPP_RESPONSE_BYTES:
        raise IppError("Error_ResponseTooLarge", f"IPP response over {MAX_IPP_RESPONSE_BYTES} bytes")
    if len(data) < 9:
        raise IppError("Error_Malformed", "IPP response shorter than its header")
    _major, _minor, status_code, _rid = struct.unpack(">BBHI", data[:8])
    attributes: dict[str, list[Any]] = {}
    pos, last, depth, count = 8, "", 0, 0
    try:
        while pos < len(data):
            tag = data[pos]
            pos += 1
            if tag == END_OF_ATTRIBUTES:
                break
            if tag < 0x10:  # a group delimiter
                continue
            (name_len,) = struct.unpack_from(">H", data, pos)
            name = data[pos + 2 : pos + 2 + name_len].decode("ascii", "replace")
            pos += 2 + name_len
            (value_len,) = struct.unpack_from(">H", data, pos)
            raw = data[pos + 2 : pos + 2 + value_len]
            if len(raw) != value_len:
                raise IppError("Error_Malformed", "IPP attribute runs past the end of the response")
            pos += 2 + value_len
            if tag == BEG_COLLECTION:
                depth += 1
                if name_len:
                    last = name
                continue
            if tag == END_COLLECTION:
                depth = max(0, depth - 1)
                continue
            if depth or tag == MEMBER_NAME:
                continue
            if name_len:
                last = clean_text(name, 64, counters, "ipp_name")
                count += 1
                if count > MAX_IPP_ATTRIBUTES:
                    counters["ipp_attributes_dropped"] += 1
                    break
            values = attributes.setdefault(last, [])
            if len(values) >= MAX_IPP_VALUES:
                counters["ipp_values_dropped"] += 1
                continue
            value = _value(tag, raw, counters)
            if value is not None:
                values.append(value)
    except struct.error as exc:
        raise IppError("Error_Malformed", "IPP response truncated") from exc
    return status_code, attributes


def summarise(attributes: dict[str, list[Any]], uri: str) -> dict[str, Any]:
    """The attributes a technician needs, under stable names."""

    def one(name: str) -> Any:
        values = attributes.get(name) or [None]
        return values[0]

    def many(name: str) -> list[Any]:
        return list(attributes.get(name, []))

    state = one("printer-state")
    names, levels = many("marker-names"), many("marker-levels")
    colors, types = many("marker-colors"), many("marker-types")
    markers = [
        {
            "name": str(n),
            "level": levels[i] if i < len(levels) and isinstance(levels[i], int) else None,
            "color": str(colors[i]) if i < len(colors) else "",
            "type": str(types[i]) if i < len(types) else "",
        }
        for i, n in enumerate(names)
    ]
    more_info = one("printer-more-info") or ""
    return {
        "status": "Complete",
        "uri": uri,
        "state": PRINTER_STATES.get(state, "unknown") if isinstance(state, int) else "unknown",
        "state_reasons": [str(r) for r in many("printer-state-reasons")],
        "state_message": one("printer-state-message") or "",
        "make_and_model": one("printer-make-and-model") or "",
        "name": one("printer-name") or "",
        "info": one("printer-info") or "",
        "location": one("printer-location") or "",
        "uuid": str(one("printer-uuid") or "").removeprefix("urn:uuid:"),
        "document_formats": [str(f) for f in many("document-format-supported")],
        "color": bool(one("color-supported")),
        "duplex": any(str(s).startswith("two-sided") for s in many("sides-supported")),
        "markers": markers,
        "uris": [str(u) for u in many("printer-uri-supported")],
        "admin_url": str(more_info),
        "firmware": str(one("printer-firmware-string-version") or ""),
    }


def _post(uri: str, body: bytes, timeout_s: float, address: str | None, exchange: Exchange) -> bytes:
    """POST ``body`` to ``uri``'s printer, at ``address`` when given (the one already vetted)."""
    parts = urllib.parse.urlsplit(uri)
    secure = parts.scheme == "ipps"
    try:
        host, port = parts.hostname or "", parts.port or 631
    except ValueError as exc:
        raise IppError("Error_InvalidURI", f"bad port in {uri!r}") from exc
    if not host:
        raise IppError("Error_InvalidURI", f"no host in {uri!r}")
    # Connecting to the address checked, not to the name again: a second lookup could answer
    # elsewhere (DNS rebinding). The Host header still names the printer as the URI does.
    target = address or host
    conn: http.client.HTTPConnection
    try:
        connect_timeout_s = min(timeout_s, exchange.left())
        if secure:
            # Printers' certificates are self-signed (IPP Everywhere 1.1 §4.2.2): encrypt, do not verify.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(target, port, timeout=connect_timeout_s, context=context)
        else:
            conn = http.client.HTTPConnection(target, port, timeout=connect_timeout_s)
    except TimeoutError as exc:
        raise IppError("Error_Timeout", f"no IPP answer from {host}:{port} in {timeout_s:g} s") from exc
    exchange.attach(conn)
    try:
        conn.request(
            "POST",
            parts.path or "/ipp/print",
            body=body,
            headers={"Content-Type": "application/ipp", "Host": parts.netloc.rpartition("@")[2]},
        )
        exchange.pace()
        response = conn.getresponse()
        if response.status != 200:
            raise IppError("Error_HTTP", f"HTTP {response.status} from {host}:{port}")
        data = read_bounded(response, MAX_IPP_RESPONSE_BYTES, exchange)
    except TimeoutError as exc:
        raise IppError("Error_Timeout", f"no IPP answer from {host}:{port} in {timeout_s:g} s") from exc
    except ConnectionRefusedError as exc:
        raise IppError("Error_ConnectionRefused", f"{host}:{port} refused the connection") from exc
    except (OSError, http.client.HTTPException) as exc:
        if exchange.aborted:
            raise IppError("Error_Timeout", f"no IPP answer from {host}:{port} in {timeout_s:g} s") from exc
        raise IppError("Error_Unreachable", f"{host}:{port}: {exc}") from exc
    finally:
        exchange.close()
    return data


async def get_printer_attributes(
    uri: str,
    timeout_s: float = IPP_TIMEOUT_S,
    counters: Counters | None = None,
    *,
    address: str | None = None,
    pool: FetchPool | None = None,
) -> dict[str, Any]:
    """The printer's summary, or ``{"status": "Error_...", "state": "offline", "reason": ...}``.

    ``timeout_s`` bounds the whole exchange, however slowly the printer sends; ``address`` is where
    to connect when the caller has vetted the URI's host already; ``pool`` the executor to run in
    (one of its own when None).
    """
    own_pool = pool is None
    runner = FetchPool(1) if pool is None else pool
    try:
        data = await runner.run(
            functools.partial(_post, uri, encode_request(uri), timeout_s, address), timeout_s
        )
        status_code, attributes = decode_response(data, counters)
        if status_code >= 0x0400:
            raise IppError("Error_IPP", f"IPP status 0x{status_code:04x}")
    except TimeoutError:
        return {
            "status": "Error_Timeout",
            "uri": uri,
            "state": "offline",
            "reason": f"no answer in {timeout_s:g} s",
        }
    except IppError as exc:
        return {"status": exc.status, "uri": uri, "state": "offline", "reason": str(exc)}
    finally:
        if own_pool:
            runner.close()
    return summarise(attributes, uri)
