"""The home inventory in the cloud: each discovery report folded into devices and events.

The agent reports its whole inventory when it changed, and at least hourly (agent/probes/discovery.py;
in between, ``Unchanged`` moves every active device's last-seen on), so a full report alone says
what is there: devices it names are upserted, an ``Active`` change becomes a ``gone`` or
``back`` event, a device never seen before a ``new`` one, and a device the agent no longer names at
all is marked inactive. Reports arrive exactly once but not necessarily in order (an agent's outbox
drains after an outage): a device row is only changed by a report measured after the one it holds.
A printer is ``online`` or ``offline``, with the reason the agent gave.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from protocol import Sample

from .storage.inventory import InventoryDevice, InventoryEvent

DISCOVERY_PROBE = "discovery"
MAX_HOSTS = 1024
MAX_JSON_FIELD = 64


def _text(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _list_of_text(value: Any, limit: int, count: int = MAX_JSON_FIELD) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v[:limit] for v in value[:count] if isinstance(v, str)]


def _printer_state(host: dict[str, Any]) -> tuple[str, str]:
    printer = host.get("Printer")
    if host.get("Kind") != "printer" and not isinstance(printer, dict):
        return "", ""
    if not host.get("Active", True):
        reason = printer.get("reason") if isinstance(printer, dict) else None
        return "offline", _text(reason, 512) or "not seen in the last discovery cycle"
    if isinstance(printer, dict) and printer.get("status") not in (None, "Complete", "Error_NoIPP"):
        return "offline", _text(printer.get("reason"), 512) or _text(printer.get("status"), 64)
    return "online", ""


def _event(session: Session, agent_id: str, key: str, at: datetime, event: str, **details: Any) -> None:
    session.add(InventoryEvent(agent_id=agent_id, device_key=key, at=at, event=event, details=details))


def apply_inventory(session: Session, agent_id: str, sample: Sample) -> int:
    """Fold one discovery sample in; returns how many events it produced."""
    at = datetime.fromtimestamp(sample.at, UTC)
    if sample.data.get("Unchanged") is True:
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
    hosts = sample.data.get("Hosts")
    if not isinstance(hosts, list):
        return 0
    known = {
        d.key: d for d in session.scalars(select(InventoryDevice).where(InventoryDevice.agent_id == agent_id))
    }
    events = 0
    named: set[str] = set()
    for host in hosts[:MAX_HOSTS]:
        key = _text(host.get("Key") if isinstance(host, dict) else None, 64)
        if not key or key in named:
            continue
        named.add(key)
        device = known.get(key)
        if device is not None and device.reported_at >= at:
            continue  # a newer report already spoke for this device
        active = bool(host.get("Active", True))
        state, reason = _printer_state(host)
        if device is None:
            device = InventoryDevice(agent_id=agent_id, key=key, first_seen=at, last_seen=at, active=active)
            session.add(device)
            known[key] = device
            _event(session, agent_id, key, at, "new", kind=_text(host.get("Kind"), 32), active=active)
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
        device.active = active
        if active:
            device.last_seen = at
            device.mac = _text(host.get("PhysAddress"), 17)
            device.ips = _list_of_text(host.get("IPAddress"), 45, 8)
            device.hostname = _text(host.get("HostName"), 255)
            device.vendor = _text(host.get("Vendor"), 255)
            device.random_mac = bool(host.get("RandomMAC", False))
            device.kind = _text(host.get("Kind"), 32) or "unknown"
            device.evidence = _list_of_text(host.get("KindEvidence"), 200)
            device.sources = _list_of_text(host.get("Sources"), 16)
            services = host.get("Services")
            device.services = (
                [s for s in services[:MAX_JSON_FIELD] if isinstance(s, dict)]
                if isinstance(services, list)
                else []
            )
            upnp = host.get("UPnP")
            device.upnp = upnp if isinstance(upnp, dict) else None
        printer = host.get("Printer")
        if isinstance(printer, dict) and (active or device.printer is None):
            device.printer = printer
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
