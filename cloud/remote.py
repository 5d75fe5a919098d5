"""Remote diagnostics: a CSR's command from the API to a signed message, and its result back.

The checks a CSR meets, in order: the command is in the catalogue (and not one the cloud keeps for
itself), its parameters fit their schema, the agent exists and is not revoked, it is online (unless
the CSR chose to wait until the command expires), and a command that needs consent has a
remote-assistance session the subscriber granted. Every outcome, refusals included, is audited
(within the audit's size bound, cloud/audit.py); a refusal's reason never repeats what was sent.
A refusal is one of the :class:`~cloud.errors.CommandRefused` subtree: which one says what kind
of refusal it is, and the API decides from that alone how to answer (cloud/api/errors.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import protocol
from protocol import CommandResult, Ed25519PrivateKey
from protocol.catalogue import CATALOGUE, decode_params

from . import audit
from .commands import seal_command
from .config import TierRule
from .consent import consent_until
from .errors import AgentOffline, AgentUnknown, CommandInvalid, CommandRefused, ConsentRequired, NotInService
from .sentences import NO_SUCH_AGENT
from .storage import Agent, utcnow
from .storage.accounts import Subscriber
from .storage.assistance import CommandRecord

MAX_TTL_S = 3600.0
FINAL_STATES = frozenset({"complete", "error", "expired"})


@dataclass(frozen=True)
class Issued:
    record: CommandRecord
    payload: bytes | None  # None while queued for an offline agent


_NO_RULE = TierRule()


def _tier_rule(session: Session, agent: Agent, policy: Mapping[str, TierRule] | None) -> tuple[str, TierRule]:
    """The tier of the home's subscriber and its rule; homes without a subscriber follow the catalogue."""
    if not policy or agent.subscriber_id is None:
        return "", _NO_RULE
    subscriber = session.get(Subscriber, agent.subscriber_id)
    tier = subscriber.tier if subscriber is not None else ""
    return tier, policy.get(tier, _NO_RULE)


def issue(
    session: Session,
    key: Ed25519PrivateKey,
    *,
    actor: str | audit.Actor,
    agent_id: str,
    name: str,
    params: dict[str, Any],
    ttl_s: float,
    wait: bool,
    policy: Mapping[str, TierRule] | None = None,
) -> Issued:
    """Validate, record, audit and seal a command; the caller commits, then publishes the payload.

    ``policy`` is the operator's per-tier rule (``Settings.tier_policy``): a command the home's
    subscriber tier does not get is refused; one the tier adds consent to needs it like the
    catalogue's own consent commands. A refusal raises one of :class:`CommandRefused`, audited
    (the caller commits that too)."""
    details = {"name": name, "params": params, "ttl_s": ttl_s, "wait": wait}
    try:
        definition = CATALOGUE.get(name)
        if definition is None or definition.internal:
            raise CommandInvalid(
                "there is no command a CSR can send by that name; choose one from the list of diagnostics"
            )
        if not 0 < ttl_s <= MAX_TTL_S:
            raise CommandInvalid(
                f"ttl_s must be a number above 0 and at most {MAX_TTL_S:.0f}; correct it and send it again"
            )
        try:
            decode_params(name, params)
        except protocol.ProtocolError as exc:
            raise CommandInvalid(str(exc)) from exc
        agent = session.get(Agent, agent_id)
        if agent is None or agent.revoked:
            raise AgentUnknown(NO_SUCH_AGENT)
        if not agent.online and not wait:
            raise AgentOffline(
                "The home's agent is offline; send the command again with wait=true to deliver it when the"
                " agent is back."
            )
        tier, rule = _tier_rule(session, agent, policy)
        if name in rule.refused:
            raise NotInService(
                f"The {name} command is not part of the subscriber's {tier} service; choose another"
                " diagnostic, or offer the service that includes it."
            )
        by_policy = name in rule.consent and not definition.consent
        if by_policy and wait and not agent.online:
            # Queued delivery re-checks only the catalogue's consent: such a command goes now or not at all.
            raise AgentOffline(
                "The home's agent is offline, and this command needs the subscriber's consent when it runs;"
                " try again when the agent is back."
            )
        now = utcnow()
        vouched = None
        if definition.consent or by_policy:
            vouched = consent_until(session, agent_id, now)
            if vouched is None:
                raise ConsentRequired(
                    "This command needs a remote-assistance session the subscriber approved; ask the"
                    " subscriber to allow one on the self-care page."
                )
    except CommandRefused as exc:
        audit.record(
            session,
            actor=actor,
            action="command",
            agent_id=agent_id,
            details=details,
            outcome=f"refused: {exc}",
        )
        raise
    command_id, payload = seal_command(key, agent_id, name, params, ttl_s, consent_until=vouched)
    record = CommandRecord(
        id=command_id,
        agent_id=agent_id,
        name=name,
        params=params,
        issued_by=(actor.name if isinstance(actor, audit.Actor) else actor)[:128],
        issued_at=now,
        expires_at=now + timedelta(seconds=ttl_s),
        state="sent" if agent.online else "queued",
    )
    session.add(record)
    audit.record(
        session,
        actor=actor,
        action="command",
        agent_id=agent_id,
        details={**details, "command_id": command_id},
        outcome=record.state,
    )
    return Issued(record, payload if agent.online else None)


def apply_result(session: Session, agent_id: str, result: CommandResult) -> None:
    """Fold an agent's result (or ``Running`` progress) into the command's record."""
    record = session.get(CommandRecord, result.command_id)
    if record is None or record.agent_id != agent_id or record.state in FINAL_STATES:
        return
    if result.status == "Running":
        record.state = "running"
        record.started_at = utcnow()
        return
    record.state = "complete" if result.status == "Complete" else "error"
    record.status = result.status
    record.result = msgspec.to_builtins(result.data)
    record.finished_at = utcnow()


def queued_for(session: Session, agent_id: str, key: Ed25519PrivateKey) -> list[tuple[str, bytes]]:
    """Commands that waited for this agent to come back, sealed now; expired ones are closed."""
    now = utcnow()
    session.execute(
        update(CommandRecord)
        .where(
            CommandRecord.agent_id == agent_id,
            CommandRecord.state == "queued",
            CommandRecord.expires_at <= now,
        )
        .values(state="expired", finished_at=now)
    )
    out = []
    for record in session.scalars(
        select(CommandRecord).where(CommandRecord.agent_id == agent_id, CommandRecord.state == "queued")
    ):
        ttl = (record.expires_at - now).total_seconds()
        definition = CATALOGUE[record.name]
        vouched = consent_until(session, agent_id, now) if definition.consent else None
        if definition.consent and vouched is None:
            continue  # stays queued until consent is given or it expires
        _, payload = seal_command(
            key, agent_id, record.name, record.params, ttl, command_id=record.id, consent_until=vouched
        )
        record.state = "sent"
        out.append((record.id, payload))
    return out


def expire_overdue(
    session: Session,
    now: datetime | None = None,
    *,
    agent_id: str | None = None,
    command_id: str | None = None,
) -> None:
    """Mark commands past their expiry as expired: those of one home or one command when named
    (what a read is about), so a page load or a live stream does not rewrite the whole table."""
    moment = now or datetime.now(UTC)
    query = update(CommandRecord).where(
        CommandRecord.state.in_(("sent", "running", "queued")), CommandRecord.expires_at <= moment
    )
    if agent_id is not None:
        query = query.where(CommandRecord.agent_id == agent_id)
    if command_id is not None:
        query = query.where(CommandRecord.id == command_id)
    session.execute(query.values(state="expired", finished_at=moment))
