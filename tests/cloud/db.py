"""Helpers for storage tests: an enrolled agent and its sealed reports, as ingestion receives them."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud.enrollment import EnrollmentRequest, issue_pairing_code, redeem
from cloud.ingest import Incoming
from protocol import CommandResult, Ed25519PrivateKey, Hello, TelemetryBatch


def enroll(sessions: sessionmaker[Session], key: Ed25519PrivateKey) -> str:
    """A new agent with ``key``, enrolled through a pairing code; returns its id."""
    with sessions.begin() as session:
        code = issue_pairing_code(session, ttl_s=60)
    with sessions.begin() as session:
        return redeem(session, EnrollmentRequest(code=code, public_key=protocol.public_key_text(key))).id


def incoming(
    key: Ed25519PrivateKey,
    agent_id: str,
    body: TelemetryBatch | CommandResult | Hello,
    seq: int,
    *,
    epoch: int = 1,
    sent: float | None = None,
) -> Incoming:
    """``body`` sealed by the agent and verified, as :func:`cloud.ingest.store_batch` takes it."""
    sealed = protocol.seal(key, agent=agent_id, body=body, epoch=epoch, seq=seq, sent=sent)
    return Incoming(protocol.unseal(sealed, key.public_key()), body)
