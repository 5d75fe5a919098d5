"""Storing a batch: de-duplicate, insert, fold, and say what to acknowledge.

Storage is exactly-once: ``(agent, epoch, seq)`` is unique and the agent re-sends until
acknowledged, so a batch is one transaction and its acks go out only after the commit.

One bad report never stops the others (issue 17, finding 1): a batch that fails to store while the
database answers is split in halves until the reports that fail are alone; those are quarantined
and acknowledged as refused, the rest stored. A database that does not answer is
:class:`~cloud.errors.StoreUnavailable`: nothing is set aside or acknowledged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from protocol import CommandResult, Envelope, Hello, Kind, Status, TelemetryBatch

from ..errors import StoreUnavailable
from ..quarantine import Quarantined, database_answers, set_aside
from ..remote import apply_result
from ..storage.reports import (
    ReportKey,
    ReportRow,
    SampleRow,
    insert_reports,
    insert_samples,
    known_reports,
    record_hello,
    record_presence,
    touch_last_seen,
)
from .acks import AckPlan
from .folds import fold
from .incoming import Incoming

_LOGGER = logging.getLogger(__name__)

#: Acks to send, by ``(agent, epoch)``.
AckPlans = dict[tuple[str, int], AckPlan]


def _ts(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def store_batch(
    session_factory: sessionmaker[Session], items: Sequence[Incoming]
) -> tuple[AckPlans, int, int]:
    """Store one batch in one transaction; returns (acks to send, stored, duplicates)."""
    acks: AckPlans = defaultdict(AckPlan)
    stored = duplicates = 0
    now = datetime.now(UTC)
    with session_factory.begin() as session:
        reports = [i for i in items if i.envelope.kind is not Kind.STATUS]
        existing = known_reports(
            session, ((i.envelope.agent, i.envelope.epoch, i.envelope.seq) for i in reports)
        )
        report_rows: list[ReportRow] = []
        sample_rows: list[SampleRow] = []
        last_seen: dict[str, datetime] = {}
        fresh: list[Incoming] = []
        refused: list[Quarantined] = []
        for item in reports:
            env = item.envelope
            key: ReportKey = (env.agent, env.epoch, env.seq)
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
                ReportRow(
                    agent_id=env.agent,
                    epoch=env.epoch,
                    seq=env.seq,
                    message_id=env.id,
                    kind=env.kind.value,
                    sent_at=sent,
                    received_at=now,
                    body=env.body,
                )
            )
            fresh.append(item)
        inserted = insert_reports(session, report_rows)
        stored = len(inserted)
        duplicates += len(report_rows) - stored  # another worker stored them first
        for item in fresh:
            env = item.envelope
            if (env.agent, env.epoch, env.seq) not in inserted:
                continue
            body = item.body
            if isinstance(body, TelemetryBatch):
                for s in body.samples:
                    fold(session, env.agent, s)
                sample_rows.extend(
                    SampleRow(
                        agent_id=env.agent,
                        epoch=env.epoch,
                        seq=env.seq,
                        probe=s.probe,
                        at=_ts(s.at),
                        status=s.status,
                        data=s.data,
                    )
                    for s in body.samples
                )
            elif isinstance(body, CommandResult):
                apply_result(session, env.agent, body)
            elif isinstance(body, Hello):
                record_hello(
                    session,
                    env.agent,
                    hostname=body.hostname,
                    platform=body.platform,
                    agent_version=body.agent_version,
                )
        insert_samples(session, sample_rows)
        touch_last_seen(session, last_seen)
        for item in items:
            if isinstance(item.body, Status):
                _apply_status(session, item.envelope, item.body)
        set_aside(session, refused, now)
    return acks, stored, duplicates


def _apply_status(session: Session, envelope: Envelope, status: Status) -> None:
    online = status.state == "online"
    record_presence(session, envelope.agent, session_id=status.session, online=online, at=_ts(envelope.sent))


def _quarantined(item: Incoming, reason: str, detail: str) -> Quarantined:
    env = item.envelope
    return Quarantined(env.agent, env.epoch, env.seq, env.kind.value, reason, detail, item.payload)


@dataclass
class StoreOutcome:
    """What storing a batch (split or not) came to: the acks to send and the counts."""

    acks: AckPlans
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def merge(self, other: StoreOutcome) -> StoreOutcome:
        for key, plan in other.acks.items():
            mine = self.acks.setdefault(key, AckPlan())
            mine.seqs += plan.seqs
            mine.rejected += plan.rejected
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.quarantined += other.quarantined
        return self


def is_outage(exc: BaseException) -> bool:
    """The database, not the report: gone, locked, out of disk (SQLite's "database or disk is full",
    PostgreSQL's class 53 and 08 errors are all OperationalErrors). Retried, never set aside."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def store_or_set_aside(session_factory: sessionmaker[Session], items: Sequence[Incoming]) -> StoreOutcome:
    """Store a batch; if it fails for a reason of its own while the database answers, split it down
    to the reports that fail alone and quarantine those, so one bad report never holds back the
    rest. Raises :class:`~cloud.errors.StoreUnavailable` for an outage (nothing is set aside or
    acknowledged)."""
    try:
        acks, stored, duplicates = store_batch(session_factory, items)
    except Exception as exc:
        if is_outage(exc) or not database_answers(session_factory):
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
        if is_outage(again) or not database_answers(session_factory):
            raise StoreUnavailable(str(again)) from again
        # Not even the quarantine takes it (its agent was deleted meanwhile): acknowledge it
        # anyway, or it would come back for ever; the log keeps what it was.
        _LOGGER.exception("agent %s: report %d/%d could not be quarantined", env.agent, env.epoch, env.seq)
    return StoreOutcome({(env.agent, env.epoch): AckPlan(rejected=[env.seq])}, quarantined=1)
