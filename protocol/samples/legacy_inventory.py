"""The discovery sample of agents before exact TR-181 (issue 19), read in today's shape.

Those agents sent ``Hosts`` as a list of hosts, each with its own ``Services``, every extension
unprefixed and ``IPAddress`` a list. Today the data is rooted at ``Device.``: ``Hosts.Host.{i}``
and ``DNS.SD.Service.{i}`` are two tables, a service naming its host by reference. The generic
rules of :mod:`.legacy` cannot move fields between objects, so this does, before them; what it
returns is still checked against :class:`.inventory.DiscoveryData`. Imports nothing of the Structs,
so the Structs' module can register it in :data:`.legacy.RESHAPE`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from ..tr181 import vendor

__all__ = ["HOST_TABLE", "split_addresses", "upgrade_discovery", "upgrade_host", "upgrade_service"]

#: The path a service's ``Host`` reference points into (instance = position + 1).
HOST_TABLE = "Device.Hosts.Host."
#: Host fields that became vendor extensions.
_HOST_VENDOR = (
    "Key",
    "Vendor",
    "RandomMAC",
    "Kind",
    "KindEvidence",
    "Sources",
    "FirstSeen",
    "LastSeen",
    "UPnP",
    "Printer",
)
_TOP_VENDOR = ("InventoryHash", "Methods", "Counters", "DurationS", "Unchanged")
#: TR-181's lengths, which older agents did not keep to (they sent up to 128 characters).
_HOST_NAME_LEN = 64
_INSTANCE_NAME_LEN = 63
_APPLICATION_PROTOCOL_LEN = 15


def split_addresses(addresses: list[str]) -> tuple[str, list[str], list[str]]:
    """(primary, IPv4 addresses, IPv6 addresses): the primary is the first IPv4 one, if any."""
    v4: list[str] = []
    v6: list[str] = []
    for address in addresses:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            continue
        (v4 if parsed.version == 4 else v6).append(address)
    return (v4 or v6 or [""])[0], v4, v6


def _cut(value: Any, limit: int) -> Any:
    return value[:limit] if isinstance(value, str) else value


def upgrade_service(old: Mapping[str, Any]) -> dict[str, Any]:
    """One old per-host service as a ``DNS.SD.Service.{i}`` entry (without its ``Host``)."""
    service = dict(old)
    if "InstanceName" in service:
        service["InstanceName"] = _cut(service["InstanceName"], _INSTANCE_NAME_LEN)
    if "ApplicationProtocol" in service:
        service["ApplicationProtocol"] = _cut(service["ApplicationProtocol"], _APPLICATION_PROTOCOL_LEN)
    txt = service.get("TextRecord")
    if isinstance(txt, Mapping):
        service["TextRecord"] = [{"Key": k, "Value": v} for k, v in txt.items()]
        service["TextRecordNumberOfEntries"] = len(txt)
    if "Type" in service and vendor("Type") not in service:
        service[vendor("Type")] = service.pop("Type")
    return service


def upgrade_host(old: Mapping[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """One old host as a ``Hosts.Host.{i}`` entry, and its services (still without ``Host``)."""
    host = dict(old)
    services = host.pop("Services", [])
    for name in _HOST_VENDOR:
        if name in host and vendor(name) not in host:
            host[vendor(name)] = host.pop(name)
    addresses = host.get("IPAddress")
    if isinstance(addresses, list):
        primary, v4, v6 = split_addresses([a for a in addresses if isinstance(a, str)])
        host["IPAddress"] = primary
        host["IPv4Address"] = [{"IPAddress": a} for a in v4]
        host["IPv6Address"] = [{"IPAddress": a} for a in v6]
        host["IPv4AddressNumberOfEntries"], host["IPv6AddressNumberOfEntries"] = len(v4), len(v6)
    if "HostName" in host:
        host["HostName"] = _cut(host["HostName"], _HOST_NAME_LEN)
    if not isinstance(services, list):
        services = [services]  # refused at decode as before, now under DNS.SD.Service
    return host, [upgrade_service(s) if isinstance(s, Mapping) else s for s in services]


def upgrade_discovery(data: dict[str, Any]) -> dict[str, Any]:
    """An old-shape discovery sample (``Hosts`` is a list) in today's shape; today's unchanged."""
    old_hosts = data.get("Hosts")
    if not isinstance(old_hosts, list):
        return data
    out = {k: v for k, v in data.items() if k not in ("Hosts", "HostNumberOfEntries", "ActiveHosts")}
    for name in _TOP_VENDOR:
        if name in out and vendor(name) not in out:
            out[vendor(name)] = out.pop(name)
    hosts: list[Any] = []
    services: list[Any] = []
    for index, old in enumerate(old_hosts, start=1):
        if not isinstance(old, Mapping):
            hosts.append(old)  # not a host at all: refused at decode, as before
            continue
        host, own = upgrade_host(old)
        hosts.append(host)
        for service in own:
            if isinstance(service, dict):
                service["Host"] = [f"{HOST_TABLE}{index}"]
            services.append(service)
    table: dict[str, Any] = {"HostNumberOfEntries": data.get("HostNumberOfEntries", len(hosts))}
    if "ActiveHosts" in data:
        table[vendor("ActiveHosts")] = data["ActiveHosts"]
    table["Host"] = hosts
    out["Hosts"] = table
    out["DNS"] = {"SD": {"ServiceNumberOfEntries": len(services), "Service": services}}
    return out
