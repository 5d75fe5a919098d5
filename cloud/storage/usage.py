"""Usage per home: hourly line totals, and the plan that defines cycles and the cap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class UsageHour(Base):
    """Bytes through the home's WAN interface in one UTC hour, summed from the agent's intervals."""

    __tablename__ = "usage_hours"
    __table_args__ = (UniqueConstraint("agent_id", "hour", name="uq_usage_hours_agent_hour"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    hour: Mapped[datetime]
    bytes_rx: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_tx: Mapped[int] = mapped_column(BigInteger, default=0)


class UsagePlan(Base):
    """The subscriber's plan as far as usage is concerned (accounts and tiers arrive with the console)."""

    __tablename__ = "usage_plans"

    agent_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    cap_bytes: Mapped[int] = mapped_column(BigInteger)
    cycle_start_day: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))


class DeviceClassHour(Base):
    """One device's traffic of one class in one UTC hour: flow metadata only, never payload or peers.

    The agent sends each hour's running totals, which only grow, so the cloud keeps the greatest
    value it has seen for each field: repeats and late arrivals cannot double-count or shrink an hour.
    ``remote_hosts`` is the number of distinct remote addresses; the addresses stay in the home.
    """

    __tablename__ = "usage_device_hours"
    __table_args__ = (
        UniqueConstraint("agent_id", "hour", "device", "traffic_class", name="uq_usage_device_hours"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    hour: Mapped[datetime]
    #: The device's MAC address, lower case; "other" for traffic no home device can be named for.
    device: Mapped[str] = mapped_column(String(17))
    traffic_class: Mapped[str] = mapped_column(String(16))
    bytes_rx: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_tx: Mapped[int] = mapped_column(BigInteger, default=0)
    flows: Mapped[int] = mapped_column(BigInteger, default=0)
    remote_hosts: Mapped[int] = mapped_column(BigInteger, default=0)
    smtp_connections: Mapped[int] = mapped_column(BigInteger, default=0)
