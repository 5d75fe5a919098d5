"""The home inventory: a home's devices with their services and printer details, and their history."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import msgspec
from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel
from sqlalchemy import select

from protocol.samples import UNSET, Service
from protocol.samples.legacy_inventory import split_addresses, upgrade_service

from ...storage import InventoryDevice, InventoryEvent
from ..auth import PrincipalDep, check_agent
from ..deps import Limit, NameFilter, ObjectId, SessionDep, Text

#: A device's key as its agent named it (a MAC, or another stable name of up to 64 characters).
DeviceKey = Annotated[Text, Path(min_length=1, max_length=64)]

router = APIRouter(prefix="/agents", tags=["devices"])


class TextRecordPublic(BaseModel):
    """``Device.DNS.SD.Service.{i}.TextRecord.{i}``: one TXT ``key=value``."""

    Key: str = ""
    Value: str = ""


class ServicePublic(BaseModel):
    """``Device.DNS.SD.Service.{i}`` (TR-181): the fields of the protocol's ``Service`` but its
    ``Host`` (the service is listed under its host), built by :func:`_service`
    (tests/cloud/test_devices_model.py keeps the two in step). ``Type`` is the DNS-SD type."""

    InstanceName: str = ""
    ApplicationProtocol: str = ""
    TransportProtocol: str = ""
    Domain: str = ""
    Port: int = 0
    Target: str = ""
    Status: str = ""
    LastUpdate: str = ""
    TimeToLive: int = 0
    Priority: int = 0
    Weight: int = 0
    TextRecordNumberOfEntries: int = 0
    TextRecord: list[TextRecordPublic] = []
    Type: str = ""


#: The TR-181 names :class:`DevicePublic` takes from the protocol's ``Host`` as they are; the rest
#: are the inventory's own (``key`` for ``Key``, ``vendor`` for ``Vendor``, ...: :data:`HOST_NAMES`)
#: or left out (:data:`HOST_LEFT_OUT`). ``IPv4Address``/``IPv6Address`` are lists of addresses.
HOST_FIELDS = (
    "PhysAddress",
    "IPAddress",
    "IPv4Address",
    "IPv6Address",
    "HostName",
    "Active",
    "ActiveLastChange",
    "InterfaceType",
    "Layer3Interface",
)
HOST_NAMES = {
    "key": "Key",
    "vendor": "Vendor",
    "random_mac": "RandomMAC",
    "kind": "Kind",
    "evidence": "KindEvidence",
    "sources": "Sources",
    "first_seen": "FirstSeen",
    "last_seen": "LastSeen",
    "upnp": "UPnP",
    "printer": "Printer",
}
#: The tables' entry counts are the lists' lengths; ``Layer1Interface`` is always TR-181's empty
#: reference from an agent (it cannot see which port or radio a host is behind).
HOST_LEFT_OUT = ("IPv4AddressNumberOfEntries", "IPv6AddressNumberOfEntries", "Layer1Interface")


class DevicePublic(BaseModel):
    """``Device.Hosts.Host.{i}`` (TR-181) with what discovery learnt about it: the protocol's
    ``Host`` (:data:`HOST_FIELDS`, :data:`HOST_NAMES`) with its ``DNS.SD`` services and the
    inventory's printer state. ``ActiveLastChange`` is None when the agent did not know it."""

    key: str
    PhysAddress: str
    IPAddress: str
    IPv4Address: list[str]
    IPv6Address: list[str]
    HostName: str
    Active: bool
    ActiveLastChange: datetime | None
    InterfaceType: str
    Layer3Interface: str
    vendor: str
    random_mac: bool
    kind: str
    evidence: list[str]
    sources: list[str]
    first_seen: datetime
    last_seen: datetime
    services: list[ServicePublic]
    upnp: dict[str, Any] | None
    printer_state: str
    printer_reason: str
    printer: dict[str, Any] | None
    #: Cloud-only (not in TR-181's Host): the MACs it used before, oldest first (cloud/inventory.py).
    previous_macs: list[PreviousMacPublic] = []


class PreviousMacPublic(BaseModel):
    """A MAC the device used before (its randomised MAC rotated), with the agent's key then."""

    mac: str
    key: str
    first_seen: datetime | None
    last_seen: datetime | None


class EventPublic(BaseModel):
    device_key: str
    at: datetime
    event: str
    details: dict[str, Any]


class DeviceHistory(BaseModel):
    device: DevicePublic
    events: list[EventPublic]


class DeviceList(BaseModel):
    agent_id: str
    count: int
    active: int
    devices: list[DevicePublic]


def _service(stored: object) -> ServicePublic | None:
    """A stored service read as the protocol's ``Service`` (one stored by the cloud before issue 19
    upgraded first); None for one that is not one."""
    if isinstance(stored, Mapping) and ("Type" in stored or isinstance(stored.get("TextRecord"), Mapping)):
        stored = upgrade_service(stored)
    try:
        service = msgspec.convert(stored, Service)
    except msgspec.ValidationError:
        return None  # stored as the agent sent it; one odd entry must not hide the device
    fields = {name: getattr(service, name) for name in ServicePublic.model_fields}
    given = {name: value for name, value in fields.items() if value is not UNSET}
    if "TextRecord" in given:
        given["TextRecord"] = [TextRecordPublic(**msgspec.to_builtins(t)) for t in given["TextRecord"]]
    return ServicePublic(**given)


def _public(d: InventoryDevice) -> DevicePublic:
    services = [s for s in map(_service, d.services) if s is not None]
    _primary, v4, v6 = split_addresses(list(d.ips))
    return DevicePublic(
        key=d.key,
        PhysAddress=d.mac,
        # Rows from before the primary address was kept: their first address was the primary.
        IPAddress=d.ip_address or (d.ips[0] if d.ips else ""),
        IPv4Address=v4,
        IPv6Address=v6,
        HostName=d.hostname,
        Active=d.active,
        ActiveLastChange=d.active_last_change,
        InterfaceType=d.interface_type,
        Layer3Interface=d.layer3_interface,
        vendor=d.vendor,
        random_mac=d.random_mac,
        kind=d.kind,
        evidence=list(d.evidence),
        sources=list(d.sources),
        first_seen=d.first_seen,
        last_seen=d.last_seen,
        services=services,
        upnp=d.upnp,
        printer_state=d.printer_state,
        printer_reason=d.printer_reason,
        printer=d.printer,
        previous_macs=[p for p in map(_previous, d.previous_macs or []) if p is not None],
    )


def _previous(stored: object) -> PreviousMacPublic | None:
    if not isinstance(stored, Mapping) or not isinstance(stored.get("mac"), str):
        return None
    return PreviousMacPublic(
        mac=stored["mac"],
        key=str(stored.get("key", "")),
        first_seen=_moment(stored.get("first_seen")),
        last_seen=_moment(stored.get("last_seen")),
    )


def _moment(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


@router.get("/{agent_id}/devices")
def devices(
    agent_id: ObjectId,
    session: SessionDep,
    principal: PrincipalDep,
    kind: NameFilter = None,
    active: bool | None = None,
) -> DeviceList:
    """Staff of the home's tenant, or the home's own subscriber."""
    check_agent(session, principal, agent_id)
    query = select(InventoryDevice).where(InventoryDevice.agent_id == agent_id)
    if kind is not None:
        query = query.where(InventoryDevice.kind == kind)
    if active is not None:
        query = query.where(InventoryDevice.active == active)
    rows = list(session.scalars(query.order_by(InventoryDevice.active.desc(), InventoryDevice.first_seen)))
    return DeviceList(
        agent_id=agent_id,
        count=len(rows),
        active=sum(1 for r in rows if r.active),
        devices=[_public(r) for r in rows],
    )


@router.get("/{agent_id}/devices/events")
def events(
    agent_id: ObjectId, session: SessionDep, principal: PrincipalDep, limit: Limit = 100
) -> list[EventPublic]:
    """The home's inventory history, newest first."""
    check_agent(session, principal, agent_id)
    rows = session.scalars(
        select(InventoryEvent)
        .where(InventoryEvent.agent_id == agent_id)
        .order_by(InventoryEvent.at.desc(), InventoryEvent.id.desc())
        .limit(limit)
    )
    return [EventPublic(device_key=e.device_key, at=e.at, event=e.event, details=e.details) for e in rows]


def _keys(row: InventoryDevice) -> list[str]:
    """The device's key and those it had before a MAC rotation: its history is theirs too."""
    before = [str(p.get("key")) for p in row.previous_macs or [] if isinstance(p, Mapping) and p.get("key")]
    return list(dict.fromkeys([row.key, *before]))


@router.get("/{agent_id}/devices/{key}")
def device(
    agent_id: ObjectId,
    key: DeviceKey,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 100,
) -> DeviceHistory:
    check_agent(session, principal, agent_id)
    row = session.scalar(
        select(InventoryDevice).where(InventoryDevice.agent_id == agent_id, InventoryDevice.key == key)
    )
    if row is None:
        # A key it had before a MAC rotation (a link kept from yesterday): the device it is now.
        homes = session.scalars(select(InventoryDevice).where(InventoryDevice.agent_id == agent_id))
        row = next((d for d in homes if key in _keys(d)), None)
    if row is None:
        raise HTTPException(
            status_code=status.HTTP_404_NOT_FOUND,
            detail="This home has no device by that key; refresh the list of devices and try again.",
        )
    history = session.scalars(
        select(InventoryEvent)
        .where(InventoryEvent.agent_id == agent_id, InventoryEvent.device_key.in_(_keys(row)))
        .order_by(InventoryEvent.at.desc(), InventoryEvent.id.desc())
        .limit(limit)
    )
    return DeviceHistory(
        device=_public(row),
        events=[
            EventPublic(device_key=e.device_key, at=e.at, event=e.event, details=e.details) for e in history
        ],
    )
