"""Connectivity history per home: one row per folded latency, loss, DNS or throughput measurement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base


class ConnectivitySample(Base):
    """The figures of one agent sample (``connectivity``, ``ping``, ``dns``, ``download``, ``upload``).

    Only what the experience score and the history views need is lifted out of the sample's JSON
    (which stays in ``samples``); a figure the probe did not measure is NULL.
    """

    __tablename__ = "connectivity_samples"
    __table_args__ = (
        Index("ix_connectivity_samples_agent_at", "agent_id", "at"),
        # The newest row of one probe (``latest``): without it a probe the home never runs means
        # walking every row of the home in the retention window (migration 0014).
        Index("ix_connectivity_samples_agent_probe_at", "agent_id", "probe", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    probe: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255), default="")
    loss_pct: Mapped[float | None] = mapped_column(Float, default=None)
    latency_p50_ms: Mapped[float | None] = mapped_column(Float, default=None)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float, default=None)
    jitter_ms: Mapped[float | None] = mapped_column(Float, default=None)
    dns_ok: Mapped[bool | None] = mapped_column(Boolean, default=None)
    dns_ms: Mapped[float | None] = mapped_column(Float, default=None)
    down_mbps: Mapped[float | None] = mapped_column(Float, default=None)
    up_mbps: Mapped[float | None] = mapped_column(Float, default=None)
    #: Where the connectivity probe placed the trouble: none, lan, beyond_gateway, remote, dns.
    finding: Mapped[str | None] = mapped_column(String(32), default=None)
    finding_message: Mapped[str | None] = mapped_column(String(255), default=None)
