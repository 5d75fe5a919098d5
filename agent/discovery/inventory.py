"""The agent's memory of the home's devices between cycles: keys, first/last seen, Active.

Every cycle reports the whole inventory (active devices and those not seen lately, ``Active``
false, as TR-181 keeps inactive ``Hosts.Host`` entries) together with ``InventoryHash`` over what
matters, so the cloud can fold a report without keeping state of the agent's and a lost or
re-ordered report never leaves it wrong for more than one cycle. A home has tens of devices: a
full report is a few kilobytes a cycle.

The report is two TR-181 tables, ``Hosts.Host.{i}`` and ``DNS.SD.Service.{i}``, a service naming its
host by reference (:func:`tables`). A host's ``ActiveLastChange`` is kept here: its first detection,
then each cycle where it came back or was first missed.

A device keeps its key across cycles: its universal MAC when it has one, otherwise a key made when
it was first seen and found again by any identifier it still shows (host name, mDNS instance, UUID,
or the random MAC itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from protocol.samples import Host, Service
from protocol.samples.inventory import DNS, DNSSD, MAX_SERVICES, Hosts
from protocol.samples.legacy_inventory import HOST_TABLE, upgrade_host
from protocol.tr181 import vendor

from ..files import write_atomic
from .const import FORGET_AFTER_S, MAX_DEVICES
from .model import PRINTER, Device, date_time
from .sanitize import Counters

MAX_KNOWN = 2 * MAX_DEVICES
MAX_IDS = 48
#: What identifies a device best, strongest first.
_ID_ORDER = ("mac:", "uuid:", "mdns:", "host:", "laa:")


def stable_key(device: Device) -> str:
    ids = device.identifiers()
    for prefix in _ID_ORDER:
        chosen = sorted(i for i in ids if i.startswith(prefix))
        if chosen:
            if prefix == "mac:":
                return "mac-" + chosen[0][4:].replace(":", "")
            return "dev-" + hashlib.sha256(chosen[0].encode()).hexdigest()[:16]
    return "dev-" + hashlib.sha256(",".join(device.ips).encode()).hexdigest()[:16]


#: Moments that move every cycle without anything a technician would call a change.
_MOMENTS = frozenset({vendor("FirstSeen"), vendor("LastSeen"), "LastUpdate"})


@dataclass(frozen=True, slots=True)
class KnownHost:
    """One ``Hosts.Host.{i}`` entry and its ``DNS.SD.Service.{i}`` entries (without ``Host``), in
    wire form."""

    host: dict[str, Any]
    services: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.host.get("Active") is True


def inventory_hash(known: list[KnownHost]) -> str:
    """Over what a technician would call a change: not the timestamps."""
    stable = [
        {
            "host": {k: v for k, v in h.host.items() if k not in _MOMENTS},
            "services": [{k: v for k, v in s.items() if k not in _MOMENTS} for s in h.services],
        }
        for h in known
    ]
    return hashlib.sha256(json.dumps(stable, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def tables(known: list[KnownHost], counters: Counters | None = None) -> tuple[Hosts, DNS]:
    """The sample's ``Hosts`` and ``DNS.SD`` objects; a service's ``Host`` is the reference
    ``Device.Hosts.Host.<position + 1>`` of its host in this table.

    An entry that does not fit its Struct (an inventory file edited or written by something else)
    is left out and counted, and so are services beyond the table's bound.
    """
    counters = counters if counters is not None else Counters()
    hosts: list[Host] = []
    services: list[Service] = []
    for entry in known:
        try:
            host = msgspec.convert(entry.host, Host)
        except msgspec.ValidationError:
            counters["inventory_entry_invalid"] += 1
            continue
        hosts.append(host)
        for raw in entry.services:
            if len(services) >= MAX_SERVICES:
                counters["services_dropped"] += 1
                continue
            try:
                services.append(msgspec.convert({**raw, "Host": [f"{HOST_TABLE}{len(hosts)}"]}, Service))
            except msgspec.ValidationError:
                counters["inventory_entry_invalid"] += 1
    table = Hosts(
        HostNumberOfEntries=len(hosts), ActiveHosts=sum(1 for h in hosts if h.Active is True), Host=hosts
    )
    return table, DNS(SD=DNSSD(ServiceNumberOfEntries=len(services), Service=services))


def _current(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry as this version keeps it: an older agent's host wire (unprefixed extensions,
    ``IPAddress`` a list, ``Services`` inside) upgraded once, on load."""
    wire = entry.get("wire")
    if isinstance(wire, dict) and "Key" in wire:
        host, services = upgrade_host(wire)
        return {**entry, "wire": host, "services": [s for s in services if isinstance(s, dict)]}
    return entry


class Inventory:
    """Known devices, persisted as JSON in the agent's state directory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_text()).get("devices", {})
                self.known = {k: _current(e) for k, e in dict(loaded).items() if isinstance(e, dict)}

    def _match(self, device: Device) -> str | None:
        ids = device.identifiers()
        if not device.random_mac and device.mac:
            key = stable_key(device)
            return key if key in self.known else None
        best: tuple[int, str] | None = None
        for key, entry in self.known.items():
            shared = ids & set(entry.get("ids", []))
            if shared:
                rank = min(next(n for n, p in enumerate(_ID_ORDER) if i.startswith(p)) for i in shared)
                if best is None or rank < best[0]:
                    best = (rank, key)
        return best[1] if best else None

    def update(self, devices: list[Device], now: float, *, save: bool = True) -> list[KnownHost]:
        """Fold one cycle in; returns every known device in wire form, active ones first.

        ``save=False`` leaves the file as it was (a run a CSR asked for must not change what the
        next scheduled run compares against).
        """
        seen: set[str] = set()
        for device in devices:
            key = self._match(device)
            if key is None or key in seen:
                key = stable_key(device)
                while key in seen:
                    key += "x"
            device.key = key
            seen.add(key)
            entry = self.known.get(key, {})
            device.first_seen = float(entry.get("first_seen", now))
            device.last_seen = now
            device.active = True
            # TR-181: the first detection counts as a change to active, and so does a return.
            came_back = not entry or entry.get("active", True) is False
            device.active_changed = now if came_back else float(entry.get("changed", device.first_seen))
            current = device.identifiers()
            older = [i for i in entry.get("ids", []) if i not in current]
            self.known[key] = {
                # What it shows now, and some of what it showed before (a phone's earlier MACs).
                "ids": sorted(current) + older[: max(0, MAX_IDS - len(current))],
                "first_seen": device.first_seen,
                "last_seen": now,
                "active": True,
                "changed": device.active_changed,
                "wire": msgspec.to_builtins(device.to_wire()),
                "services": msgspec.to_builtins(device.services_wire(now)),
            }
        for key in [k for k, e in self.known.items() if now - float(e.get("last_seen", 0)) > FORGET_AFTER_S]:
            del self.known[key]
        if len(self.known) > MAX_KNOWN:  # a guest network of random MACs must not grow us forever
            oldest = sorted(self.known, key=lambda k: float(self.known[k].get("last_seen", 0)))
            for key in oldest[: len(self.known) - MAX_KNOWN]:
                if key not in seen:
                    del self.known[key]
        gone: list[KnownHost] = []
        for key, entry in self.known.items():
            if key in seen:
                continue
            last_seen = float(entry.get("last_seen", 0))
            if entry.get("active", True) is not False:
                # First missed now; an older agent's entry did not say, and its last sighting is
                # the nearest moment known.
                entry["changed"] = now if "active" in entry else last_seen
                entry["active"] = False
            wire = dict(entry.get("wire", {}))
            wire["Active"] = False
            wire["ActiveLastChange"] = date_time(float(entry.get("changed", last_seen)))
            wire[vendor("LastSeen")] = last_seen
            if wire.get(vendor("Kind")) == PRINTER:
                wire[vendor("Printer")] = {
                    "status": "Error_NotSeen",
                    "state": "offline",
                    "reason": "did not answer ARP, mDNS, SSDP or IPP in the last discovery cycle",
                }
            services = [
                _expired(s, now - last_seen) for s in entry.get("services", []) if isinstance(s, dict)
            ]
            gone.append(KnownHost(wire, services))
        if save:
            self.save()
        found = [KnownHost(self.known[d.key]["wire"], list(self.known[d.key]["services"])) for d in devices]
        return found + sorted(gone, key=lambda k: str(k.host.get(vendor("Key"), "")))

    def save(self) -> None:
        """Blocking (fsync): from the loop, on an executor, as the discovery probe does."""
        if self.path is None:
            return
        write_atomic(self.path, json.dumps({"devices": self.known}).encode(), 0o644)


def _expired(service: dict[str, Any], unseen_s: float) -> dict[str, Any]:
    """A service of a host not seen this cycle: its SRV lease ran out once its TTL has passed."""
    ttl = service.get("TimeToLive")
    if isinstance(ttl, int) and unseen_s > ttl:
        return {**service, "Status": "LeaseExpired"}
    return service
