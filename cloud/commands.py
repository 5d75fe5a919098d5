"""Sealing commands for agents. What an agent accepts is its own allowlist (agent/commands.py)."""

from __future__ import annotations

import time
from typing import Any

import msgspec

import protocol
from protocol import Command, Ed25519PrivateKey
from protocol.catalogue import PlanParams

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


def seal_plan(
    key: Ed25519PrivateKey,
    agent_id: str,
    *,
    cap_bytes: int,
    cycle_start_day: int,
    timezone: str,
    now: float | None = None,
) -> tuple[str, bytes]:
    """The ``set_plan`` command: the home's own copy of its usage plan, for cycle-to-date on the
    device. Built as the catalogue's :class:`~protocol.catalogue.PlanParams`, so the fields the
    agent decodes are the ones sent (the values were checked where the plan was stored)."""
    params = PlanParams(cap_bytes=cap_bytes, cycle_start_day=cycle_start_day, timezone=timezone)
    return seal_command(key, agent_id, "set_plan", msgspec.structs.asdict(params), now=now)
