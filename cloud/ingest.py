"""Ingestion: MQTT -> verify -> de-duplicate -> store in batches -> acknowledge.

Every uplink message is checked in this order, and each failure is counted by
reason and logged (loudly the first time, quietly after, like python-zeroconf's
QuietLogger) without ever stopping the loop:

1. size and topic (``homediag/v1/agent/{id}/{channel}``);
2. the agent is enrolled (else ``unknown_agent``) and not revoked (else ``revoked``);
3. the Ed25519 signature over the received bytes, with that agent's key;
4. the envelope names the topic's agent and the channel fits its kind;
5. the envelope and body decode within the contract's bounds (``protocol/limits.py``,
   ``protocol/samples.py``). A signed report that does not is set aside in the quarantine
   (``cloud/quarantine.py``) and acknowledged as *rejected*, so the agent stops re-sending it.

Storage is exactly-once: ``(agent, epoch, seq)`` is unique and the agent re-sends
until acknowledged, so the ack goes out only after the batch is committed.

One bad report never stops the others (issue 17, finding 1): a batch that fails to store while the
database answers is split in halves until the reports that fail are alone; those are quarantined
and acknowledged, the rest stored. A database that does not answer is retried with back-off, and
what waits in memory is bounded (beyond it a message is refused unacknowledged: its agent re-sends).
An agent that is revoked is told so, signed, once a minute at most, and stops sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import aiomqtt
import msgspec
from sqlalchemy import Table, bindparam, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

import protocol
from protocol import (
    Ack,
    BrokerAddress,
    Channel,
    CommandResult,
    Ed25519PublicKey,
    Envelope,
    Hello,
    Kind,
    Revoked,
    Status,
    TelemetryBatch,
)
from protocol import Sample as TelemetrySample
from protocol.const import MAX_ACK_SEQS
from protocol.messages import CHANNEL_OF

from .commands import seal_command
from .connectivity import CONNECTIVITY_PROBES, apply_connectivity
from .const import (
    INGEST_MAX_PENDING,
    INGEST_RETRY_MAX_S,
    INGEST_RETRY_MIN_S,
    KEY_CACHE_TTL_S,
    REVOKED_NOTICE_INTERVAL_S,
    UNKNOWN_AGENT_RECHECK_S,
)
from .inventory import DISCOVERY_PROBE, apply_inventory
from .keys import KeyRing
from .quarantine import Quarantined, database_answers, set_aside
from .remote import apply_result, queued_for
from .storage import Agent, Report, ReportWatermark, Sample
from .storage.usage import UsagePlan
from .usage import USAGE_PROBES, apply_usage

_LOGGER = logging.getLogger(__name__)

UPLINK_CHANNELS = (Channel.HELLO, Channel.TELEMETRY, Channel.RESULT, Channel.STATUS)
_BODY_TYPES: dict[Kind, type[Hello] | type[TelemetryBatch] | type[CommandResult]] = {
    Kind.HELLO: Hello,
    Kind.TELEMETRY: TelemetryBatch,
    Kind.RESULT: CommandResult,
}


@dataclass(slots=True)
class Incoming:
    """A verified uplink message waiting to be stored."""

    envelope: Envelope
    body: Hello | TelemetryBatch | CommandResult | Status | None
    #: Set when the signature verified but the report is refused: it is quarantined and
    #: acknowledged as rejected. ``reason`` is the counter label, ``detail`` the words.
    rejected: bool = False
    payload: bytes = b""
    reason: str = ""
    detail: str = ""


class StoreUnavailable(Exception):
    """The database does not answer: retry later, set nothing aside."""


def _stand_in(identity: protocol.Identity) -> Envelope:
    """An envelope standing for a refused report whose own envelope did not decode: it carries only
    the identity (read from verified bytes) that acknowledging and quarantining need."""
    return Envelope(
        v=protocol.SCHEMA_VERSION,
        id="0" * 32,
        agent=identity.agent,
        epoch=identity.epoch,
        seq=identity.seq,
        sent=0.0,
        kind=identity.kind,
        body=msgspec.Raw(b"null"),
    )


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0
    batches: int = 0
    acks_sent: int = 0
    dropped_by_agents: int = 0
    #: Reports set aside (out of bounds, undecodable, or failing to store alone) and acknowledged.
    quarantined: int = 0
    #: Times the writer found the database down and backed off.
    store_retries: int = 0
    revoked_notices: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "statuses": self.statuses,
            "batches": self.batches,
            "acks_sent": self.acks_sent,
            "dropped_by_agents": self.dropped_by_agents,
            "quarantined": self.quarantined,
            "store_retries": self.store_retries,
            "revoked_notices": self.revoked_notices,
            "rejected": dict(self.rejected),
        }


@dataclass(slots=True)
class _AckPlan:
    seqs: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


_REPORTS = cast(Table, Report.__table__)
_SAMPLES = cast(Table, Sample.__table__)
_AGENTS = cast(Table, Agent.__table__)


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> set[tuple[str, int, int]]:
    """INSERT .. ON CONFLICT DO NOTHING RETURNING the keys this statement stored.

    Two workers racing on one report store it once, and only the one whose insert returned the key
    folds its samples. Core statements, not the ORM's bulk path: a batch is hundreds of rows and the
    ORM's per-row bookkeeping cost more than the verification of the signatures.
    """
    connection = session.connection()
    dialect = connection.dialect.name
    columns = (_REPORTS.c.agent_id, _REPORTS.c.epoch, _REPORTS.c.seq)
    if dialect == "sqlite":
        statement = sqlite.insert(_REPORTS).on_conflict_do_nothing().returning(*columns)
    elif dialect == "postgresql":
        statement = postgresql.insert(_REPORTS).on_conflict_do_nothing().returning(*columns)
    else:  # pragma: no cover - the supported stores are SQLite and PostgreSQL
        connection.execute(insert(_REPORTS), rows)
        return {(r["agent_id"], r["epoch"], r["seq"]) for r in rows}
    return {(a, e, q) for a, e, q in connection.execute(statement, rows)}


def _fold(session: Session, agent_id: str, sample: TelemetrySample) -> None:
    """Fold one sample into its tables inside a savepoint: a sample the folds cannot read is logged
    and kept raw, and never fails the batch (which would stall every agent's acks)."""
    fold: Callable[[Session, str, TelemetrySample], object]
    if sample.probe in USAGE_PROBES and sample.status == "Complete":
        fold = apply_usage
    elif sample.probe == DISCOVERY_PROBE and sample.status == "Complete":
        fold = apply_inventory
    elif sample.probe in CONNECTIVITY_PROBES:
        fold = apply_connectivity
    else:
        return  # most samples fold into nothing: no savepoint, no round trip
    try:
        with session.begin_nested():
            fold(session, agent_id, sample)
    except (SQLAlchemyError, TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise  # the database went away: the batch fails and is retried, not kept half-folded
        _LOGGER.warning(
            "agent %s: %s sample not folded (kept raw): %s: %s",
            agent_id,
            sample.probe,
            type(exc).__name__,
            exc,
        )


def store_batch(
    session_factory: sessionmaker[Session], items: Sequence[Incoming]
) -> tuple[dict[tuple[str, int], _AckPlan], int, int]:
    """Store one batch in one transaction; returns (acks to send, stored, duplicates)."""
    acks: dict[tuple[str, int], _AckPlan] = defaultdict(_AckPlan)
    stored = duplicates = 0
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        reports = [i for i in items if i.envelope.kind is not Kind.STATUS]
        keys = {(i.envelope.agent, i.envelope.epoch, i.envelope.seq) for i in reports}
        existing: set[tuple[str, int, int]] = set()
        if keys:
            existing = {
                (a, e, s)
                for a, e, s in session.execute(
                    select(Report.agent_id, Report.epoch, Report.seq).where(
                        tuple_(Report.agent_id, Report.epoch, Report.seq).in_(list(keys))
                    )
                )
            }
            # Reports deleted by retention leave a watermark: a replay of one is a duplicate too.
            pairs = list({(a, e) for a, e, _s in keys})
            marks = {
                (a, e): s
                for a, e, s in session.execute(
                    select(ReportWatermark.agent_id, ReportWatermark.epoch, ReportWatermark.seq).where(
                        tuple_(ReportWatermark.agent_id, ReportWatermark.epoch).in_(pairs)
                    )
                )
            }
            existing.update(k for k in keys if k[2] <= marks.get((k[0], k[1]), -1))
        report_rows: list[dict[str, Any]] = []
        sample_rows: list[dict[str, Any]] = []
        last_seen: dict[str, datetime] = {}
        fresh: list[Incoming] = []
        refused: list[Quarantined] = []
        for item in reports:
            env = item.envelope
            key = (env.agent, env.epoch, env.seq)
            plan = acks[(env.agent, env.epoch)]
            if item.rejected:
                plan.rejected.append(env.seq)
                refused.append(_quarantined(item, item.reason or "malformed", item.detail))
                continue
            plan.seqs.append(env.seq)
            if key in existing:
                duplicates += 1
                continue
            existing.add(key)
            sent = _ts(env.sent)
            last_seen[env.agent] = max(last_seen.get(env.agent, sent), sent)
            report_rows.append(
                {
                    "agent_id": env.agent,
                    "epoch": env.epoch,
                    "seq": env.seq,
                    "message_id": env.id,
                    "kind": env.kind.value,
                    "sent_at": sent,
                    "received_at": now,
                    # Stored verbatim: the engine's JSON serialiser passes msgspec.Raw through.
                    "body": env.body,
                }
            )
            fresh.append(item)
        inserted = _insert_ignoring_duplicates(session, report_rows) if report_rows else set()
        stored = len(inserted)
        duplicates += len(report_rows) - stored  # another worker stored them first
        for item in fresh:
            env = item.envelope
            if (env.agent, env.epoch, env.seq) not in inserted:
                continue
            body = item.body
            if isinstance(body, TelemetryBatch):
                for s in body.samples:
                    _fold(session, env.agent, s)
                sample_rows.extend(
                    {
                        "agent_id": env.agent,
                        "epoch": env.epoch,
                        "seq": env.seq,
                        "probe": s.probe,
                        "at": _ts(s.at),
                        "status": s.status,
                        "data": s.data,
                    }
                    for s in body.samples
                )
            elif isinstance(body, CommandResult):
                apply_result(session, env.agent, body)
            elif isinstance(body, Hello):
                session.execute(
                    update(Agent)
                    .where(Agent.id == env.agent)
                    .values(hostname=body.hostname, platform=body.platform, agent_version=body.agent_version)
                )
        if sample_rows:
            session.connection().execute(insert(_SAMPLES), sample_rows)
        if last_seen:
            session.connection().execute(
                update(_AGENTS)
                .where(
                    _AGENTS.c.id == bindparam("agent"),
                    _AGENTS.c.last_seen_at.is_(None) | (_AGENTS.c.last_seen_at < bindparam("seen")),
                )
                .values(last_seen_at=bindparam("seen")),
                [{"agent": a, "seen": s} for a, s in last_seen.items()],
            )
        for item in items:
            if isinstance(item.body, Status):
                _apply_status(session, item.envelope, item.body)
        set_aside(session, refused, now)
    return acks, stored, duplicates


def _quarantined(item: Incoming, reason: str, detail: str) -> Quarantined:
    env = item.envelope
    return Quarantined(env.agent, env.epoch, env.seq, env.kind.value, reason, detail, item.payload)


@dataclass
class StoreOutcome:
    acks: dict[tuple[str, int], _AckPlan]
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def merge(self, other: StoreOutcome) -> StoreOutcome:
        for key, plan in other.acks.items():
            mine = self.acks.setdefault(key, _AckPlan())
            mine.seqs += plan.seqs
            mine.rejected += plan.rejected
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        return self


def _is_outage(exc: BaseException) -> bool:
    """The database, not the report: gone, locked, out of disk (SQLite's "database or disk is full",
    PostgreSQL's class 53 and 08 errors are all OperationalErrors). Retried, never set aside."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def store_or_set_aside(session_factory: sessionmaker[Session], items: Sequence[Incoming]) -> StoreOutcome:
    """Store a batch; if it fails for a reason of its own while the database answers, split it down
    to the reports that fail alone and quarantine those, so one bad report never holds back the
    rest. Raises :class:`StoreUnavailable` for an outage (nothing is set aside or acknowledged)."""
    try:
        acks, stored, duplicates = store_batch(session_factory, items)
    except Exception as exc:
        if _is_outage(exc) or not database_answers(session_factory):
            raise StoreUnavailable(str(exc)) from exc
        if len(items) > 1:
            half = len(items) // 2
            first = store_or_set_aside(session_factory, items[:half])
            return first.merge(store_or_set_aside(session_factory, items[half:]))
        return _set_aside_alone(session_factory, items[0], exc)
    refused = sum(1 for i in items if i.rejected and i.envelope.kind is not Kind.STATUS)
    return StoreOutcome(dict(acks), stored, duplicates, refused)


def _set_aside_alone(session_factory: sessionmaker[Session], item: Incoming, exc: Exception) -> StoreOutcome:
    env = item.envelope
    detail = f"{type(exc).__name__}: {exc}"
    _LOGGER.error(
        "agent %s: report %d/%d cannot be stored, set aside: %s", env.agent, env.epoch, env.seq, detail
    )
    if env.kind is Kind.STATUS:
        return StoreOutcome({})  # not a report: nothing to acknowledge or keep
    try:
        with session_factory.begin() as session:
            set_aside(session, [_quarantined(item, "store", detail)], datetime.now(UTC))
    except Exception as again:
        if _is_outage(again) or not database_answers(session_factory):
            raise StoreUnavailable(str(again)) from again
        # Not even the quarantine takes it (its agent was deleted meanwhile): acknowledge it
        # anyway, or it would come back for ever; the log keeps what it was.
        _LOGGER.exception("agent %s: report %d/%d could not be quarantined", env.agent, env.epoch, env.seq)
    return StoreOutcome({(env.agent, env.epoch): _AckPlan(rejected=[env.seq])}, quarantined=1)


def _apply_status(session: Session, envelope: Envelope, status: Status) -> None:
    agent = session.get(Agent, envelope.agent)
    if agent is None:
        return
    newer = status.session > agent.status_session
    final = status.session == agent.status_session and status.state == "offline"
    if newer or final:
        agent.status_session = status.session
        agent.online = status.state == "online"
        agent.status_changed_at = _ts(envelope.sent)


@dataclass(frozen=True)
class TlsSettings:
    """How the ingest meets an ``mqtts://`` broker: the CA to trust, and its own client identity."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file or None)
        return context


class Ingest:
    def __init__(
        self,
        *,
        broker: BrokerAddress,
        session_factory: sessionmaker[Session],
        keys: KeyRing,
        batch_max: int = 500,
        batch_wait_s: float = 0.02,
        share_group: str | None = None,
        client_id: str | None = None,
        tls: TlsSettings | None = None,
        max_pending: int = INGEST_MAX_PENDING,
    ) -> None:
        self.broker = broker
        self._max_pending = max_pending
        self._tls = (tls or TlsSettings()).context() if broker.tls else None
        self._sessions = session_factory
        self._keys = keys
        self._batch_max = batch_max
        self._batch_wait_s = batch_wait_s
        self._share_group = share_group
        self._client_id = client_id or f"homediag-ingest-{random.getrandbits(32):08x}"
        self.stats = IngestStats()
        self.connected = asyncio.Event()
        #: agent id -> (key, when loaded); reloaded after KEY_CACHE_TTL_S so a revocation made by
        #: another process (an API worker) takes effect here too.
        self._agent_keys: dict[str, tuple[Ed25519PublicKey, float]] = {}
        self._unknown: dict[str, tuple[float, str]] = {}
        self._pending: list[Incoming] = []
        self._has_pending = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-db")
        self._logged_reasons: set[str] = set()
        self._dropped: dict[tuple[str, int], int] = {}
        self._told_revoked: dict[str, float] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- verification -------------------------------------------------------------

    def _reject(self, reason: str, detail: str) -> None:
        self.stats.rejected[reason] += 1
        level = logging.DEBUG if reason in self._logged_reasons else logging.WARNING
        self._logged_reasons.add(reason)
        _LOGGER.log(level, "rejected a message (%s): %s", reason, detail)

    async def _key_for(self, agent_id: str) -> Ed25519PublicKey | str:
        """The agent's key, or why there is none (``unknown_agent`` or ``revoked``)."""
        cached = self._agent_keys.get(agent_id)
        if cached is not None and time.monotonic() - cached[1] < KEY_CACHE_TTL_S:
            return cached[0]
        refused = self._unknown.get(agent_id)
        if refused is not None and time.monotonic() - refused[0] < UNKNOWN_AGENT_RECHECK_S:
            return refused[1]
        loop = asyncio.get_running_loop()
        row = await loop.run_in_executor(self._db, self._load_key, agent_id)
        if row is None or row[1]:
            reason = "unknown_agent" if row is None else "revoked"
            self._agent_keys.pop(agent_id, None)
            if len(self._unknown) > 100_000:
                self._unknown.clear()
            self._unknown[agent_id] = (time.monotonic(), reason)
            return reason
        key = protocol.load_public_key(row[0])
        self._agent_keys[agent_id] = (key, time.monotonic())
        return key

    def _load_key(self, agent_id: str) -> tuple[str, bool] | None:
        with self._sessions() as session:
            agent = session.get(Agent, agent_id)
            return None if agent is None else (agent.public_key, agent.revoked)

    def forget_agent(self, agent_id: str) -> None:
        """Drop a cached key (after revocation)."""
        self._agent_keys.pop(agent_id, None)
        self._unknown.pop(agent_id, None)

    async def handle(self, topic: str, payload: bytes) -> None:
        """Verify one uplink message and queue it for storage, or count why not."""
        self.stats.received += 1
        if len(self._pending) >= self._max_pending:
            # The database is behind or down: refuse unacknowledged (its agent re-sends later)
            # rather than grow without bound.
            self._reject("backlog", f"{len(self._pending)} messages wait for the database")
            return
        try:
            parsed = protocol.parse_topic(topic)
            data, signature = protocol.split(payload)  # size and framing before any database work
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, str(exc))
            return
        key = await self._key_for(parsed.agent_id)
        if isinstance(key, str):
            self._reject(key, f"agent {parsed.agent_id}")
            if key == "revoked":
                self._tell_revoked(parsed.agent_id)
            return
        try:
            protocol.verify(key, signature, data)
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
            return
        try:
            envelope = protocol.decode_envelope(data)
            protocol.check_topic(envelope, parsed)
        except protocol.MalformedMessage as exc:
            self._refuse_signed(parsed, data, payload, exc)
            return
        except protocol.ProtocolError as exc:
            self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
            return
        item = Incoming(envelope, None, payload=payload)
        try:
            if envelope.kind is Kind.STATUS:
                item.body = protocol.decode_body(envelope, Status)
            else:
                item.body = protocol.decode_body(envelope, _BODY_TYPES[envelope.kind])
        except protocol.ProtocolError as exc:
            if envelope.kind is Kind.STATUS:
                self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
                return
            self._reject(exc.reason, f"from {parsed.agent_id} seq {envelope.seq}: {exc}")
            item.rejected, item.reason, item.detail = True, exc.reason, str(exc)
        if isinstance(item.body, TelemetryBatch) and item.body.dropped:
            self._note_dropped(envelope, item.body.dropped)
        self._pending.append(item)
        self._has_pending.set()

    def _refuse_signed(
        self, parsed: protocol.ParsedTopic, data: bytes, payload: bytes, exc: protocol.MalformedMessage
    ) -> None:
        """A report its agent signed whose envelope breaks the contract (a time past 2100, say):
        quarantined and acknowledged when its identity can be read, else only counted."""
        self._reject(exc.reason, f"from {parsed.agent_id}: {exc}")
        identity = protocol.peek_identity(data)
        if (
            identity is None
            or identity.agent != parsed.agent_id
            or identity.kind not in _BODY_TYPES
            or CHANNEL_OF[identity.kind] is not parsed.channel
        ):
            return
        item = Incoming(_stand_in(identity), None, True, payload, exc.reason, str(exc))
        self._pending.append(item)
        self._has_pending.set()

    def _tell_revoked(self, agent_id: str) -> None:
        """Say, signed, that the agent is refused for good, so it stops re-sending (at most once per
        REVOKED_NOTICE_INTERVAL_S for each agent: a revoked agent cannot make us amplify)."""
        now = time.monotonic()
        told = self._told_revoked.get(agent_id)
        client = self._client
        if client is None or (told is not None and now - told < REVOKED_NOTICE_INTERVAL_S):
            return
        if len(self._told_revoked) > 100_000:
            self._told_revoked.clear()
        self._told_revoked[agent_id] = now
        body = Revoked(
            reason="this home's agent was revoked by its provider; enroll it again with a new code"
        )
        payload = protocol.seal(self._keys.get().active, agent=agent_id, body=body)

        async def publish() -> None:
            try:
                await client.publish(protocol.topic_for(agent_id, Channel.ACK), payload, qos=1)
                self.stats.revoked_notices += 1
            except aiomqtt.MqttError as exc:
                _LOGGER.info("could not tell agent %s it is revoked: %s", agent_id, exc)

        task = asyncio.create_task(publish(), name=f"revoked-{agent_id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _note_dropped(self, envelope: Envelope, total: int) -> None:
        key = (envelope.agent, envelope.epoch)
        known = self._dropped.get(key, 0)
        if total > known:
            self._dropped[key] = total
            self.stats.dropped_by_agents += total - known
            _LOGGER.warning("agent %s has discarded %d reports in all (outbox full)", envelope.agent, total)

    # -- storage and acks ----------------------------------------------------------

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        retry_s = INGEST_RETRY_MIN_S
        while True:
            await self._has_pending.wait()
            if len(self._pending) < self._batch_max:
                await asyncio.sleep(self._batch_wait_s)
            batch, self._pending = self._pending[: self._batch_max], self._pending[self._batch_max :]
            if not self._pending:
                self._has_pending.clear()
            try:
                outcome = await loop.run_in_executor(self._db, store_or_set_aside, self._sessions, batch)
            except StoreUnavailable as exc:
                # Nothing is acknowledged, so the agents re-send; keep the batch for a retry too
                # (handle() bounds what waits). Loud once, then quiet until it recovers.
                self.stats.store_retries += 1
                level = logging.WARNING if retry_s == INGEST_RETRY_MIN_S else logging.DEBUG
                _LOGGER.log(level, "the database does not answer (%s); retrying in %.0f s", exc, retry_s)
                self._pending[:0] = batch
                self._has_pending.set()
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, INGEST_RETRY_MAX_S)
                continue
            if retry_s != INGEST_RETRY_MIN_S:
                _LOGGER.warning("the database answers again; storing %d waiting messages", len(self._pending))
            retry_s = INGEST_RETRY_MIN_S
            acks = outcome.acks
            self.stats.batches += 1
            self.stats.stored += outcome.stored
            self.stats.duplicates += outcome.duplicates
            self.stats.quarantined += outcome.quarantined
            self.stats.statuses += sum(1 for i in batch if i.envelope.kind is Kind.STATUS)
            await self._send_acks(acks)
            hellos = {i.envelope.agent for i in batch if i.envelope.kind is Kind.HELLO and not i.rejected}
            if hellos:
                await self._send_key_rotation(hellos)
                await self._send_queued_commands(hellos)

    async def _send_acks(self, acks: dict[tuple[str, int], _AckPlan]) -> None:
        client = self._client
        if client is None:
            return  # the agents will re-send; the duplicates are acknowledged then
        publishes = []
        signing_key = self._keys.get().active
        for (agent_id, epoch), plan in acks.items():
            for i in range(0, max(len(plan.seqs), len(plan.rejected)), MAX_ACK_SEQS):
                body = Ack(
                    epoch=epoch,
                    seqs=plan.seqs[i : i + MAX_ACK_SEQS],
                    rejected=plan.rejected[i : i + MAX_ACK_SEQS],
                )
                payload = protocol.seal(signing_key, agent=agent_id, body=body)
                publishes.append(client.publish(protocol.topic_for(agent_id, Channel.ACK), payload, qos=1))
        try:
            await asyncio.gather(*publishes)
            self.stats.acks_sent += len(publishes)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send acks: %s", exc)

    async def _send_key_rotation(self, agent_ids: set[str]) -> None:
        """During a key rotation every agent that says hello is told to pin the next key, or to
        drop the retired one (see cloud/keys.py)."""
        client = self._client
        keys = self._keys.get()
        if client is None or (keys.next is None and keys.retired is None):
            return
        commands = []
        if keys.next is not None:
            commands.append(("trust_cloud_key", protocol.public_key_text(keys.next)))
        if keys.retired is not None:
            commands.append(("retire_cloud_key", protocol.public_key_text(keys.retired)))
        try:
            for agent_id in agent_ids:
                for name, public_key in commands:
                    _, payload = seal_command(keys.active, agent_id, name, {"public_key": public_key})
                    await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send key rotation commands: %s", exc)

    async def _send_queued_commands(self, agent_ids: set[str]) -> None:
        """Commands a CSR asked to deliver when the agent came back: it just said hello."""
        client = self._client
        if client is None:
            return
        key = self._keys.get().active

        def take() -> list[tuple[str, str, bytes]]:
            out = []
            with self._sessions.begin() as session:
                for agent_id in agent_ids:
                    out += [(agent_id, cid, payload) for cid, payload in queued_for(session, agent_id, key)]
                    # The agent's copy of its plan, for cycle-to-date on the device itself.
                    plan = session.get(UsagePlan, agent_id)
                    if plan is not None:
                        params = {
                            "cap_bytes": plan.cap_bytes,
                            "cycle_start_day": plan.cycle_start_day,
                            "timezone": plan.timezone,
                        }
                        out.append((agent_id, *seal_command(key, agent_id, "set_plan", params)))
            return out

        loop = asyncio.get_running_loop()
        try:
            for agent_id, _, payload in await loop.run_in_executor(self._db, take):
                await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        except aiomqtt.MqttError as exc:
            _LOGGER.info("could not send queued commands: %s", exc)

    async def publish_command(self, agent_id: str, payload: bytes) -> bool:
        """Publish a sealed command; False when the broker is not connected."""
        client = self._client
        if client is None:
            return False
        await client.publish(protocol.topic_for(agent_id, Channel.COMMAND), payload, qos=1)
        return True

    # -- connection ---------------------------------------------------------------

    async def run(self) -> None:
        writer = asyncio.create_task(self._writer(), name="ingest-writer")
        delay = 0.5
        try:
            while True:
                try:
                    await self._session()
                except* aiomqtt.MqttError as group:
                    _LOGGER.warning("ingest lost the broker %s: %s", self.broker, group.exceptions[0])
                finally:
                    self._client = None
                    self.connected.clear()
                await asyncio.sleep(random.uniform(0.2, delay))  # noqa: S311 - jitter, not crypto
                delay = min(delay * 2, 10.0)
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            self._db.shutdown(wait=True)

    async def _session(self) -> None:
        async with aiomqtt.Client(
            self.broker.host,
            self.broker.port,
            identifier=self._client_id,
            clean_session=True,
            keepalive=30,
            timeout=30,
            max_inflight_messages=1000,
            tls_context=self._tls,
        ) as client:
            await client.subscribe(
                [(protocol.subscription_for(ch, self._share_group), 1) for ch in UPLINK_CHANNELS]
            )
            self._client = client
            self.connected.set()
            _LOGGER.info("ingest subscribed on %s", self.broker)
            async for message in client.messages:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    await self.handle(message.topic.value, bytes(payload))
