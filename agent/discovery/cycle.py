"""One discovery cycle: mDNS, ARP, SSDP and the neighbour table at once, then merge, IPP, classify.

Every method's failure is data: it is named in ``methods`` with a TR-181 style status and the
others go on. Bad input met on the way is in ``counters``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import arp, ipp, mdns, ssdp
from .const import DEFAULT_SWEEP_RATE_PPS, DEFAULT_SWEEP_WAIT_S, MAX_SWEEP_HOSTS, PRINTER_TXT_KEYS
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


def default_gateway(route_file: Path = Path("/proc/net/route")) -> str | None:
    try:
        lines = route_file.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 2 and fields[1] == "00000000":
            raw = int(fields[2], 16)
            return ".".join(str((raw >> s) & 0xFF) for s in (0, 8, 16, 24))
    return None


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
    attached = arp.attached_subnets(interface)
    result = CycleResult(devices=[], methods=methods, counters=counters, started=started)
    result.interfaces = sorted({a.interface for a in attached})
    if not attached:
        methods["all"] = "Error_NoInterface: no up IPv4 interface" + (
            f" named {interface}" if interface else ""
        )
        return result
    say(f"discovering on {', '.join(f'{a.interface} {a.network}' for a in attached)}")
    address = attached[0].address if interface else None
    tasks: list[Any] = [
        _timed("mdns", methods, mdns.browse(timeout_s, address, counters)),
        _timed("ssdp", methods, ssdp.search(min(timeout_s, 2.0), attached[0].address, counters)),
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
        answers = await asyncio.gather(
            *(ipp.get_printer_attributes(uri, counters=counters) for _d, uri in printers)
        )
        for (device, _uri), answer in zip(printers, answers, strict=True):
            answer["txt"] = printer_facts(device)
            device.printer = answer
    gateway = default_gateway()
    for device in devices:
        classify(device, gateway)
        if device.kind == PRINTER and device.printer is None:
            device.printer = {"status": "Error_NoIPP", "state": "unknown", "txt": printer_facts(device)}
    result.devices = devices
    result.duration_s = round(time.monotonic() - t0, 3)
    say(f"{len(devices)} devices in {result.duration_s:.1f} s")
    return result
