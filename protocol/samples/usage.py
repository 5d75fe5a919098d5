"""What the line and each device moved: ``netdev``, ``usage``, ``device_usage``, ``consent``, and
the ``usage_snapshot`` command (agent/probes/{netdev,usage,device_usage}.py, agent/usage/)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from .base import SampleData
from .fields import (
    UNSET,
    Address,
    ByteCount,
    Counter64,
    DateTime,
    Maybe,
    Name,
    ShortText,
    WireTime,
)

#: A MAC address, or ``other`` for traffic the gateway could not tie to one device.
PhysAddress = Annotated[str, Meta(max_length=64)]
#: A traffic class of agent/usage/flows.py (``web``, ``video``, ...).
TrafficClass = Annotated[str, Meta(max_length=64)]
Events = Annotated[list[ShortText], Meta(max_length=256)]


class InterfaceStats(msgspec.Struct, frozen=True, kw_only=True):
    """``Device.IP.Interface.{i}.Stats`` (TR-181) as the kernel counts them: raw, never reset.

    TR-181 has ``ErrorsSent``... as ``unsignedInt``; Linux keeps 64-bit counters, sent as they are.
    """

    BytesSent: Maybe[Counter64] = UNSET
    BytesReceived: Maybe[Counter64] = UNSET
    PacketsSent: Maybe[Counter64] = UNSET
    PacketsReceived: Maybe[Counter64] = UNSET
    ErrorsSent: Maybe[Counter64] = UNSET
    ErrorsReceived: Maybe[Counter64] = UNSET
    DiscardPacketsSent: Maybe[Counter64] = UNSET
    DiscardPacketsReceived: Maybe[Counter64] = UNSET


class NetDevData(SampleData, frozen=True, kw_only=True):
    """``netdev``: every interface's counters, by interface name."""

    Interface: Maybe[Annotated[dict[Name, InterfaceStats], Meta(max_length=1024)]] = UNSET


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
    "InterfaceStats",
    "NetDevData",
    "UsageData",
    "UsageSnapshot",
]
