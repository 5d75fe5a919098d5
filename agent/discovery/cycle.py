"""One discovery cycle: mDNS, ARP, SSDP and the neighbour table at once, then merge, IPP, classify.

Every method's failure is data: it is named in ``methods`` with a TR-181 style status and the
others go on. Bad input met on the way is in ``counters``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..routes import default_gateway
from ..usage.interfaces import interface_path, link_type
from . import arp, ipp, mdns, ssdp
from .const import (
    DEFAULT_SWEEP_RATE_PPS,
    DEFAULT_SWEEP_WAIT_S,
    IPP_WORKERS,
    MAX_SWEEP_HOSTS,
    PRINTER_TXT_KEYS,
)
from .fetch import FetchPool
from .merge import classify, merge
from .model import PRINTER, Device, Sighting
from .sanitize import Counters

_LOGGER = logging.getLogger(__name__)
IPP_TYPES = ("_ipp._tcp", "_ipps._tcp")
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SweepOptions:
    enabled: bool = True
    rate_pps: float = DEFAULT_SWEEP_RATE_PPS
    wait_s: float = DEFAULT_SWEEP_WAIT_S
    max_hosts: int = MAX_SWEEP_HOSTS
    allow_public: bool = False


@dataclass(slots=True)
class CycleResult:
    devices: list[Device]
    methods: dict[str, str] = field(default_factory=dict)
    counters: Counters = field(default_factory=Counters)
    started: float = 0.0
    duration_s: float = 0.0
    interfaces: list[str] = field(default_factory=list)


def printer_uri(device: Device) -> str | None:
    """The IPP URI the printer announced (RFC 8010 §4.1; rp= from its TXT), or None."""
    for svc in sorted(device.services, key=lambda s: s.type != "_ipp._tcp"):
        if svc.type in IPP_TYPES and device.ips and 0 < svc.port < 65536:
            scheme = "ipps" if svc.type == "_ipps._tcp" else "ipp"
            resource = svc.txt.get("rp", "ipp/print").strip("/") or "ipp/print"
            return f"{scheme}://{device.ips[0]}:{svc.port}/{resource}"
    return None


def printer_facts(device: Device) -> dict[str, str]:
    """The printer's TXT facts (Bonjour Printing 1.2 §9), first announcement wins."""
    facts: dict[str, str] = {}
    for svc in device.services:
        for key in PRINTER_TXT_KEYS:
            if key in svc.txt and key not in facts:
                facts[key] = svc.txt[key]
    return facts


async def _timed(name: str, methods: dict[str, str], coro: Any) -> list[Sighting]:
    try:
        result: list[Sighting] = await coro
    except arp.SweepRefused as exc:
        methods[name] = f"Error_Refused: {exc}"
        return []
    except Exception as exc:  # one method failing must leave the others' results
        _LOGGER.warning("discovery method %s failed: %s", name, exc)
        methods[name] = f"Error_Internal: {type(exc).__name__}: {exc}"
        return []
    methods.setdefault(name, "Complete")
    return result


async def _on_lan(browse: Any, attached: list[arp.Attached], counters: Counters) -> list[Sighting]:
    """mDNS sightings whose address is on one of our LAN subnets; the rest dropped and counted.

    An A record is only a claim: a responder announcing ``_ipp._tcp`` at a public address would
    otherwise have the agent send IPP requests out of the home.
    """
    sightings: list[Sighting] = await browse
    kept = []
    for sighting in sightings:
        try:
            address = ipaddress.IPv4Address(sighting.ip)
        except ValueError:
            address = None
        if address is not None and any(address in a.network for a in attached):
            kept.append(sighting)
        else:
            counters["mdns_address_off_lan"] += 1
    return kept


async def _ssdp_each(timeout_s: float, attached: list[arp.Attached], counters: Counters) -> list[Sighting]:
    """M-SEARCH from one address per LAN interface (a search reaches only its own link)."""
    first: dict[str, str] = {}
    for a in attached:
        first.setdefault(a.interface, a.address)
    groups = await asyncio.gather(
        *(ssdp.search(timeout_s, address, counters) for address in first.values()), return_exceptions=True
    )
    failures = [g for g in groups if isinstance(g, BaseException)]
    if failures and len(failures) == len(groups):
        raise failures[0]
    for failure in failures:
        _LOGGER.warning("SSDP search failed on one interface: %s", failure)
        counters["ssdp_interface_failed"] += 1
    return [s for g in groups if not isinstance(g, BaseException) for s in g]


def place(devices: list[Device], attached: list[arp.Attached]) -> None:
    """Which of our interfaces each device was seen on: TR-181's ``Layer3Interface`` and
    ``InterfaceType`` (the kind of that link: a host seen through our Wi-Fi is on Wi-Fi)."""
    paths = {a.interface: interface_path(a.interface) for a in attached}
    links = {a.interface: link_type(a.interface) for a in attached}
    for device in devices:
        for ip in device.ips:
            try:
                address = ipaddress.IPv4Address(ip)
            except ValueError:
                continue
            where = next((a.interface for a in attached if address in a.network), None)
            if where is not None:
                device.interface, device.interface_path, device.link = where, paths[where], links[where]
                break


async def run_cycle(
    timeout_s: float = 5.0,
    interface: str | None = None,
    sweep_options: SweepOptions | None = None,
    progress: Progress | None = None,
) -> CycleResult:
    """Discover the home once, within about ``timeout_s`` plus the IPP queries."""
    say = progress or (lambda _msg: None)
    options = sweep_options or SweepOptions()
    counters = Counters()
    methods: dict[str, str] = {}
    started = time.time()
    t0 = time.monotonic()
    every = arp.attached_subnets(interface)
    attached = arp.lan_subnets(interface, attached=every)
    result = CycleResult(devices=[], methods=methods, counters=counters, started=started)
    result.interfaces = sorted({a.interface for a in attached})
    if not attached:
        methods["all"] = "Error_NoInterface: no up IPv4 interface" + (
            f" named {interface}" if interface else ""
        )
        return result
    say(f"discovering on {', '.join(f'{a.interface} {a.network}' for a in attached)}")
    # mDNS on every interface unless one was chosen or a gateway's WAN is left out (arp.lan_subnets).
    narrowed = interface is not None or len(attached) < len(every)
    mdns_addresses = list(dict.fromkeys(a.address for a in attached)) if narrowed else None
    tasks: list[Any] = [
        _timed(
            "mdns", methods, _on_lan(mdns.browse(timeout_s, mdns_addresses, counters), attached, counters)
        ),
        _timed("ssdp", methods, _ssdp_each(min(timeout_s, 2.0), attached, counters)),
    ]
    if options.enabled:
        for a in attached:
            tasks.append(
                _timed(
                    f"arp:{a.interface}",
                    methods,
                    arp.sweep(
                        a,
                        rate_pps=options.rate_pps,
                        wait_s=options.wait_s,
                        max_hosts=options.max_hosts,
                        allow_public=options.allow_public,
                        counters=counters,
                    ),
                )
            )
    else:
        methods["arp"] = "Disabled"
    groups = await asyncio.gather(*tasks)
    sightings: list[Sighting] = [s for g in groups for s in g]
    say(f"{len(sightings)} sightings by mDNS, SSDP and ARP after {time.monotonic() - t0:.1f} s")
    for ifname in sorted({a.interface for a in attached}):
        sightings += arp.neighbour_table(ifname)
    sightings += [arp.own_sighting(a) for a in attached]
    devices = merge(sightings, counters)
    if any(m.startswith("arp:") and s == "Complete" for m, s in methods.items()):
        # The sweep is authoritative for presence: the kernel keeps STALE entries of devices long
        # gone, so the neighbour table only adds to what answered, it does not keep a device alive.
        devices = [d for d in devices if d.sources != ["neigh"]]
    printers = [(d, uri) for d in devices if (uri := printer_uri(d))]
    if printers:
        say(f"asking {len(printers)} printer(s) for their attributes (IPP)")
        pool = FetchPool(IPP_WORKERS)
        try:
            answers = await asyncio.gather(
                *(ipp.get_printer_attributes(uri, counters=counters, pool=pool) for _d, uri in printers)
            )
        finally:
            pool.close()
        for (device, _uri), answer in zip(printers, answers, strict=True):
            answer["txt"] = printer_facts(device)
            device.printer = answer
    place(devices, attached)
    gateway = default_gateway()
    for device in devices:
        classify(device, gateway)
        if device.kind == PRINTER and device.printer is None:
            device.printer = {"status": "Error_NoIPP", "state": "unknown", "txt": printer_facts(device)}
    result.devices = devices
    result.duration_s = round(time.monotonic() - t0, 3)
    say(f"{len(devices)} devices in {result.duration_s:.1f} s")
    return result
