"""What the line and each device moved: ``netdev``, ``usage``, ``device_usage``, ``consent``, and
the ``usage_snapshot`` command (agent/probes/{netdev,usage,device_usage}.py, agent/usage/)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .base import SampleData
from .fields import (
    UNSET,
    Address,
    ByteCount,
    Count,
    Counter64,
    DateTime,
    Maybe,
    Name,
    ShortText,
    WireTime,
)
from .legacy import RESHAPE

#: A MAC address, or ``other`` for traffic the gateway could not tie to one device.
PhysAddress = Annotated[str, Meta(max_length=64)]
#: A traffic class of agent/usage/flows.py (``web``, ``video``, ...).
TrafficClass = Annotated[str, Meta(max_length=64)]
Events = Annotated[list[ShortText], Meta(max_length=256)]


#: TR-181 ``unsignedInt`` counters (``ErrorsSent``...): 32 bits, wrapping like SNMP's Counter32.
Counter32 = Annotated[int, Meta(ge=0, le=2**32 - 1)]
#: ``Device.IP.Interface.{i}.Status``.
InterfaceStatus = Literal["Up", "Down", "Unknown", "Dormant", "NotPresent", "LowerLayerDown", "Error"]


class InterfaceStats(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.IP.Interface.{i}.Stats`` (TR-181) as the kernel counts them: raw, never reset.

    Bytes and packets are ``unsignedLong`` (Linux's 64-bit counters as they are); errors and
    discards are ``unsignedInt`` in the model, so the agent sends them modulo 2^32.
    """

    BytesSent: Maybe[Counter64] = UNSET
    BytesReceived: Maybe[Counter64] = UNSET
    PacketsSent: Maybe[Counter64] = UNSET
    PacketsReceived: Maybe[Counter64] = UNSET
    ErrorsSent: Maybe[Counter32] = UNSET
    ErrorsReceived: Maybe[Counter32] = UNSET
    DiscardPacketsSent: Maybe[Counter32] = UNSET
    DiscardPacketsReceived: Maybe[Counter32] = UNSET


class IPInterface(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.IP.Interface.{i}``: the OS name, its state and its counters."""

    Name: Maybe[Annotated[str, Meta(max_length=64)]] = UNSET
    Status: Maybe[InterfaceStatus] = UNSET
    Type: Maybe[Literal["Normal", "Loopback", "Tunnel"]] = UNSET
    Loopback: Maybe[bool] = UNSET
    #: Left out for an interface the probe's options leave out (its row keeps the numbering).
    Stats: Maybe[InterfaceStats] = UNSET


class NetDevData(SampleData, frozen=True, kw_only=True):
    """``netdev`` (data rooted at ``Device.IP.``): the ``Interface`` table in ifindex order, so the
    N-th entry is ``Device.IP.Interface.N`` (agent/usage/interfaces.py)."""

    InterfaceNumberOfEntries: Maybe[Count] = UNSET
    Interface: Maybe[Annotated[list[IPInterface], Meta(max_length=1024)]] = UNSET


def upgrade_netdev(data: dict[str, Any]) -> dict[str, Any]:
    """An older agent's ``netdev`` (``Interface`` keyed by OS name, 64-bit error counters) as
    today's table, in name order (the older agent did not say the ifindex)."""
    old = data.get("Interface")
    if not isinstance(old, Mapping):
        return data
    rows: list[Any] = []
    for name, stats in sorted(old.items()):
        wrapped = stats
        if isinstance(stats, Mapping):
            wrapped = {
                k: v % 2**32 if k in _COUNTER32 and isinstance(v, int) and v >= 0 else v
                for k, v in stats.items()
            }
        rows.append({"Name": name, "Stats": wrapped})
    return {**data, "InterfaceNumberOfEntries": len(rows), "Interface": rows}


_COUNTER32 = frozenset({"ErrorsSent", "ErrorsReceived", "DiscardPacketsSent", "DiscardPacketsReceived"})
RESHAPE["netdev"] = upgrade_netdev


class UsageData(SampleData, frozen=True, kw_only=True):
    """``usage``: what the access line moved between two instants (or ``Events: ["baseline"]``)."""

    Interface: Maybe[Name] = UNSET
    Start: Maybe[WireTime] = UNSET
    End: Maybe[WireTime] = UNSET
    BytesReceived: Maybe[ByteCount] = UNSET
    BytesSent: Maybe[ByteCount] = UNSET
    Events: Maybe[Events] = UNSET


class DeviceUsageHour(msgspec.Struct, frozen=True, kw_only=True):
    """One device, traffic class and hour: running totals (the cloud keeps the greatest)."""

    Hour: Maybe[WireTime] = UNSET
    PhysAddress: Maybe[PhysAddress] = UNSET
    IPAddress: Maybe[Annotated[list[Address], Meta(max_length=64)]] = UNSET
    Class: Maybe[TrafficClass] = UNSET
    BytesReceived: Maybe[ByteCount] = UNSET
    BytesSent: Maybe[ByteCount] = UNSET
    PacketsReceived: Maybe[Counter64] = UNSET
    PacketsSent: Maybe[Counter64] = UNSET
    Flows: Maybe[ByteCount] = UNSET
    RemoteHosts: Maybe[ByteCount] = UNSET
    SMTPConnections: Maybe[ByteCount] = UNSET


class DeviceUsageData(SampleData, frozen=True, kw_only=True):
    """``device_usage``: the hours that changed since the last report, per device and class."""

    Method: Maybe[Name] = UNSET
    LAN: Maybe[Annotated[list[Name], Meta(max_length=256)]] = UNSET
    Hours: Maybe[Annotated[list[DeviceUsageHour], Meta(max_length=20_000)]] = UNSET
    Flows: Maybe[Counter64] = UNSET
    Unattributed: Maybe[Counter64] = UNSET
    Events: Maybe[Events] = UNSET
    Interface: Maybe[Name] = UNSET
    PacketsMissed: Maybe[Counter64] = UNSET


class ConsentData(SampleData, frozen=True, kw_only=True):
    """``consent``: the device's remote-assistance consent, sent by the runner when it changes."""

    active: Maybe[bool] = UNSET
    granted_at: Maybe[WireTime | None] = UNSET
    expires_at: Maybe[WireTime | None] = UNSET
    revoked: Maybe[bool] = UNSET


class DayUsage(msgspec.Struct, frozen=True, kw_only=True):
    date: Maybe[Annotated[str, Meta(max_length=16)]] = UNSET
    bytes_rx: Maybe[ByteCount] = UNSET
    bytes_tx: Maybe[ByteCount] = UNSET


class ClassUsage(msgspec.Struct, frozen=True, kw_only=True):
    bytes_rx: Maybe[ByteCount] = UNSET
    bytes_tx: Maybe[ByteCount] = UNSET
    flows: Maybe[ByteCount] = UNSET


class DeviceBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """One device's cycle to date as the agent counted it (agent/usage/flows.py ``breakdown``)."""

    device: Maybe[PhysAddress] = UNSET
    bytes_rx: Maybe[ByteCount] = UNSET
    bytes_tx: Maybe[ByteCount] = UNSET
    packets_rx: Maybe[Counter64] = UNSET
    packets_tx: Maybe[Counter64] = UNSET
    classes: Maybe[Annotated[dict[TrafficClass, ClassUsage], Meta(max_length=64)]] = UNSET


class UsageSnapshot(SampleData, frozen=True, kw_only=True):
    """The ``usage_snapshot`` command: the billing cycle to date as the agent counted it."""

    cycle_start: Maybe[DateTime] = UNSET
    cycle_end: Maybe[DateTime] = UNSET
    timezone: Maybe[Annotated[str, Meta(max_length=64)]] = UNSET
    cap_bytes: Maybe[Annotated[int, Meta(gt=0, le=10**18)] | None] = UNSET
    bytes_rx: Maybe[ByteCount] = UNSET
    bytes_tx: Maybe[ByteCount] = UNSET
    total_bytes: Maybe[ByteCount] = UNSET
    daily: Maybe[Annotated[list[DayUsage], Meta(max_length=64)]] = UNSET
    devices: Maybe[Annotated[list[DeviceBreakdown], Meta(max_length=4096)] | None] = UNSET


__all__ = [
    "ClassUsage",
    "ConsentData",
    "DayUsage",
    "DeviceBreakdown",
    "DeviceUsageData",
    "DeviceUsageHour",
    "IPInterface",
    "InterfaceStats",
    "NetDevData",
    "UsageData",
    "UsageSnapshot",
]
