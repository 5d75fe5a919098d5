"""SSDP/UPnP (UPnP Device Architecture 2.0 §1.3, §2): M-SEARCH, then each device's description.

Answers are bounded in number and size. A description is fetched only from the address that
answered, over plain HTTP on a private address, read up to ``MAX_DESCRIPTION_BYTES``, and parsed
with defusedxml with DTDs forbidden: entity bombs (billion laughs), external entities and oversize
documents are counted and skipped, never expanded.
"""

from __future__ import annotations

import asyncio
import functools
import http.client
import ipaddress
import logging
import socket
import urllib.parse

from .const import (
    DESCRIPTION_TIMEOUT_S,
    DESCRIPTION_WORKERS,
    MAX_DESCRIPTION_BYTES,
    MAX_DESCRIPTIONS,
    MAX_NAME_LEN,
    MAX_SSDP_DATAGRAM,
    MAX_SSDP_RESPONSES,
    SSDP_GROUP,
    SSDP_MX_S,
)
from .fetch import Exchange, FetchPool, read_bounded
from .model import SSDP, Sighting, UpnpInfo
from .sanitize import Counters, clean_text

_LOGGER = logging.getLogger(__name__)
SEARCH = (
    "M-SEARCH * HTTP/1.1\r\n"
    f"HOST: {SSDP_GROUP[0]}:{SSDP_GROUP[1]}\r\n"
    'MAN: "ssdp:discover"\r\n'
    f"MX: {SSDP_MX_S}\r\n"
    "ST: ssdp:all\r\n"
    "USER-AGENT: Linux/1 UPnP/2.0 homediag/1\r\n\r\n"
).encode()


def parse_response(data: bytes, counters: Counters) -> dict[str, str] | None:
    """Headers of an SSDP answer (upper-case names), or None when it is not one."""
    if len(data) > MAX_SSDP_DATAGRAM:
        counters["ssdp_oversize"] += 1
        return None
    text = data.decode("utf-8", "replace")
    lines = text.split("\r\n")
    if not lines[0].upper().startswith(("HTTP/1.1 200", "NOTIFY ")):
        counters["ssdp_not_an_answer"] += 1
        return None
    headers: dict[str, str] = {}
    for line in lines[1:40]:
        name, sep, value = line.partition(":")
        if sep:
            headers.setdefault(name.strip().upper(), value.strip()[:512])
    return headers


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, counters: Counters) -> None:
        self.counters = counters
        self.answers: dict[str, dict[str, str]] = {}  # first answer per (address, location)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if len(self.answers) >= MAX_SSDP_RESPONSES:
            self.counters["ssdp_responses_dropped"] += 1
            return
        headers = parse_response(data, self.counters)
        if headers is None:
            return
        key = f"{addr[0]} {headers.get('LOCATION', '')}"
        self.answers.setdefault(key, {"_from": str(addr[0]), **headers})


def parse_description(xml: bytes, counters: Counters) -> UpnpInfo | None:
    """The root device's names from a UPnP description, or None (counted) when it is unsafe or bad."""
    import defusedxml.ElementTree as SafeET  # noqa: PLC0415
    from defusedxml import DefusedXmlException  # noqa: PLC0415

    if len(xml) > MAX_DESCRIPTION_BYTES:
        counters["ssdp_description_oversize"] += 1
        return None
    try:
        root = SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        counters["ssdp_description_unsafe_xml"] += 1
        return None
    except SafeET.ParseError:
        counters["ssdp_description_bad_xml"] += 1
        return None
    device = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "device"), None)
    if device is None:
        counters["ssdp_description_no_device"] += 1
        return None

    def field(name: str) -> str:
        for child in device:
            if child.tag.rsplit("}", 1)[-1] == name:
                return clean_text(child.text, MAX_NAME_LEN, counters, "upnp")
        return ""

    return UpnpInfo(
        device_type=field("deviceType"),
        friendly_name=field("friendlyName"),
        manufacturer=field("manufacturer"),
        model_name=field("modelName"),
        udn=field("UDN"),
    )


def _fetch(url: str, exchange: Exchange | None = None) -> bytes:
    """GET ``url`` within one deadline (:mod:`.fetch`), at most ``MAX_DESCRIPTION_BYTES + 1`` bytes."""
    exchange = exchange if exchange is not None else Exchange(DESCRIPTION_TIMEOUT_S)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname or "", parts.port or 80, timeout=min(DESCRIPTION_TIMEOUT_S, exchange.left())
    )
    exchange.attach(conn)
    try:
        conn.request("GET", parts.path or "/", headers={"User-Agent": "homediag/1"})
        exchange.pace()
        response = conn.getresponse()
        if response.status != 200:
            raise OSError(f"HTTP {response.status}")
        declared = response.getheader("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_DESCRIPTION_BYTES:
            return b"\0" * (MAX_DESCRIPTION_BYTES + 1)  # refused unread, counted as oversize
        return read_bounded(response, MAX_DESCRIPTION_BYTES, exchange)
    finally:
        exchange.close()


def description_url(headers: dict[str, str], counters: Counters) -> str:
    """LOCATION if it is http:// on the very address that answered (no fetching elsewhere), else ""."""
    location = headers.get("LOCATION", "")
    parts = urllib.parse.urlsplit(location)
    try:
        same = parts.scheme == "http" and parts.hostname == headers["_from"]
        private = ipaddress.ip_address(headers["_from"]).is_private
        port = parts.port  # ValueError past 65535 or not a number
        same = same and port != 0
    except (ValueError, KeyError):
        same = private = False
    if not (same and private):
        counters["ssdp_location_refused"] += 1
        return ""
    return location


async def search(
    timeout_s: float, interface_address: str, counters: Counters | None = None
) -> list[Sighting]:
    """M-SEARCH from ``interface_address``; one sighting per answering address, with its description."""
    counters = counters if counters is not None else Counters()
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setblocking(False)
        sock.bind((interface_address, 0))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface_address))
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)  # UDA 2.0 §1.1.2: TTL 2 by default
        listener = _Listener(counters)
        transport, _ = await loop.create_datagram_endpoint(lambda: listener, sock=sock)
    except BaseException:  # the transport owns the socket only once it exists
        sock.close()
        raise
    try:
        transport.sendto(SEARCH, SSDP_GROUP)
        await asyncio.sleep(min(timeout_s, SSDP_MX_S) / 2)
        transport.sendto(SEARCH, SSDP_GROUP)  # UDP is lossy: once more, as UDA suggests
        await asyncio.sleep(min(timeout_s, SSDP_MX_S + 0.5) / 2)
    finally:
        transport.close()
    by_ip: dict[str, Sighting] = {}
    fetches: dict[str, str] = {}
    for headers in listener.answers.values():
        ip = headers["_from"]
        sighting = by_ip.setdefault(ip, Sighting(SSDP, ip=ip, upnp=UpnpInfo()))
        info = sighting.upnp
        assert info is not None
        info.server = info.server or clean_text(headers.get("SERVER"), MAX_NAME_LEN, counters, "ssdp")
        url = description_url(headers, counters)
        if url and ip not in fetches and len(fetches) < MAX_DESCRIPTIONS:
            fetches[ip] = url

    await describe_all(fetches, by_ip, counters)
    return list(by_ip.values())


async def describe_all(fetches: dict[str, str], by_ip: dict[str, Sighting], counters: Counters) -> None:
    """Fetch each address's description into its sighting; one that fails is counted, not fatal."""
    pool = FetchPool(DESCRIPTION_WORKERS)

    async def describe(ip: str, url: str) -> None:
        try:
            xml = await pool.run(functools.partial(_fetch, url), DESCRIPTION_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError, http.client.HTTPException) as exc:
            counters["ssdp_description_unreachable"] += 1
            _LOGGER.debug("UPnP description %s: %s", url, exc)
            return
        parsed = parse_description(xml, counters)
        if parsed is not None:
            parsed.location = url
            previous = by_ip[ip].upnp
            parsed.server = previous.server if previous else ""
            by_ip[ip].upnp = parsed

    try:
        await asyncio.gather(*(describe(ip, url) for ip, url in fetches.items()))
    finally:
        pool.close()
