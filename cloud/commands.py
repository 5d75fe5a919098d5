"""Sealing commands for agents. What an agent accepts is its own allowlist (agent/commands.py)."""

from __future__ import annotations

import time
from typing import Any

import protocol
from protocol import Command, Ed25519PrivateKey

#: Agents refuse commands that live longer than an hour; keep well inside that.
DEFAULT_TTL_S = 300.0


def seal_command(
    key: Ed25519PrivateKey,
    agent_id: str,
    name: str,
    params: dict[str, Any],
    ttl_s: float = DEFAULT_TTL_S,
    *,
    command_id: str | None = None,
    now: float | None = None,
    consent_until: float | None = None,
) -> tuple[str, bytes]:
    """Return (command id, sealed payload) for ``homediag/v1/agent/{agent_id}/cmd``."""
    sent = time.time() if now is None else now
    command = Command(
        command_id=command_id or protocol.new_message_id(),
        name=name,
        params=params,
        expires_at=sent + ttl_s,
        consent_until=consent_until,
    )
    return command.command_id, protocol.seal(key, agent=agent_id, body=command, sent=sent)
