"""What discovery produces: sightings from each method, and the devices they merge into.

Wire names follow TR-181: a device is a ``Device.Hosts.Host.{i}`` (``PhysAddress``, ``IPAddress``,
``HostName``, ``Active``) and each of its services a ``Device.DNS.SD.Service.{i}`` (``InstanceName``,
``ApplicationProtocol``, ``TransportProtocol``, ``Port``, ``TextRecord``). The CLI's JSON uses the
short lower-case names of issue 4 (``mac``, ``ip``, ``services``, ...). ``to_wire`` builds the
protocol's Structs (:mod:`protocol.samples.inventory`), so the wire form is written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec

from protocol import samples

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


@dataclass(slots=True)
class Service:
    """One DNS-SD service instance, resolved."""

    type: str  # "_ipp._tcp"
    name: str  # instance name, without the type
    port: int
    txt: dict[str, str] = field(default_factory=dict)
    server: str = ""  # host name the SRV record points at, without ".local."

    @property
    def protocol(self) -> str:
        return self.type.split(".")[0].lstrip("_")

    @property
    def transport(self) -> Literal["TCP", "UDP"]:
        return "UDP" if self.type.endswith("_udp") else "TCP"

    def to_cli(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "port": self.port, "txt": dict(self.txt)}

    def to_wire(self) -> samples.Service:
        return samples.Service(
            InstanceName=self.name,
            ApplicationProtocol=self.protocol,
            TransportProtocol=self.transport,
            Port=self.port,
            TextRecord=dict(self.txt),
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
        """``Device.Hosts.Host.{i}`` as the discovery sample carries it."""
        return samples.Host(
            Key=self.key,
            PhysAddress=self.mac,
            IPAddress=list(self.ips),
            HostName=self.hostname,
            Active=self.active,
            Vendor=self.vendor,
            RandomMAC=self.random_mac,
            Kind=self.kind,
            KindEvidence=list(self.evidence),
            Sources=list(self.sources),
            FirstSeen=self.first_seen,
            LastSeen=self.last_seen,
            Services=[s.to_wire() for s in self.services],
            UPnP=self.upnp.to_wire() if self.upnp else None,
            # The IPP summary is a dict of the engine's (agent/discovery/ipp.py): typed here.
            Printer=msgspec.convert(self.printer, samples.Printer) if self.printer is not None else None,
        )
