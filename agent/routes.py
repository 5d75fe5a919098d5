"""The host's IPv4 routing as the kernel shows it: the default route and whether we forward.

``/proc/net/route`` gives addresses as little-endian hex; its ``Mask`` column is absent from some
minimal tables (tests, containers), where a default route is told by its destination alone.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

ROUTE_TABLE = "/proc/net/route"
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"


def default_route(route_table: str | Path = ROUTE_TABLE) -> tuple[str, str | None] | None:
    """(interface, gateway or None when on-link) of the IPv4 default route, or None."""
    try:
        lines = Path(route_table).read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        parts = line.split()
        if len(parts) < 3 or parts[1] != "00000000" or (len(parts) >= 8 and parts[7] != "00000000"):
            continue
        try:
            gateway = struct.pack("<I", int(parts[2], 16))
        except (ValueError, struct.error):
            continue
        return parts[0], socket.inet_ntoa(gateway) if gateway != b"\0\0\0\0" else None
    return None


def default_gateway(route_table: str | Path = ROUTE_TABLE) -> str | None:
    """The IPv4 default route's gateway, or None."""
    route = default_route(route_table)
    return route[1] if route else None


def default_route_interface(route_table: str | Path = ROUTE_TABLE) -> str | None:
    """The interface of the IPv4 default route (the WAN side of a gateway), or None."""
    route = default_route(route_table)
    return route[0] if route else None


def ip_forwarding(path: str | Path = IP_FORWARD) -> bool:
    """True when this host routes between its interfaces (``net.ipv4.ip_forward``)."""
    try:
        return Path(path).read_text().strip() == "1"
    except OSError:
        return False
