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
from protocol.tr181 import UNKNOWN_TIME

from .storage.inventory import InventoryDevice, InventoryEvent

DISCOVERY_PROBE = ProbeName.DISCOVERY
MAX_HOSTS = 1024
MAX_SERVICES = 4096
MAX_JSON_FIELD = 64
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
    named: set[str] = set()
    for host, services in hosts:
        key = _text(host.Key, 64)
        if not key or key in named:
            continue
        named.add(key)
        device = known.get(key)
        if device is not None and device.reported_at >= at:
            continue  # a newer report already spoke for this device
        active = given(host.Active, True)
        state, reason = _printer_state(host)
        if device is None:
            device = InventoryDevice(agent_id=agent_id, key=key, first_seen=at, last_seen=at, active=active)
            session.add(device)
            known[key] = device
            _event(session, agent_id, key, at, "new", kind=_text(host.Kind, 32), active=active)
            events += 1
        else:
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
            device.last_seen = at
            device.mac = _text(host.PhysAddress, 17)
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
