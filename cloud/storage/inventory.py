"""The home inventory: each home's devices (TR-181 ``Hosts.Host``) and what happened to them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow


class InventoryDevice(Base):
    """One device of one home, keyed by the agent's device key (stable across random MACs while
    the agent remembers the device; a rotation it missed is merged by the cloud's fold)."""

    __tablename__ = "inventory_devices"
    __table_args__ = (UniqueConstraint("agent_id", "key", name="uq_inventory_devices_agent_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(17), default="")
    #: When ``mac`` was first seen; None for rows stored before issue 20.
    mac_since: Mapped[datetime | None] = mapped_column(nullable=True)
    #: The MACs this device used before (a randomised MAC that rotated, cloud/inventory.py), oldest
    #: first: ``{"mac", "key", "first_seen", "last_seen"}``, the key being the agent's key then.
    previous_macs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    #: Every address (TR-181's ``IPv4Address``/``IPv6Address`` tables); ``ip_address`` the primary.
    ips: Mapped[list[str]] = mapped_column(JSON, default=list)
    ip_address: Mapped[str] = mapped_column(String(45), default="", server_default="")
    #: TR-181 ``ActiveLastChange``; None when the agent did not say (older agents, unknown time).
    active_last_change: Mapped[datetime | None] = mapped_column(nullable=True)
    #: TR-181 ``InterfaceType`` (``Ethernet``, ``Wi-Fi``, ``Other``...) and ``Layer3Interface``
    #: (``Device.IP.Interface.N`` on the agent's own numbering).
    interface_type: Mapped[str] = mapped_column(String(16), default="", server_default="")
    layer3_interface: Mapped[str] = mapped_column(String(256), default="", server_default="")
    hostname: Mapped[str] = mapped_column(String(255), default="")
    vendor: Mapped[str] = mapped_column(String(255), default="")
    random_mac: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[str] = mapped_column(String(32), default="unknown")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    services: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    upnp: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    printer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: "" for non-printers; "online" or "offline" (with ``printer_reason``) for printers.
    printer_state: Mapped[str] = mapped_column(String(16), default="")
    printer_reason: Mapped[str] = mapped_column(String(512), default="")
    active: Mapped[bool] = mapped_column(default=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    #: When the agent measured the state stored here: older reports never overwrite newer ones.
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)


class InventoryEvent(Base):
    """``new``, ``gone``, ``back``, ``printer_offline``, ``printer_online`` for one device."""

    __tablename__ = "inventory_events"
    __table_args__ = (Index("ix_inventory_events_agent_at", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    device_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
