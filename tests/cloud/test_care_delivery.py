"""Delivery against a real SMTP server and a real HTTP receiver: once-only keys across a restart,
signed webhooks, bounded retries into a dead letter, quiet hours and unsubscribe."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.care.delivery import (
    KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    Message,
    RetryPolicy,
    Sender,
    SmtpSender,
    WebhookSender,
    deliver_due,
    enqueue,
    verify,
)
from cloud.care.egress import EgressPolicy
from cloud.storage import (
    Agent,
    CareDeadLetter,
    CareNotification,
    CarePreference,
    make_engine,
    make_sessionmaker,
    migrate,
)
from tests.care_peers import SmtpServer, WebhookReceiver

SECRET = b"webhook-secret-for-tests"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
POLICY = RetryPolicy(attempts=3, base_s=60, max_s=600)
AGENT = "agent-care-1"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def _home(sessions: sessionmaker[Session], email: str | None, webhook: str | None, **pref: object) -> None:
    with sessions.begin() as session:
        session.add(Agent(id=AGENT, public_key="k" * 43))
        session.flush()
        session.add(
            CarePreference(
                agent_id=AGENT,
                email=email,
                webhook_url=webhook,
                muted_kinds=[],
                unsubscribe_token="tok-" + AGENT,
                **pref,
            )
        )


def _message(threshold: str = "75") -> Message:
    return Message(
        agent_id=AGENT,
        kind="cap",
        threshold=threshold,
        cycle="2026-11-01",
        subject="You have used 75% of your 200 GB cap",
        body="At this pace you will reach your 200 GB cap around the 23rd.",
        payload={"kind": "cap", "threshold": threshold},
    )


def _enqueue(sessions: sessionmaker[Session], message: Message, email_enabled: bool = True) -> int:
    with sessions.begin() as session:
        return enqueue(
            session, message, session.get(CarePreference, AGENT), email_enabled=email_enabled, now=NOW
        )


def _senders(smtp: SmtpServer | None, timeout_s: float = 2.0) -> dict[str, Sender]:
    # The receivers are on loopback, which only the operator's allowlist opens (egress.py).
    egress = EgressPolicy.from_entries(["127.0.0.1/32"])
    out: dict[str, Sender] = {"webhook": WebhookSender(SECRET, timeout_s=timeout_s, egress=egress)}
    if smtp is not None:
        out["email"] = SmtpSender("127.0.0.1", smtp.port, "care@isp.test", timeout_s=timeout_s)
    return out


def _deliver(sessions: sessionmaker[Session], senders: dict[str, Sender], now: datetime) -> None:
    deliver_due(
        sessions, senders, POLICY, lambda t: f"http://127.0.0.1:1/api/v1/care/unsubscribe/{t}", now=now
    )


def _rows(sessions: sessionmaker[Session]) -> dict[str, CareNotification]:
    with sessions() as session:
        return {n.channel: n for n in session.scalars(select(CareNotification))}


def test_each_channel_once_signed_and_not_again_after_a_restart(database_url: str) -> None:
    with SmtpServer() as smtp, WebhookReceiver() as hook:
        engine = make_engine(database_url)
        migrate(engine)
        sessions = make_sessionmaker(engine)
        _home(sessions, "sub@home.test", hook.url)
        assert _enqueue(sessions, _message()) == 3  # console, email, webhook
        assert _enqueue(sessions, _message()) == 0
        _deliver(sessions, _senders(smtp), NOW)
        engine.dispose()

        # "Restart": a new engine and a new decision about the same threshold in the same cycle.
        engine = make_engine(database_url)
        sessions = make_sessionmaker(engine)
        assert _enqueue(sessions, _message()) == 0
        for minutes in (0, 30, 600):
            _deliver(sessions, _senders(smtp), NOW + timedelta(minutes=minutes))
        rows = _rows(sessions)
        engine.dispose()

    assert {ch: r.status for ch, r in rows.items()} == {"console": "sent", "email": "sent", "webhook": "sent"}
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert mail["Subject"] == "You have used 75% of your 200 GB cap"
    assert mail["To"] == "sub@home.test"
    assert "around the 23rd" in mail.get_content()
    assert "/api/v1/care/unsubscribe/tok-agent-care-1" in mail["List-Unsubscribe"]
    assert len(hook.hook_hits()) == 1
    hit = hook.hook_hits()[0]
    assert verify(SECRET, hit.headers[TIMESTAMP_HEADER], hit.body, hit.headers[SIGNATURE_HEADER])
    assert not verify(
        b"another secret", hit.headers[TIMESTAMP_HEADER], hit.body, hit.headers[SIGNATURE_HEADER]
    )
    assert not verify(SECRET, hit.headers[TIMESTAMP_HEADER], hit.body + b" ", hit.headers[SIGNATURE_HEADER])
    assert hit.headers[KEY_HEADER] == "agent-care-1|cap|75|2026-11-01|webhook"
    assert json.loads(hit.body)["threshold"] == "75"


@pytest.mark.parametrize("mode", ["error", "hang", "redirect"])
def test_a_failing_webhook_gets_bounded_retries_then_a_dead_letter(
    sessions: sessionmaker[Session], mode: str
) -> None:
    with WebhookReceiver(mode=mode) as hook:
        _home(sessions, None, hook.url)
        _enqueue(sessions, _message())
        now = NOW
        for _ in range(6):  # more passes than attempts, each after the back-off has passed
            _deliver(sessions, _senders(None, timeout_s=0.3), now)
            now += timedelta(seconds=POLICY.max_s + 1)
        hits = hook.hook_hits()
        others = [h for h in hook.hits if h.path != "/hook"]
    assert len(hits) == POLICY.attempts
    assert others == []  # a redirect is never followed
    row = _rows(sessions)["webhook"]
    assert (row.status, row.attempts) == ("dead", POLICY.attempts)
    with sessions() as session:
        dead = session.scalars(select(CareDeadLetter)).all()
    assert len(dead) == 1
    assert dead[0].key == row.key and dead[0].attempts == POLICY.attempts
    expected = {"error": "HTTP 500", "redirect": "HTTP 302", "hang": "timed out"}[mode]
    assert expected in dead[0].last_error


def test_back_off_waits_between_attempts(sessions: sessionmaker[Session]) -> None:
    with WebhookReceiver(mode="error") as hook:
        _home(sessions, None, hook.url)
        _enqueue(sessions, _message())
        _deliver(sessions, _senders(None), NOW)
        _deliver(sessions, _senders(None), NOW + timedelta(seconds=59))  # before base_s: nothing
        assert len(hook.hook_hits()) == 1
        _deliver(sessions, _senders(None), NOW + timedelta(seconds=61))
        assert len(hook.hook_hits()) == 2
        _deliver(sessions, _senders(None), NOW + timedelta(seconds=61 + 119))  # 2nd back-off is 120 s
        assert len(hook.hook_hits()) == 2
        _deliver(sessions, _senders(None), NOW + timedelta(seconds=61 + 121))
        assert len(hook.hook_hits()) == 3


def test_an_smtp_server_that_refuses_gets_retries_then_a_dead_letter(sessions: sessionmaker[Session]) -> None:
    with SmtpServer(refuse=True) as smtp:
        _home(sessions, "sub@home.test", None)
        _enqueue(sessions, _message())
        now = NOW
        for _ in range(5):
            _deliver(sessions, _senders(smtp), now)
            now += timedelta(seconds=POLICY.max_s + 1)
    assert smtp.attempts == POLICY.attempts
    assert smtp.messages == []
    row = _rows(sessions)["email"]
    assert row.status == "dead"
    with sessions() as session:
        (dead,) = session.scalars(select(CareDeadLetter)).all()
    assert "554" in dead.last_error


def test_quiet_hours_postpone_email_to_their_end(sessions: sessionmaker[Session]) -> None:
    with SmtpServer() as smtp:
        _home(
            sessions, "sub@home.test", None, quiet_start_hour=22, quiet_end_hour=7, timezone="Europe/Berlin"
        )
        _enqueue(sessions, _message())
        late = datetime(2026, 11, 20, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
        _deliver(sessions, _senders(smtp), late)
        assert smtp.messages == []
        row = _rows(sessions)["email"]
        assert row.status == "pending"
        assert row.next_attempt_at == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)  # 07:00 in Berlin
        _deliver(sessions, _senders(smtp), datetime(2026, 11, 21, 5, 59, tzinfo=UTC))
        assert smtp.messages == []
        _deliver(sessions, _senders(smtp), datetime(2026, 11, 21, 6, 0, tzinfo=UTC))
        assert len(smtp.messages) == 1
    assert _rows(sessions)["console"].status == "sent"  # the console ignores quiet hours


def test_unsubscribing_stops_pending_and_future_messages(sessions: sessionmaker[Session]) -> None:
    with SmtpServer() as smtp:
        _home(sessions, "sub@home.test", None)
        _enqueue(sessions, _message("50"))
        with sessions.begin() as session:
            pref = session.get(CarePreference, AGENT)
            assert pref is not None
            pref.unsubscribed_at = NOW
        _deliver(sessions, _senders(smtp), NOW)
        assert _enqueue(sessions, _message("75")) == 1  # the console only
        _deliver(sessions, _senders(smtp), NOW)
    assert smtp.messages == []
    with sessions() as session:
        rows = {(n.threshold, n.channel): n.status for n in session.scalars(select(CareNotification))}
    assert rows == {("50", "console"): "sent", ("50", "email"): "skipped", ("75", "console"): "sent"}
