"""One device per physical host: sightings joined by shared IP or MAC, then classified with evidence.

Within one cycle an IPv4 address and a MAC each belong to one host, so sightings sharing either are
the same device (union-find). Across cycles :mod:`.inventory` recognises a device again by its
identifiers, so a phone that changed its random MAC stays one device when its host name, mDNS
instance or UUID is the same.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from .const import MAX_ADDRESSES_PER_DEVICE, MAX_DEVICES, MAX_SERVICES_PER_DEVICE
from .model import (
    ARP,
    COMPUTER,
    IOT,
    MEDIA,
    NETWORK,
    PHONE,
    PRINTER,
    SELF,
    SPEAKER,
    UNKNOWN,
    Device,
    Sighting,
)
from .oui import is_locally_administered, prefetch, vendor
from .sanitize import Counters

#: DNS-SD types that say what a device is, with a weight (higher = stronger evidence).
SERVICE_KINDS: dict[str, tuple[str, int]] = {
    "_ipp._tcp": (PRINTER, 10),
    "_ipps._tcp": (PRINTER, 10),
    "_printer._tcp": (PRINTER, 8),
    "_pdl-datastream._tcp": (PRINTER, 8),
    "_uscan._tcp": (PRINTER, 4),
    "_uscans._tcp": (PRINTER, 4),
    "_googlecast._tcp": (MEDIA, 8),
    "_airplay._tcp": (MEDIA, 6),
    "_raop._tcp": (SPEAKER, 5),
    "_spotify-connect._tcp": (SPEAKER, 5),
    "_sonos._tcp": (SPEAKER, 8),
    "_hap._tcp": (IOT, 8),
    "_matter._tcp": (IOT, 8),
    "_smb._tcp": (COMPUTER, 4),
    "_afpovertcp._tcp": (COMPUTER, 4),
    "_workstation._tcp": (COMPUTER, 6),
    "_ssh._tcp": (COMPUTER, 3),
    "_companion-link._tcp": (PHONE, 6),
}
#: UPnP device types (urn:schemas-upnp-org:device:<type>:<v>).
UPNP_KINDS: dict[str, tuple[str, int]] = {
    "MediaRenderer": (MEDIA, 7),
    "MediaServer": (COMPUTER, 3),
    "InternetGatewayDevice": (NETWORK, 9),
    "WLANAccessPoint": (NETWORK, 8),
    "Printer": (PRINTER, 8),
    "ZonePlayer": (SPEAKER, 8),
}
#: Weak hints from the OUI owner, used when nothing stronger speaks.
VENDOR_HINTS: tuple[tuple[str, str], ...] = (
    ("raspberry pi", COMPUTER),
    ("intel corporate", COMPUTER),
    ("avm ", NETWORK),
    ("ubiquiti", NETWORK),
    ("tp-link", NETWORK),
    ("netgear", NETWORK),
    ("sonos", SPEAKER),
    ("espressif", IOT),
    ("tuya", IOT),
)


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        self.parent[self.find(a)] = self.find(b)


def _ip_key(ip: str) -> tuple[int, ...]:
    try:
        return (int(ipaddress.IPv4Address(ip)),)
    except ValueError:
        return (1 << 33,)


def merge(sightings: list[Sighting], counters: Counters | None = None) -> list[Device]:
    """Devices from one cycle's sightings (unclassified, without keys)."""
    counters = counters if counters is not None else Counters()
    union = _Union(len(sightings))
    first_by: dict[str, int] = {}
    for i, s in enumerate(sightings):
        for token in (f"ip:{s.ip}" if s.ip else "", f"mac:{s.mac}" if s.mac else ""):
            if token:
                if token in first_by:
                    union.join(i, first_by[token])
                else:
                    first_by[token] = i
    groups: dict[int, list[Sighting]] = defaultdict(list)
    for i, s in enumerate(sightings):
        groups[union.find(i)].append(s)
    prefetch([s.mac for s in sightings if s.mac])
    devices = []
    for group in groups.values():
        device = Device()
        macs = [s.mac for s in group if s.mac]
        # A universally administered MAC is the host's; prefer what ARP saw over neighbour hearsay.
        device.mac = next((m for m in macs if m and not is_locally_administered(m)), macs[0] if macs else "")
        device.random_mac = is_locally_administered(device.mac)
        device.vendor = vendor(device.mac)
        device.ips = sorted({s.ip for s in group if s.ip}, key=_ip_key)[:MAX_ADDRESSES_PER_DEVICE]
        names = [s.hostname for s in group if s.hostname and s.source != SELF] or [
            s.hostname for s in group if s.hostname
        ]
        device.hostname = min(names, key=lambda n: (len(n), n)) if names else ""
        device.sources = sorted({s.source for s in group})
        seen: set[tuple[str, str]] = set()
        for s in group:
            for svc in s.services:
                if (svc.type, svc.name) in seen:
                    continue
                if len(device.services) >= MAX_SERVICES_PER_DEVICE:
                    counters["services_per_device_dropped"] += 1
                    continue
                seen.add((svc.type, svc.name))
                device.services.append(svc)
            if s.upnp is not None and (device.upnp is None or s.upnp.udn):
                device.upnp = s.upnp
        device.services.sort(key=lambda svc: (svc.type, svc.name))
        devices.append(device)
    devices.sort(key=lambda d: _ip_key(d.ips[0]) if d.ips else (1 << 34,))
    if len(devices) > MAX_DEVICES:
        counters["devices_dropped"] += len(devices) - MAX_DEVICES
        devices = devices[:MAX_DEVICES]
    return devices


def classify(device: Device, gateway: str | None = None) -> None:
    """Set ``kind`` and ``evidence``: the class with the strongest total evidence wins."""
    scores: dict[str, int] = defaultdict(int)
    evidence: dict[str, list[str]] = defaultdict(list)

    def add(kind: str, weight: int, why: str) -> None:
        scores[kind] += weight
        evidence[kind].append(why)

    for svc in device.services:
        if svc.type in SERVICE_KINDS:
            kind, weight = SERVICE_KINDS[svc.type]
            add(kind, weight, f"mDNS service {svc.type}")
    if device.printer is not None and device.printer.get("status") == "Complete":
        add(PRINTER, 10, "answers IPP Get-Printer-Attributes")
    if device.upnp is not None and device.upnp.device_type:
        short = device.upnp.device_type.split(":")[-2] if device.upnp.device_type.count(":") >= 2 else ""
        if short in UPNP_KINDS:
            kind, weight = UPNP_KINDS[short]
            add(kind, weight, f"UPnP device type {short}")
    if gateway and gateway in device.ips:
        add(NETWORK, 9, "default gateway of this network")
    if SELF in device.sources:
        add(COMPUTER, 9, "the computer running this agent")
    if device.random_mac and not scores:
        # iOS, Android and Windows use a private MAC per network; nothing else announcing, most often a phone.
        add(PHONE, 2, "private (randomised) MAC and no announced services")
    lowered = device.vendor.lower()
    for hint, kind in VENDOR_HINTS:
        if hint in lowered:
            add(kind, 1, f"MAC vendor {device.vendor}")
    if not scores:
        device.kind, device.evidence = UNKNOWN, ["only " + ", ".join(device.sources or [ARP]) + " answered"]
        return
    best = max(scores, key=lambda k: (scores[k], k == MEDIA))
    device.kind, device.evidence = best, evidence[best]
