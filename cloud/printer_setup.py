"""Guided printer setup: the driverless way to add a discovered printer, step by step per system.

Every current desktop and phone system speaks IPP Everywhere / AirPrint / Mopria, so the guide never
mentions a driver download: it gives the printer's IPP URI and the few clicks each system needs.
On a Linux PC with the agent, a CSR can do it for the subscriber (``add_printer``, with consent).
"""

from __future__ import annotations

import shlex
from typing import Any
from urllib.parse import urlsplit

from .errors import CloudError


class SetupError(CloudError):
    """The URI is not a printer URI this guide can help with."""


_NOT_A_PRINTER = "That is not a printer URI: give one like ipp://host:631/ipp/print or ipps://host/ipp/print."


def guide(uri: str, name: str = "") -> dict[str, Any]:
    try:
        # urlsplit refuses a broken IPv6 literal (``ipps://]``), .port one outside 0-65535.
        parts = urlsplit(uri)
        host, port = parts.hostname, parts.port or 631
    except ValueError as exc:
        raise SetupError(_NOT_A_PRINTER) from exc
    if parts.scheme not in {"ipp", "ipps"} or not host or not uri.isprintable() or " " in uri:
        raise SetupError(_NOT_A_PRINTER)
    path = parts.path or "/ipp/print"
    queue = name or "printer"
    http_uri = f"http://{host}:{port}{path}"
    return {
        "uri": uri,
        "queue": queue,
        "driverless": True,
        "steps": {
            "windows": [
                "Settings > Bluetooth & devices > Printers & scanners > Add device.",
                "If the printer is not listed: 'Add manually' > 'Select a shared printer by name'.",
                f"Enter {http_uri} and pick 'Microsoft IPP Class Driver' if asked: it is built in.",
                "Print a test page from the printer's page in Settings.",
            ],
            "macos": [
                "System Settings > Printers & Scanners > Add Printer, Scanner or Fax.",
                f"IP tab: Address {host}, Protocol 'Internet Printing Protocol - IPP', Queue {path}.",
                "Use: 'AirPrint' (or 'Secure AirPrint'), then Add.",
            ],
            "linux": [
                "Most desktops add it automatically (cups-browsed); otherwise, in a terminal:",
                f"lpadmin -p {shlex.quote(queue)} -E -v {shlex.quote(uri)} -m everywhere",
                f"lp -d {shlex.quote(queue)} /usr/share/cups/data/testprint",
            ],
            "ios": ["Nothing to install: choose Print in any app and pick the printer (AirPrint)."],
            "android": ["Settings > Connected devices > Printing > Default Print Service (Mopria) on."],
        },
        "remote": {
            "command": "add_printer",
            "params": {"uri": uri, "name": queue},
            "needs": "a Linux PC with the agent and a remote-assistance session the subscriber approved",
        },
    }
