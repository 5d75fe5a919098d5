"""What is in the home: the ``discovery`` sample, rooted at TR-181's ``Device.``: the
``Hosts.Host.{i}`` table and the ``DNS.SD.Service.{i}`` table, joined by each service's ``Host``
references; UPnP and IPP details under vendor names; the ``discover`` and ``printer_check`` commands
(agent/discovery/).

Types and lengths are TR-181 2.19's (``HostName`` 64, ``InstanceName`` 63, ``ApplicationProtocol``
15): the agent cuts longer text and counts it in the sample's ``Counters``. Every name the model
lacks is a vendor extension (:func:`protocol.tr181.vendor`). An older agent's shape (a ``Hosts``
list with per-host ``Services``) is read through :func:`.legacy_inventory.upgrade_discovery`.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from ..tr181 import vendor
from .base import SampleData
from .fields import (
    UNSET,
    Address,
    Count,
    DateTime,
    Maybe,
    Message,
    Name,
    Port,
    ShortText,
    Status,
    Url,
    WireTime,
)
from .legacy import RESHAPE
from .legacy_inventory import upgrade_discovery

#: The agent's key of a device (``mac-...`` or ``dev-...``): stable across cycles.
DeviceKey = Annotated[str, Meta(max_length=64)]
PhysAddress = Annotated[str, Meta(max_length=64)]
TextRecord = Annotated[
    dict[Annotated[str, Meta(max_length=255)], Annotated[str, Meta(max_length=255)]], Meta(max_length=64)
]
Texts = Annotated[list[ShortText], Meta(max_length=256)]
Seconds = Annotated[float, Meta(ge=0, le=3600)]
#: TR-181 ``string(:256)`` references (``Device.IP.Interface.2``, ``Device.Hosts.Host.3``).
Reference = Annotated[str, Meta(max_length=256)]
#: ``Device.Hosts.Host.{i}.HostName`` is ``string(:64)``.
HostName = Annotated[str, Meta(max_length=64)]
#: ``Device.DNS.SD.Service.{i}.InstanceName`` is ``string(:63)`` (RFC 6763 section 4.1.1).
InstanceName = Annotated[str, Meta(max_length=63)]
#: ``ApplicationProtocol`` is ``string(:15)``: a DNS-SD service name (RFC 6763 section 7.2).
ApplicationProtocol = Annotated[str, Meta(max_length=15)]
DomainName = Annotated[str, Meta(max_length=256)]
UInt16 = Annotated[int, Meta(ge=0, le=65535)]
#: ``TimeToLive`` is ``unsignedInt(:2147483647)`` (RFC 2181 section 8).
TimeToLive = Annotated[int, Meta(ge=0, le=2_147_483_647)]
#: ``Hosts.Host.{i}.InterfaceType``: the model's enumeration.
InterfaceType = Literal["Ethernet", "G.hn", "HPNA", "HomePlug", "MoCA", "UPA", "Wi-Fi", "Other"]
#: ``DNS.SD.Service.{i}.Status``: the model's enumeration.
ServiceStatus = Literal["LeaseActive", "GoodbyeReceived", "LeaseExpired"]

MAX_HOSTS = 1024
MAX_SERVICES = 4096
MAX_ADDRESSES = 64


class TextRecordEntry(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.DNS.SD.Service.{i}.TextRecord.{i}`` (RFC 6763 section 6: one ``key=value``)."""

    Key: Maybe[Annotated[str, Meta(max_length=255)]] = UNSET
    Value: Maybe[Annotated[str, Meta(max_length=255)]] = UNSET


class Service(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.DNS.SD.Service.{i}`` (TR-181): a resolved instance with its SRV record's fields,
    and its DNS-SD type (``_ipp._tcp``) as a vendor extension."""

    InstanceName: Maybe[InstanceName] = UNSET
    ApplicationProtocol: Maybe[ApplicationProtocol] = UNSET
    TransportProtocol: Maybe[Literal["TCP", "UDP"]] = UNSET
    Domain: Maybe[DomainName] = UNSET
    Port: Maybe[Port] = UNSET
    #: The SRV target, a FQDN with its trailing dot (RFC 2782).
    Target: Maybe[DomainName] = UNSET
    Status: Maybe[ServiceStatus] = UNSET
    LastUpdate: Maybe[DateTime] = UNSET
    #: ``Device.Hosts.Host.{i}`` of this sample's ``Hosts.Host`` table (a list of references).
    Host: Maybe[Annotated[list[Reference], Meta(max_length=16)]] = UNSET
    TimeToLive: Maybe[TimeToLive] = UNSET
    Priority: Maybe[UInt16] = UNSET
    Weight: Maybe[UInt16] = UNSET
    TextRecordNumberOfEntries: Maybe[Count] = UNSET
    TextRecord: Maybe[Annotated[list[TextRecordEntry], Meta(max_length=64)]] = UNSET
    Type: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("Type"))


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


class HostAddress(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.Hosts.Host.{i}.IPv4Address.{i}`` / ``IPv6Address.{i}``."""

    IPAddress: Maybe[Address] = UNSET


class Host(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.Hosts.Host.{i}`` (TR-181) with what discovery learnt about it (vendor names).

    ``IPAddress`` is the primary address (the first IPv4 one); every address is in the tables.
    ``Layer1Interface`` is the model's empty string: the agent cannot tell which port or radio of
    which box a host hangs off. ``AddressSource`` was deleted from the model in 2.15.
    """

    PhysAddress: Maybe[PhysAddress] = UNSET
    IPAddress: Maybe[Address] = UNSET
    Layer1Interface: Maybe[Reference] = UNSET
    Layer3Interface: Maybe[Reference] = UNSET
    InterfaceType: Maybe[InterfaceType] = UNSET
    HostName: Maybe[HostName] = UNSET
    Active: Maybe[bool] = UNSET
    ActiveLastChange: Maybe[DateTime] = UNSET
    IPv4AddressNumberOfEntries: Maybe[Count] = UNSET
    IPv6AddressNumberOfEntries: Maybe[Count] = UNSET
    IPv4Address: Maybe[Annotated[list[HostAddress], Meta(max_length=MAX_ADDRESSES)]] = UNSET
    IPv6Address: Maybe[Annotated[list[HostAddress], Meta(max_length=MAX_ADDRESSES)]] = UNSET
    Key: Maybe[DeviceKey] = msgspec.field(default=UNSET, name=vendor("Key"))
    Vendor: Maybe[ShortText] = msgspec.field(default=UNSET, name=vendor("Vendor"))
    RandomMAC: Maybe[bool] = msgspec.field(default=UNSET, name=vendor("RandomMAC"))
    Kind: Maybe[Name] = msgspec.field(default=UNSET, name=vendor("Kind"))
    KindEvidence: Maybe[Texts] = msgspec.field(default=UNSET, name=vendor("KindEvidence"))
    Sources: Maybe[Annotated[list[Name], Meta(max_length=64)]] = msgspec.field(
        default=UNSET, name=vendor("Sources")
    )
    FirstSeen: Maybe[WireTime] = msgspec.field(default=UNSET, name=vendor("FirstSeen"))
    LastSeen: Maybe[WireTime] = msgspec.field(default=UNSET, name=vendor("LastSeen"))
    UPnP: Maybe[UPnP | None] = msgspec.field(default=UNSET, name=vendor("UPnP"))
    Printer: Maybe[Printer | None] = msgspec.field(default=UNSET, name=vendor("Printer"))


class Hosts(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.Hosts.``: the table, its entry count, and how many are active (ours)."""

    HostNumberOfEntries: Maybe[Count] = UNSET
    ActiveHosts: Maybe[Count] = msgspec.field(default=UNSET, name=vendor("ActiveHosts"))
    Host: Maybe[Annotated[list[Host], Meta(max_length=MAX_HOSTS)]] = UNSET


class DNSSD(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.DNS.SD.``: the services found, each pointing at its hosts."""

    ServiceNumberOfEntries: Maybe[Count] = UNSET
    Service: Maybe[Annotated[list[Service], Meta(max_length=MAX_SERVICES)]] = UNSET


class DNS(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.DNS.``: only its ``SD`` object."""

    SD: Maybe[DNSSD] = UNSET


class DiscoveryData(SampleData, frozen=True, kw_only=True):
    """``discovery`` (data rooted at ``Device.``): the whole inventory (``Hosts`` and ``DNS``), or
    its hash and ``Unchanged`` only."""

    Hosts: Maybe[Hosts] = UNSET
    DNS: Maybe[DNS] = UNSET
    InventoryHash: Maybe[Annotated[str, Meta(max_length=128)]] = msgspec.field(
        default=UNSET, name=vendor("InventoryHash")
    )
    #: Each method's outcome: ``Complete``, ``Disabled`` or ``Error_...: why``.
    Methods: Maybe[Annotated[dict[Name, Message], Meta(max_length=64)]] = msgspec.field(
        default=UNSET, name=vendor("Methods")
    )
    #: Bad input met this cycle, by reason (``txt_binary``, ``hostname_truncated``...).
    Counters: Maybe[Annotated[dict[Name, Count], Meta(max_length=1024)]] = msgspec.field(
        default=UNSET, name=vendor("Counters")
    )
    DurationS: Maybe[Seconds] = msgspec.field(default=UNSET, name=vendor("DurationS"))
    Unchanged: Maybe[bool] = msgspec.field(default=UNSET, name=vendor("Unchanged"))


RESHAPE["discovery"] = upgrade_discovery


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
    "DNS",
    "DNSSD",
    "DiscoverResult",
    "DiscoveryData",
    "FoundDevice",
    "FoundService",
    "Host",
    "HostAddress",
    "Hosts",
    "Marker",
    "Printer",
    "Service",
    "TextRecordEntry",
    "UPnP",
]
