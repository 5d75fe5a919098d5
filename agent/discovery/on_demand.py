"""The catalogue commands of discovery: ``discover`` and ``printer_check`` (protocol/catalogue.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from typing import Any

from protocol.catalogue import DiscoverParams, PrinterCheckParams

from ..commands import CommandRefused
from .cycle import SweepOptions, run_cycle
from .ipp import get_printer_attributes
from .report import as_json


async def discover_command(
    params: DiscoverParams, interface: str | None = None, sweep: SweepOptions | None = None
) -> dict[str, Any]:
    """A cycle now, within the operator's settings: the runner passes the ``discovery`` probe's."""
    return as_json(await run_cycle(params.timeout_s, interface, sweep or SweepOptions()))


def in_the_home(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A private or link-local address of the home: not public, not this host (loopback, 0.0.0.0)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified or address.is_multicast:
        return False
    return address.is_private or address.is_link_local


async def home_address(host: str, command: str = "printer_check") -> str:
    """``host``'s address if it is in the home (see :func:`in_the_home`), else CommandRefused."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise CommandRefused("Error_CannotResolveHostName", f"{host}: {exc}") from exc
    for *_rest, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if in_the_home(address):
            return str(address)
    raise CommandRefused(
        "Error_Refused", f"{host} is not an address in the home: {command} asks LAN printers only"
    )


async def printer_check_command(params: PrinterCheckParams) -> dict[str, Any]:
    try:
        host = urllib.parse.urlsplit(params.uri).hostname or ""
    except ValueError as exc:
        raise CommandRefused("Error_InvalidParameters", f"not a URI: {exc}") from exc
    # Ask the address vetted here: resolving the name again could answer elsewhere (DNS rebinding).
    return await get_printer_attributes(params.uri, address=await home_address(host))
