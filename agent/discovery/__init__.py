"""Device discovery: what is in the home (issue 4).

    cycle.run_cycle      mDNS + ARP + SSDP + neighbour table -> merge -> IPP -> classify
    mdns                 python-zeroconf (asyncio): curated types, type enumeration, bounded TXT
    arp, arp_worker      scapy sweep in a short-lived worker process; /proc/net/arp
    ssdp                 M-SEARCH and UPnP descriptions through defusedxml
    ipp                  Get-Printer-Attributes, a compact bounded RFC 8010 codec
    fetch                HTTP exchanges with devices: one deadline each, a thread pool of their own
    oui                  vendors from the IEEE registry shipped in netaddr; random MACs
    merge                one device per host, kinds with evidence
    inventory            keys, first/last seen and Active across cycles; the sample's two tables
    on_demand            the CSR's ``discover`` and ``printer_check`` commands (protocol/catalogue.py)

Errors (both :class:`agent.errors.AgentError`): :class:`arp.SweepRefused` (a range the sweep will
not touch) and :class:`ipp.IppError` (translated into printer status data by
``ipp.get_printer_attributes``); every other failure of a method is reported as data in
``CycleResult.methods``.
"""

from .arp import SweepRefused
from .cycle import CycleResult, SweepOptions, run_cycle
from .inventory import Inventory, KnownHost, inventory_hash, stable_key, tables
from .ipp import IppError, get_printer_attributes
from .model import KINDS, Device, Service, Sighting, UpnpInfo
from .sanitize import Counters

__all__ = [
    "KINDS",
    "Counters",
    "CycleResult",
    "Device",
    "Inventory",
    "IppError",
    "KnownHost",
    "Service",
    "Sighting",
    "SweepOptions",
    "SweepRefused",
    "UpnpInfo",
    "get_printer_attributes",
    "inventory_hash",
    "run_cycle",
    "stable_key",
    "tables",
]
