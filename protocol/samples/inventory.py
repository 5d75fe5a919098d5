"""What is in the home: the ``discovery`` sample's ``Device.Hosts.Host.{i}`` entries with their
DNS-SD services (``Device.DNS.SD.Service.{i}``), UPnP and IPP details, and the ``discover`` and
``printer_check`` commands (agent/discovery/).

Text bounds are the agent's sanitiser's (agent/discovery/const.py) with room to spare: where TR-181
is tighter (``HostName`` 64, ``InstanceName`` 63) the agent sends up to 128 characters today.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from .base import SampleData
from .fields import (
    UNSET,
    Address,
    Count,
    Maybe,
    Message,
    Name,
    Port,
    ShortText,
    Status,
    Url,
    WireTime,
)

#: The agent's key of a device (``mac-...`` or ``dev-...``): stable across cycles.
DeviceKey = Annotated[str, Meta(max_length=64)]
PhysAddress = Annotated[str, Meta(max_length=64)]
TextRecord = Annotated[
    dict[Annotated[str, Meta(max_length=255)], Annotated[str, Meta(max_length=255)]], Meta(max_length=64)
]
Texts = Annotated[list[ShortText], Meta(max_length=256)]
Seconds = Annotated[float, Meta(ge=0, le=3600)]


class Service(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.DNS.SD.Service.{i}`` (TR-181), with its DNS-SD ``Type`` (``_ipp._tcp``)."""

    InstanceName: Maybe[Name] = UNSET
    ApplicationProtocol: Maybe[Name] = UNSET
    TransportProtocol: Maybe[Literal["TCP", "UDP"]] = UNSET
    Port: Maybe[Port] = UNSET
    TextRecord: Maybe[TextRecord] = UNSET
    Type: Maybe[Name] = UNSET


class UPnP(msgspec.Struct, frozen=True, kw_only=True):
    """What an SSDP answer and its device description said."""

    location: Maybe[Url] = UNSET
    server: Maybe[ShortText] = UNSET
    device_type: Maybe[ShortText] = UNSET
    friendly_name: Maybe[ShortText] = UNSET
    manufacturer: Maybe[ShortText] = UNSET
    model_name: Maybe[ShortText] = UNSET
    udn: Maybe[ShortText] = UNSET


class Marker(msgspec.Struct, frozen=True, kw_only=True):
    """A toner or ink cartridge (IPP ``marker-*``); ``level`` is a percentage or IPP's -1/-2/-3."""

    name: Maybe[ShortText] = UNSET
    level: Maybe[Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)] | None] = UNSET
    color: Maybe[ShortText] = UNSET
    type: Maybe[ShortText] = UNSET


class Printer(msgspec.Struct, frozen=True, kw_only=True):
    """IPP Get-Printer-Attributes in a technician's names, or ``status: Error_...`` with ``reason``
    (and the printer's TXT facts, ``txt``, when discovery found it)."""

    status: Maybe[Status] = UNSET
    uri: Maybe[Url] = UNSET
    state: Maybe[Name] = UNSET
    state_reasons: Maybe[Texts] = UNSET
    state_message: Maybe[ShortText] = UNSET
    make_and_model: Maybe[ShortText] = UNSET
    name: Maybe[ShortText] = UNSET
    info: Maybe[ShortText] = UNSET
    location: Maybe[ShortText] = UNSET
    uuid: Maybe[ShortText] = UNSET
    document_formats: Maybe[Texts] = UNSET
    color: Maybe[bool] = UNSET
    duplex: Maybe[bool] = UNSET
    markers: Maybe[Annotated[list[Marker], Meta(max_length=256)]] = UNSET
    uris: Maybe[Texts] = UNSET
    admin_url: Maybe[Url] = UNSET
    firmware: Maybe[ShortText] = UNSET
    reason: Maybe[Message] = UNSET
    txt: Maybe[TextRecord] = UNSET


class Host(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.Hosts.Host.{i}`` (TR-181) with what discovery learnt about it.

    ``IPAddress`` is every address seen (TR-181 has one, and the address tables: issue 19).
    """

    Key: Maybe[DeviceKey] = UNSET
    PhysAddress: Maybe[PhysAddress] = UNSET
    IPAddress: Maybe[Annotated[list[Address], Meta(max_length=64)]] = UNSET
    HostName: Maybe[Name] = UNSET
    Active: Maybe[bool] = UNSET
    Vendor: Maybe[ShortText] = UNSET
    RandomMAC: Maybe[bool] = UNSET
    Kind: Maybe[Name] = UNSET
    KindEvidence: Maybe[Texts] = UNSET
    Sources: Maybe[Annotated[list[Name], Meta(max_length=64)]] = UNSET
    FirstSeen: Maybe[WireTime] = UNSET
    LastSeen: Maybe[WireTime] = UNSET
    Services: Maybe[Annotated[list[Service], Meta(max_length=256)]] = UNSET
    UPnP: Maybe[UPnP | None] = UNSET
    Printer: Maybe[Printer | None] = UNSET


class DiscoveryData(SampleData, frozen=True, kw_only=True):
    """``discovery``: the whole inventory (``Hosts``), or its hash and ``Unchanged`` only."""

    HostNumberOfEntries: Maybe[Count] = UNSET
    ActiveHosts: Maybe[Count] = UNSET
    InventoryHash: Maybe[Annotated[str, Meta(max_length=128)]] = UNSET
    #: Each method's outcome: ``Complete``, ``Disabled`` or ``Error_...: why``.
    Methods: Maybe[Annotated[dict[Name, Message], Meta(max_length=64)]] = UNSET
    #: Bad input met this cycle, by reason (``txt_binary``, ``name_truncated``...).
    Counters: Maybe[Annotated[dict[Name, Count], Meta(max_length=1024)]] = UNSET
    DurationS: Maybe[Seconds] = UNSET
    Unchanged: Maybe[bool] = UNSET
    Hosts: Maybe[Annotated[list[Host], Meta(max_length=1024)]] = UNSET


class FoundService(msgspec.Struct, frozen=True, kw_only=True):
    """A DNS-SD service in the ``discover`` command's short names."""

    type: Maybe[Name] = UNSET
    name: Maybe[Name] = UNSET
    port: Maybe[Port] = UNSET
    txt: Maybe[TextRecord] = UNSET


class FoundDevice(msgspec.Struct, frozen=True, kw_only=True):
    """A device as ``homediag-agent discover --json`` and the ``discover`` command show it."""

    key: Maybe[DeviceKey] = UNSET
    mac: Maybe[PhysAddress | None] = UNSET
    ip: Maybe[Annotated[list[Address], Meta(max_length=64)]] = UNSET
    hostname: Maybe[Name | None] = UNSET
    vendor: Maybe[ShortText | None] = UNSET
    random_mac: Maybe[bool] = UNSET
    kind: Maybe[Name] = UNSET
    evidence: Maybe[Texts] = UNSET
    sources: Maybe[Annotated[list[Name], Meta(max_length=64)]] = UNSET
    services: Maybe[Annotated[list[FoundService], Meta(max_length=256)]] = UNSET
    upnp: Maybe[UPnP | None] = UNSET
    printer: Maybe[Printer | None] = UNSET
    active: Maybe[bool] = UNSET


class DiscoverResult(SampleData, frozen=True, kw_only=True):
    """The ``discover`` command: one cycle now, in the CLI's short names."""

    devices: Maybe[Annotated[list[FoundDevice], Meta(max_length=1024)]] = UNSET
    methods: Maybe[Annotated[dict[Name, Message], Meta(max_length=64)]] = UNSET
    counters: Maybe[Annotated[dict[Name, Count], Meta(max_length=1024)]] = UNSET
    duration_s: Maybe[Seconds] = UNSET
    interfaces: Maybe[Annotated[list[Name], Meta(max_length=256)]] = UNSET


__all__ = [
    "DiscoverResult",
    "DiscoveryData",
    "FoundDevice",
    "FoundService",
    "Host",
    "Marker",
    "Printer",
    "Service",
    "UPnP",
]
