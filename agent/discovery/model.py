"""What discovery produces: sightings from each method, and the devices they merge into.

Wire names follow TR-181: a device is a ``Device.Hosts.Host.{i}`` (``PhysAddress``, ``IPAddress``
and the address tables, ``HostName``, ``Active``, ``ActiveLastChange``, ``InterfaceType``,
``Layer3Interface``) and each of its services a ``Device.DNS.SD.Service.{i}`` with its SRV
record's ``Target``, ``Priority``, ``Weight`` and ``TimeToLive``; the services are a table of their
own in the sample (:mod:`.inventory` joins them by reference). The CLI's JSON uses the short
lower-case names of issue 4 (``mac``, ``ip``, ``services``, ...). ``to_wire`` builds the protocol's
Structs (:mod:`protocol.samples.inventory`), so the wire form is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from protocol import samples
from protocol.samples.inventory import HostAddress, TextRecordEntry
from protocol.samples.legacy_inventory import split_addresses
from protocol.tr181 import UNKNOWN_TIME

# Device kinds (issue 4).
PRINTER = "printer"
MEDIA = "media"
SPEAKER = "speaker"
PHONE = "phone"
COMPUTER = "computer"
NETWORK = "network"
IOT = "iot"
UNKNOWN = "unknown"
KINDS = (PRINTER, MEDIA, SPEAKER, PHONE, COMPUTER, NETWORK, IOT, UNKNOWN)

# Sources (which method saw a device).
ARP = "arp"
NEIGH = "neigh"
MDNS = "mdns"
SSDP = "ssdp"
SELF = "self"

#: RFC 6762 section 3: the domain of every mDNS name.
MDNS_DOMAIN = "local"
#: RFC 6762 section 10: the TTL of records naming a host (SRV, A) when the responder says none.
DEFAULT_HOST_TTL_S = 120


def date_time(ts: float | None) -> str:
    """A TR-106 ``dateTime`` in UTC to the microsecond; TR-106's unknown time for no moment."""
    if ts is None or ts <= 0:
        return UNKNOWN_TIME
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(slots=True)
class Service:
    """One DNS-SD service instance, resolved."""

    type: str  # "_ipp._tcp"
    name: str  # instance name, without the type
    port: int
    txt: dict[str, str] = field(default_factory=dict)
    server: str = ""  # host name the SRV record points at, without ".local."
    #: The SRV record (RFC 2782): target as sent (a FQDN with its dot), priority, weight, TTL.
    target: str = ""
    priority: int = 0
    weight: int = 0
    ttl_s: int = DEFAULT_HOST_TTL_S
    #: When the last answer for it came (``time.time()``); 0: not known.
    updated: float = 0.0

    @property
    def protocol(self) -> str:
        return self.type.split(".")[0].lstrip("_")

    @property
    def transport(self) -> Literal["TCP", "UDP"]:
        return "UDP" if self.type.endswith("_udp") else "TCP"

    def to_cli(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "port": self.port, "txt": dict(self.txt)}

    def to_wire(self, now: float) -> samples.Service:
        """``Device.DNS.SD.Service.{i}`` without its ``Host`` (the sample's table sets it).

        ``Status`` is TR-181's reading of the SRV lease at ``now``: active until its TTL runs out.
        """
        active = self.updated <= 0 or now <= self.updated + self.ttl_s
        return samples.Service(
            InstanceName=self.name,
            ApplicationProtocol=self.protocol,
            TransportProtocol=self.transport,
            Domain=MDNS_DOMAIN,
            Port=self.port,
            Target=self.target or (f"{self.server}.{MDNS_DOMAIN}." if self.server else ""),
            Status="LeaseActive" if active else "LeaseExpired",
            LastUpdate=date_time(self.updated),
            TimeToLive=self.ttl_s,
            Priority=self.priority,
            Weight=self.weight,
            TextRecordNumberOfEntries=len(self.txt),
            TextRecord=[TextRecordEntry(Key=k, Value=v) for k, v in self.txt.items()],
            Type=self.type,
        )


@dataclass(slots=True)
class UpnpInfo:
    """What an SSDP answer and its device description said."""

    location: str = ""
    server: str = ""
    device_type: str = ""
    friendly_name: str = ""
    manufacturer: str = ""
    model_name: str = ""
    udn: str = ""

    def to_wire(self) -> samples.UPnP:
        return samples.UPnP(
            location=self.location,
            server=self.server,
            device_type=self.device_type,
            friendly_name=self.friendly_name,
            manufacturer=self.manufacturer,
            model_name=self.model_name,
            udn=self.udn,
        )

    def to_dict(self) -> dict[str, str]:
        built: dict[str, str] = msgspec.to_builtins(self.to_wire())
        return built


@dataclass(slots=True)
class Sighting:
    """One method's view of one host in one cycle."""

    source: str
    ip: str = ""
    mac: str = ""
    hostname: str = ""
    services: list[Service] = field(default_factory=list)
    upnp: UpnpInfo | None = None


@dataclass(slots=True)
class Device:
    """One physical host, merged from every sighting that belongs to it."""

    key: str = ""
    mac: str = ""
    ips: list[str] = field(default_factory=list)
    hostname: str = ""
    vendor: str = ""
    random_mac: bool = False
    kind: str = UNKNOWN
    evidence: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    upnp: UpnpInfo | None = None
    printer: dict[str, Any] | None = None
    active: bool = True
    first_seen: float = 0.0
    last_seen: float = 0.0
    #: When ``active`` last changed (TR-181 ``ActiveLastChange``; first detection counts).
    active_changed: float = 0.0
    #: The OS interface it was seen on, and what kind of link that is (TR-181 ``InterfaceType``).
    interface: str = ""
    link: Literal["Ethernet", "Wi-Fi", "Other"] = "Other"
    #: ``Device.IP.Interface.{i}`` of ``interface`` (agent/usage/interfaces.py), set with it.
    interface_path: str = ""

    def identifiers(self) -> set[str]:
        """What can recognise this device again in another cycle (random MACs change, these do not)."""
        ids: set[str] = set()
        if self.mac:
            ids.add(("laa:" if self.random_mac else "mac:") + self.mac)
        if self.hostname:
            ids.add("host:" + self.hostname.lower())
        for s in self.services:
            ids.add(f"mdns:{s.name}.{s.type}".lower())
            uuid = s.txt.get("UUID") or s.txt.get("uuid") or s.txt.get("id")
            if uuid:
                ids.add("uuid:" + uuid.lower().removeprefix("urn:uuid:"))
        if self.upnp is not None and self.upnp.udn:
            ids.add("uuid:" + self.upnp.udn.lower().removeprefix("uuid:"))
        return ids

    def to_cli(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "mac": self.mac or None,
            "ip": list(self.ips),
            "hostname": self.hostname or None,
            "vendor": self.vendor or None,
            "random_mac": self.random_mac,
            "kind": self.kind,
            "evidence": list(self.evidence),
            "sources": list(self.sources),
            "services": [s.to_cli() for s in self.services],
            "upnp": self.upnp.to_dict() if self.upnp else None,
            "printer": self.printer,
            "active": self.active,
        }

    def to_wire(self) -> samples.Host:
        """``Device.Hosts.Host.{i}`` as the discovery sample carries it (services: :meth:`services_wire`).

        ``Layer1Interface`` is the model's empty string: which port or radio of which box the host
        is behind is not something the agent can see.
        """
        primary, v4, v6 = split_addresses(self.ips)
        return samples.Host(
            PhysAddress=self.mac,
            IPAddress=primary,
            Layer1Interface="",
            Layer3Interface=self.interface_path,
            InterfaceType=self.link,
            HostName=self.hostname,
            Active=self.active,
            ActiveLastChange=date_time(self.active_changed or self.first_seen or None),
            IPv4AddressNumberOfEntries=len(v4),
            IPv6AddressNumberOfEntries=len(v6),
            IPv4Address=[HostAddress(IPAddress=a) for a in v4],
            IPv6Address=[HostAddress(IPAddress=a) for a in v6],
            Key=self.key,
            Vendor=self.vendor,
            RandomMAC=self.random_mac,
            Kind=self.kind,
            KindEvidence=list(self.evidence),
            Sources=list(self.sources),
            FirstSeen=self.first_seen,
            LastSeen=self.last_seen,
            UPnP=self.upnp.to_wire() if self.upnp else None,
            # The IPP summary is a dict of the engine's (agent/discovery/ipp.py): typed here.
            Printer=msgspec.convert(self.printer, samples.Printer) if self.printer is not None else None,
        )

    def services_wire(self, now: float) -> list[samples.Service]:
        return [s.to_wire(now) for s in self.services]
