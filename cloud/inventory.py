"""The home inventory in the cloud: each discovery report folded into devices and events.

The agent reports its whole inventory when it changed, and at least hourly (agent/probes/discovery.py;
in between, ``Unchanged`` moves every active device's last-seen on), so a full report alone says
what is there: devices it names are upserted, an ``Active`` change becomes a ``gone`` or
``back`` event, a device never seen before a ``new`` one, and a device the agent no longer names at
all is marked inactive. Reports arrive exactly once but not necessarily in order (an agent's outbox
drains after an outage): a device row is only changed by a report measured after the one it holds.
A printer is ``online`` or ``offline``, with the reason the agent gave. Hosts are read as the
protocol's ``Host`` (``protocol.samples.inventory``), the type the agent builds them with: the
report's ``Hosts.Host`` table, each host's services being the ``DNS.SD.Service`` entries whose
``Host`` references point at its row (an older agent's shape is upgraded first). A service is kept
without its ``Host``: the reference only means something inside its report.

A phone's randomised MAC rotates. While the agent remembers the phone it keeps its key, and the
row records the MAC change. When the agent did not recognise it (a new key), a new active host with
a randomised MAC becomes the silent device it replaced if ``care.identity.merge_rotations`` says so
on the evidence (DNS-SD instance, a host name no other active device carries, kind, services; never
the vendor OUI): the row takes the new key, keeps its first-seen, and lists the old MAC (and key) in
``previous_macs``; a ``mac_changed`` event is written instead of ``new`` (so no "new device"
alert), and the old key, still reported inactive while the agent remembers it, is that row's past
(no ``gone``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol import ProbeName, Sample
from protocol.samples import DiscoveryData, Host, Printer, Service, UnsetType, given, salvage
from protocol.samples.legacy_inventory import HOST_TABLE, upgrade_discovery
from protocol.tr181 import UNKNOWN_TIME, vendor

from .care.identity import GENERIC_NAMES, Sighting, is_randomized, merge_rotations
from .storage.inventory import InventoryDevice, InventoryEvent

DISCOVERY_PROBE = ProbeName.DISCOVERY
MAX_HOSTS = 1024
MAX_SERVICES = 4096
MAX_JSON_FIELD = 64
#: Earlier MACs kept per device (a phone rotating daily keeps about two weeks).
MAX_PREVIOUS_MACS = 16
__all__ = ["DISCOVERY_PROBE", "apply_inventory"]


def _text(value: str | UnsetType, limit: int) -> str:
    return "" if isinstance(value, UnsetType) else value[:limit]


def _texts(value: list[str] | UnsetType, limit: int, count: int = MAX_JSON_FIELD) -> list[str]:
    return [v[:limit] for v in given(value, [])[:count]]


def _printer(host: Host) -> Printer | None:
    printer = host.Printer
    return None if printer is None or isinstance(printer, UnsetType) else printer


def _printer_state(host: Host) -> tuple[str, str]:
    printer = _printer(host)
    if host.Kind != "printer" and printer is None:
        return "", ""
    if not given(host.Active, True):
        reason = _text(printer.reason, 512) if printer is not None else ""
        return "offline", reason or "not seen in the last discovery cycle"
    if printer is not None and given(printer.status, None) not in (None, "Complete", "Error_NoIPP"):
        return "offline", _text(printer.reason, 512) or _text(printer.status, 64)
    return "online", ""


def _event(session: Session, agent_id: str, key: str, at: datetime, event: str, **details: Any) -> None:
    session.add(InventoryEvent(agent_id=agent_id, device_key=key, at=at, event=event, details=details))


def _items(data: Mapping[str, Any], *path: str) -> list[Any] | None:
    """The JSON array at ``path`` (``Hosts``, ``Host``), or None where something is not an object."""
    value: Any = data
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value if isinstance(value, list) else None


def _hosts(data: Mapping[str, Any]) -> list[tuple[Host, list[Service]]] | None:
    """The report's hosts, typed, each with its services; a host that is not one at all is left
    out (checked at decode, so only data stored some other way has any)."""
    raw_hosts = _items(data, "Hosts", "Host")
    if raw_hosts is None:
        return None
    # Positions are kept (None for junk) so that a reference's instance number finds its row.
    rows = [salvage(Host, raw) for raw in raw_hosts[:MAX_HOSTS]]
    services: dict[int, list[Service]] = {}
    for raw in (_items(data, "DNS", "SD", "Service") or [])[:MAX_SERVICES]:
        service = salvage(Service, raw)
        if service is None:
            continue
        for ref in given(service.Host, [])[:16]:
            index = _instance(ref)
            if index is not None and index <= len(rows) and rows[index - 1] is not None:
                own = services.setdefault(index, [])
                if len(own) < MAX_JSON_FIELD:
                    own.append(msgspec.structs.replace(service, Host=msgspec.UNSET))
    return [(h, services.get(n, [])) for n, h in enumerate(rows, start=1) if h is not None]


def _instance(reference: str) -> int | None:
    """``Device.Hosts.Host.3`` (a trailing dot allowed) -> 3; None for any other path."""
    number = reference.removeprefix(HOST_TABLE).rstrip(".")
    if not reference.startswith(HOST_TABLE) or not number.isdigit() or len(number) > 6:
        return None
    return int(number) or None


def _time(value: str | UnsetType) -> datetime | None:
    """A TR-106 ``dateTime``; None for the unknown time or what is not one."""
    if isinstance(value, UnsetType) or value == UNKNOWN_TIME:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _addresses(host: Host) -> list[str]:
    """Every address of the host, the primary first (IPv4 table, then IPv6); text that is no
    address at all is left out."""
    table = [given(a.IPAddress, "") for a in [*given(host.IPv4Address, []), *given(host.IPv6Address, [])]]
    primary = given(host.IPAddress, "")
    return [a for a in dict.fromkeys([primary, *table]) if _is_address(a)]


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _json(value: msgspec.Struct) -> dict[str, Any]:
    """A part of a host as the JSON column keeps it: the agent's names, nothing it left out."""
    built: dict[str, Any] = msgspec.to_builtins(value)
    return built


def _evidence_of(services: list[dict[str, Any]]) -> tuple[frozenset[str], frozenset[str]]:
    """DNS-SD instance names (``name.type``) and service types, as identity.py compares them."""
    instances: set[str] = set()
    types: set[str] = set()
    for service in services:
        name, kind = service.get("InstanceName"), service.get(vendor("Type"), service.get("Type"))
        if isinstance(kind, str) and kind:
            types.add(kind.lower())
            if isinstance(name, str) and name:
                instances.add(f"{name}.{kind}".lower())
    return frozenset(instances), frozenset(types)


def _sighting(device: InventoryDevice) -> Sighting:
    instances, types = _evidence_of(list(device.services))
    kind = device.kind if device.kind != "unknown" else None
    first = device.mac_since or device.first_seen
    return Sighting(
        device.mac.lower(),
        first,
        device.last_seen,
        device.hostname,
        kind,
        device.random_mac,
        instances,
        types,
    )


def _rotations(
    hosts: list[tuple[Host, list[Service]]], known: Mapping[str, InventoryDevice], at: datetime
) -> dict[str, InventoryDevice]:
    """New keys of this report that are a silent device of the home under a rotated MAC.

    Only a host new to the cloud, active, with a randomised MAC can be one, and only a device not
    active in this report and not seen at this moment can be what it replaced: two devices seen at
    the same time are two devices. A name another active host carries identifies neither.
    """
    active: dict[str, Host] = {}
    for h, _ in hosts:
        if given(h.Active, True):
            active.setdefault(_text(h.Key, 64), h)
    names = [_text(h.HostName, 255).strip().lower() for h in active.values()]
    fresh: dict[str, tuple[Host, Sighting]] = {}
    for host, services in hosts:
        key, mac = _text(host.Key, 64), _text(host.PhysAddress, 17).lower()
        if key in known or key not in active or active[key] is not host or not mac:
            continue
        if not is_randomized(mac, given(host.RandomMAC, None)):
            continue
        name = _text(host.HostName, 255).strip().lower()
        if name not in GENERIC_NAMES and names.count(name) > 1:
            continue
        instances, types = _evidence_of([_json(s) for s in services])
        # The agent's first sighting of this key (0 when it did not say): earlier than the old
        # device's last sighting means both were there at once.
        first = _moment(given(host.FirstSeen, 0.0)) or at
        kind = _text(host.Kind, 32)
        fresh[mac] = (
            host,
            Sighting(
                mac,
                min(first, at),
                at,
                name,
                kind if kind not in ("", "unknown") else None,
                True,
                instances,
                types,
            ),
        )
    if not fresh:
        return {}
    silent = {
        d.mac.lower(): d
        for k, d in known.items()
        if k not in active
        and d.mac
        and d.last_seen < at
        and d.reported_at < at
        and d.mac.lower() not in fresh
    }
    if not silent:
        return {}
    merged = merge_rotations([*(_sighting(d) for d in silent.values()), *(s for _, s in fresh.values())])
    out: dict[str, InventoryDevice] = {}
    for mac, (host, _sight) in fresh.items():
        olds = [d for m, d in silent.items() if merged.get(m) == mac]
        if olds:
            # A chain the cloud missed merges into its latest link; the older rows stay as they are.
            out[_text(host.Key, 64)] = max(olds, key=lambda d: d.last_seen)
    return out


def _moment(value: float) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value > 0 else None


def _remember_mac(device: InventoryDevice, until: datetime) -> None:
    """Keep the device's current MAC (and key) as history before it takes another."""
    if not device.mac:
        return
    entry = {
        "mac": device.mac,
        "key": device.key,
        "first_seen": (device.mac_since or device.first_seen).isoformat(),
        "last_seen": until.isoformat(),
    }
    kept = [p for p in device.previous_macs if isinstance(p, dict) and p.get("mac") != device.mac]
    device.previous_macs = [*kept, entry][-MAX_PREVIOUS_MACS:]


def apply_inventory(session: Session, agent_id: str, sample: Sample) -> int:
    """Fold one discovery sample in; returns how many events it produced."""
    at = datetime.fromtimestamp(sample.at, UTC)
    data = upgrade_discovery(dict(sample.data))
    report = salvage(DiscoveryData, {k: v for k, v in data.items() if k not in ("Hosts", "DNS")})
    if report is not None and report.Unchanged is True:
        # The same inventory as the agent's last full report: every active device was seen again.
        session.execute(
            update(InventoryDevice)
            .where(
                InventoryDevice.agent_id == agent_id,
                InventoryDevice.active.is_(True),
                InventoryDevice.reported_at < at,
            )
            .values(last_seen=at, reported_at=at)
        )
        return 0
    hosts = _hosts(data)
    if hosts is None:
        return 0
    known = {
        d.key: d for d in session.scalars(select(InventoryDevice).where(InventoryDevice.agent_id == agent_id))
    }
    events = 0
    rotated = _rotations(hosts, known, at)
    for key, merged in rotated.items():
        old_key, old_mac = merged.key, merged.mac
        _remember_mac(merged, merged.last_seen)
        del known[old_key]
        merged.key, known[key] = key, merged
        merged.mac, merged.mac_since = "", None  # the host's MAC, since now, below
        _event(session, agent_id, key, at, "mac_changed", previous_mac=old_mac, previous_key=old_key)
        events += 1
    # Keys a device had before a rotation the cloud merged: the agent reports them inactive until
    # it forgets them, and they are that device's past, not a device that left.
    past = {str(p.get("key")) for d in known.values() for p in d.previous_macs if isinstance(p, dict)}
    named: set[str] = set()
    for host, services in hosts:
        key = _text(host.Key, 64)
        if not key or key in named:
            continue
        named.add(key)
        device = known.get(key)
        active = given(host.Active, True)
        if device is None and not active and key in past:
            continue
        if device is not None and device.reported_at >= at:
            continue  # a newer report already spoke for this device
        state, reason = _printer_state(host)
        if device is None:
            device = InventoryDevice(
                agent_id=agent_id, key=key, first_seen=at, last_seen=at, active=active, mac_since=at
            )
            session.add(device)
            known[key] = device
            _event(session, agent_id, key, at, "new", kind=_text(host.Kind, 32), active=active)
            events += 1
        elif key not in rotated:  # one back under a rotated MAC: its mac_changed event says so
            if device.active and not active:
                _event(session, agent_id, key, at, "gone", last_seen=device.last_seen.isoformat())
                events += 1
            elif not device.active and active:
                _event(session, agent_id, key, at, "back")
                events += 1
            if device.printer_state and state and state != device.printer_state:
                name = "printer_offline" if state == "offline" else "printer_online"
                _event(session, agent_id, key, at, name, reason=reason)
                events += 1
        device.active_last_change = _time(host.ActiveLastChange) or device.active_last_change
        device.active = active
        if active:
            mac = _text(host.PhysAddress, 17)
            if device.mac and mac and mac.lower() != device.mac.lower():
                # The agent knew it under its new MAC too: the same device, the old MAC its past.
                _event(session, agent_id, key, at, "mac_changed", previous_mac=device.mac, previous_key=key)
                events += 1
                _remember_mac(device, device.last_seen)
                device.mac_since = at
            elif mac and device.mac_since is None and not device.mac:
                device.mac_since = at
            device.last_seen = at
            device.mac = mac
            device.ips = [a[:45] for a in _addresses(host)[:8]]
            device.ip_address = device.ips[0] if device.ips else ""
            device.interface_type = _text(host.InterfaceType, 16)
            device.layer3_interface = _text(host.Layer3Interface, 256)
            device.hostname = _text(host.HostName, 255)
            device.vendor = _text(host.Vendor, 255)
            device.random_mac = given(host.RandomMAC, False)
            device.kind = _text(host.Kind, 32) or "unknown"
            device.evidence = _texts(host.KindEvidence, 200)
            device.sources = _texts(host.Sources, 16)
            device.services = [_json(s) for s in services]
            upnp = given(host.UPnP, None)
            device.upnp = _json(upnp) if upnp is not None else None
        printer = _printer(host)
        if printer is not None and (active or device.printer is None):
            device.printer = _json(printer)
        device.printer_state, device.printer_reason = state, reason
        device.reported_at = at
    for key, device in known.items():
        if key not in named and device.active and device.reported_at < at:
            # The agent forgot it (not seen for its whole memory): gone for the cloud too.
            device.active = False
            device.reported_at = at
            if device.printer_state:
                device.printer_state, device.printer_reason = "offline", "no longer reported by the agent"
            _event(session, agent_id, key, at, "gone", last_seen=device.last_seen.isoformat())
            events += 1
    return events
