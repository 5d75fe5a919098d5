"""Reports set aside: signed by their agent, but no store could take them (a dead-letter table).

A report lands here when it is out of the contract's bounds, does not decode, or fails to store
on its own while the database is up. It is acknowledged as refused, so its agent stops sending it,
and kept (bytes and reason) for an operator to read; retention deletes it like any report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class QuarantinedReport(Base):
    __tablename__ = "quarantined_reports"
    __table_args__ = (UniqueConstraint("agent_id", "epoch", "seq", name="uq_quarantine_agent_epoch_seq"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    agent_id: Mapped[str] = mapped_column(String(64), ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    #: A short label (``bounds``, ``malformed``, ``store``) for counting, and the words behind it.
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(1024))
    #: The message exactly as received (at most protocol.MAX_PAYLOAD_BYTES).
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
