"""The agent's memory of the home's devices between cycles: keys, first/last seen, Active.

Every cycle reports the whole inventory (active devices and those not seen lately, ``Active``
false, as TR-181 keeps inactive ``Hosts.Host`` entries) together with ``InventoryHash`` over what
matters, so the cloud can fold a report without keeping state of the agent's and a lost or
re-ordered report never leaves it wrong for more than one cycle. A home has tens of devices: a
full report is a few kilobytes a cycle.

A device keeps its key across cycles: its universal MAC when it has one, otherwise a key made when
it was first seen and found again by any identifier it still shows (host name, mDNS instance, UUID,
or the random MAC itself).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec

from ..files import write_atomic
from .const import FORGET_AFTER_S, MAX_DEVICES
from .model import PRINTER, Device

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


def inventory_hash(devices: list[dict[str, Any]]) -> str:
    """Over what a technician would call a change: not the timestamps."""
    stable = [{k: v for k, v in d.items() if k not in ("FirstSeen", "LastSeen")} for d in devices]
    return hashlib.sha256(json.dumps(stable, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Inventory:
    """Known devices, persisted as JSON in the agent's state directory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            with contextlib.suppress(OSError, ValueError):
                self.known = dict(json.loads(path.read_text()).get("devices", {}))

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

    def update(self, devices: list[Device], now: float, *, save: bool = True) -> list[dict[str, Any]]:
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
            current = device.identifiers()
            older = [i for i in entry.get("ids", []) if i not in current]
            self.known[key] = {
                # What it shows now, and some of what it showed before (a phone's earlier MACs).
                "ids": sorted(current) + older[: max(0, MAX_IDS - len(current))],
                "first_seen": device.first_seen,
                "last_seen": now,
                "wire": msgspec.to_builtins(device.to_wire()),
            }
        for key in [k for k, e in self.known.items() if now - float(e.get("last_seen", 0)) > FORGET_AFTER_S]:
            del self.known[key]
        if len(self.known) > MAX_KNOWN:  # a guest network of random MACs must not grow us forever
            oldest = sorted(self.known, key=lambda k: float(self.known[k].get("last_seen", 0)))
            for key in oldest[: len(self.known) - MAX_KNOWN]:
                if key not in seen:
                    del self.known[key]
        gone = []
        for key, entry in self.known.items():
            if key in seen:
                continue
            wire = dict(entry["wire"])
            wire["Active"] = False
            wire["LastSeen"] = entry["last_seen"]
            if wire.get("Kind") == PRINTER:
                wire["Printer"] = {
                    "status": "Error_NotSeen",
                    "state": "offline",
                    "reason": "did not answer ARP, mDNS, SSDP or IPP in the last discovery cycle",
                }
            gone.append(wire)
        if save:
            self.save()
        return [msgspec.to_builtins(d.to_wire()) for d in devices] + sorted(gone, key=lambda w: str(w["Key"]))

    def save(self) -> None:
        """Blocking (fsync): from the loop, on an executor, as the discovery probe does."""
        if self.path is None:
            return
        write_atomic(self.path, json.dumps({"devices": self.known}).encode(), 0o644)
