"""The audit trail: every CSR action, with its outcome, in an append-only table.

Rows are never deleted, so each is bounded in size here, whatever the caller passes: details
beyond :data:`AUDIT_DETAILS_MAX_BYTES` are cut, value by value, and marked (issue 17: refused
commands were audited with 20 MiB of parameters each).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import msgspec
from sqlalchemy.orm import Session

from .const import AUDIT_DETAILS_MAX_BYTES
from .storage import Agent
from .storage.assistance import AuditEntry

#: Set in details that were cut, with the size the caller passed.
TRUNCATED_KEY: Final = "_truncated_from_bytes"
_CUT: Final = "…[cut]"
#: Room kept for the marker and the closing of each level.
_RESERVE: Final = 64
_KEY_MAX: Final = 64
_DEPTH_MAX: Final = 4


@dataclass(frozen=True)
class Actor:
    """Who acts: a login (``user_id``, its tenant) or the platform operator and the system (no id)."""

    name: str
    user_id: str | None = None
    tenant_id: str | None = None


def record(
    session: Session,
    *,
    actor: str | Actor,
    action: str,
    agent_id: str | None,
    details: dict[str, Any],
    outcome: str,
    tenant_id: str | None = None,
) -> AuditEntry:
    """Add one entry to the caller's transaction (so an action and its audit commit together).

    The entry belongs to the tenant of the home acted on, else to ``tenant_id``, else to the
    actor's: the tenant's supervisors and the home's subscriber see what the platform did too."""
    who = actor if isinstance(actor, Actor) else Actor(actor)
    if agent_id is not None and tenant_id is None:
        agent = session.get(Agent, agent_id)
        tenant_id = agent.tenant_id if agent is not None else None
    entry = AuditEntry(
        actor=who.name[:128],
        action=action[:64],
        agent_id=agent_id,
        details=bounded(details),
        outcome=outcome[:255],
        tenant_id=tenant_id or who.tenant_id,
        actor_user_id=who.user_id,
    )
    session.add(entry)
    return entry


def bounded(details: dict[str, Any], limit: int = AUDIT_DETAILS_MAX_BYTES) -> dict[str, Any]:
    """``details`` if their JSON fits in ``limit`` bytes, else a copy cut to fit and marked.

    Small values survive (a command's name next to its oversized parameters); a text is cut with a
    marker; a value with no room left is dropped."""
    size = _size(details)
    if size <= limit:
        return details
    fitted = _fit(details, limit - _RESERVE)
    out = fitted if isinstance(fitted, dict) else {}
    out[TRUNCATED_KEY] = size
    return out if _size(out) <= limit else {TRUNCATED_KEY: size}


def _size(value: Any) -> int:
    return len(msgspec.json.encode(value))


def _fit(value: Any, budget: int, depth: int = 0) -> Any:
    """``value`` or a cut copy whose JSON takes at most ``budget`` bytes (``None`` if nothing fits).

    Containers deeper than :data:`_DEPTH_MAX` are dropped whole, so cutting costs a few encodings
    of the input, not one per level of however deep it nests."""
    if budget <= 0:
        return None
    size = _size(value)
    if size <= budget:
        return value
    if isinstance(value, str):
        room = budget
        while room > 0:
            cut = value[:room] + _CUT
            cut_size = _size(cut)
            if cut_size <= budget:
                return cut
            room = room * budget // cut_size - 1  # escapes make a character up to 6 bytes
        return None
    if depth >= _DEPTH_MAX:
        return None
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        used = 2
        for key, item in value.items():
            name = str(key)[:_KEY_MAX]
            overhead = _size(name) + 2
            kept = _fit(item, budget - used - overhead - _RESERVE, depth + 1)
            if kept is None:
                break
            out[name] = kept
            used += overhead + _size(kept)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        used = 2
        for item in value:
            kept = _fit(item, budget - used - 1 - _RESERVE, depth + 1)
            if kept is None:
                break
            items.append(kept)
            used += 1 + _size(kept)
        return items
    return None
