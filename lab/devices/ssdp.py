"""An SSDP responder for one root device (UPnP Device Architecture 1.1, §1).

Answers M-SEARCH for ``ssdp:all``, ``upnp:rootdevice``, the device's UUID, its device type and its
service types, and builds the NOTIFY ``ssdp:alive`` / ``ssdp:byebye`` set a device multicasts when it
joins and leaves. The answer delay is random up to MX as §1.3.3 asks, capped at SSDP_MAX_DELAY_S.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from email.utils import formatdate
from typing import cast

from ..const import SSDP_GROUP, SSDP_MAX_AGE_S, SSDP_MAX_DELAY_S, SSDP_PORT

SERVER = "Linux/6 UPnP/1.1 homediag-lab/0.1"


def open_socket(address: str) -> socket.socket:
    """UDP 1900 on all addresses (multicast and unicast M-SEARCH), joined to the group on ``address``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("", SSDP_PORT))
    mreq = struct.pack("4s4s", socket.inet_aton(SSDP_GROUP), socket.inet_aton(address))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
    # §1.1.2: multicast TTL defaults to 2.
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    sock.setblocking(False)
    return sock


def parse_headers(data: bytes) -> tuple[str, dict[str, str]]:
    lines = data.decode("latin-1", errors="replace").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().upper()] = value.strip()
    return lines[0].strip(), headers


class SsdpResponder(asyncio.DatagramProtocol):
    def __init__(self, *, location: str, udn: str, device_type: str, service_types: tuple[str, ...]) -> None:
        self.location = location
        self.udn = udn
        self.device_type = device_type
        self.service_types = service_types
        self.transport: asyncio.DatagramTransport | None = None
        self._rng = random.Random()  # noqa: S311 - answer jitter, not cryptography

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # The selector loop's datagram transport does not inherit DatagramTransport, yet is one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def targets(self) -> list[tuple[str, str]]:
        """(NT or ST, USN) for every search target this device answers, in §1.2.2 order."""
        pairs = [
            ("upnp:rootdevice", f"{self.udn}::upnp:rootdevice"),
            (self.udn, self.udn),
            (self.device_type, f"{self.udn}::{self.device_type}"),
        ]
        pairs += [(st, f"{self.udn}::{st}") for st in self.service_types]
        return pairs

    def matches(self, st: str) -> list[tuple[str, str]]:
        if st == "ssdp:all":
            return self.targets()
        return [(target, usn) for target, usn in self.targets() if target == st]

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        start, headers = parse_headers(data)
        if not start.startswith("M-SEARCH") or headers.get("MAN", "").strip('"') != "ssdp:discover":
            return
        try:
            mx = max(0.0, float(headers.get("MX", "1")))
        except ValueError:
            mx = 1.0
        loop = asyncio.get_running_loop()
        for st, usn in self.matches(headers.get("ST", "")):
            delay = self._rng.uniform(0, min(mx, SSDP_MAX_DELAY_S))
            loop.call_later(delay, self._send, self.response(st, usn), addr)

    def response(self, st: str, usn: str) -> bytes:
        return _message(
            "HTTP/1.1 200 OK",
            [
                ("CACHE-CONTROL", f"max-age={SSDP_MAX_AGE_S}"),
                ("DATE", formatdate(usegmt=True)),
                ("EXT", ""),
                ("LOCATION", self.location),
                ("SERVER", SERVER),
                ("ST", st),
                ("USN", usn),
                ("BOOTID.UPNP.ORG", "1"),
                ("CONFIGID.UPNP.ORG", "1"),
            ],
        )

    def notifications(self, nts: str) -> list[bytes]:
        """The NOTIFY set for ``ssdp:alive`` or ``ssdp:byebye`` (byebye carries no LOCATION)."""
        messages = []
        for nt, usn in self.targets():
            headers = [("HOST", f"{SSDP_GROUP}:{SSDP_PORT}"), ("NT", nt), ("NTS", nts), ("USN", usn)]
            if nts == "ssdp:alive":
                headers += [
                    ("CACHE-CONTROL", f"max-age={SSDP_MAX_AGE_S}"),
                    ("LOCATION", self.location),
                    ("SERVER", SERVER),
                ]
            headers += [("BOOTID.UPNP.ORG", "1"), ("CONFIGID.UPNP.ORG", "1")]
            messages.append(_message("NOTIFY * HTTP/1.1", headers))
        return messages

    def announce(self, nts: str) -> None:
        for message in self.notifications(nts):
            self._send(message, (SSDP_GROUP, SSDP_PORT))

    def _send(self, message: bytes, addr: tuple[str | object, int]) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(message, addr)


def _message(start: str, headers: list[tuple[str, str]]) -> bytes:
    return ("\r\n".join([start, *(f"{k}: {v}" for k, v in headers)]) + "\r\n\r\n").encode()
