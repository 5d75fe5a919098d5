"""The catalogue commands of discovery: ``discover`` and ``printer_check`` (protocol/catalogue.py)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from typing import Any

from protocol.catalogue import DiscoverParams, PrinterCheckParams

from ..commands import CommandRefused
from .cycle import run_cycle
from .ipp import get_printer_attributes
from .report import as_json


async def discover_command(params: DiscoverParams) -> dict[str, Any]:
    return as_json(await run_cycle(params.timeout_s))


async def _home_address(host: str) -> str:
    """``host``'s address if it is in the home (private or link-local), else CommandRefused."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise CommandRefused("Error_CannotResolveHostName", f"{host}: {exc}") from exc
    for *_rest, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address.is_private or address.is_link_local:
            return str(address)
    raise CommandRefused(
        "Error_Refused", f"{host} is not an address in the home: printer_check asks LAN printers only"
    )


async def printer_check_command(params: PrinterCheckParams) -> dict[str, Any]:
    host = urllib.parse.urlsplit(params.uri).hostname or ""
    await _home_address(host)
    return await get_printer_attributes(params.uri)
