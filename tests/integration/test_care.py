"""Proactive care end to end: a real `homediag-cloud serve` with its care loop, a real SMTP server
and a real webhook receiver; a cycle that crosses its thresholds warns exactly once each, with
the projection and the top device, across restarts of the cloud; the daily list and its feedback
through the API."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.care.delivery import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from cloud.care.projection import ordinal
from cloud.storage import (
    Agent,
    CareNotification,
    CarePreference,
    DeviceClassHour,
    UsageHour,
    UsagePlan,
    make_engine,
    make_sessionmaker,
)
from protocol.cycles import cycle_bounds
from tests.care_peers import SmtpServer, WebhookReceiver
from tests.support import CloudProcess, wait_for

pytestmark = pytest.mark.slow

GB = 10**9
SECRET = "integration-webhook-secret"
AGENT = "care-home-1"
TV, PHONE, PC = "aa:bb:cc:00:00:01", "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"
CAP = 200 * GB


def _cycle(now: datetime) -> tuple[int, int]:
    """(days back, daily bytes): 7-11 days into a cycle that starts on a day every month has,
    at a rate that has used 42% of the cap by the cycle's tenth-ish day."""
    back = next(b for b in (10, 9, 8, 11, 7) if (now - timedelta(days=b)).day <= 28)
    return back, int(0.42 * CAP / back)


def _seed(
    sessions: sessionmaker[Session], now: datetime, back: int, rate: int
) -> tuple[datetime, datetime, int]:
    """A home ``back`` days into its cycle at ``rate`` a day, with 14 days before it; returns the
    cycle and the bytes used so far. The PC sent 3,000 SMTP connections yesterday (daily list)."""
    start_day = (now - timedelta(days=back)).day
    start, end = cycle_bounds(now, start_day, "UTC")
    current_hour = now.replace(minute=0, second=0, microsecond=0)
    yesterday = (now - timedelta(days=1)).date()
    with sessions.begin() as session:
        session.add(Agent(id=AGENT, public_key="k" * 43))
        session.flush()
        session.add(UsagePlan(agent_id=AGENT, cap_bytes=CAP, cycle_start_day=start_day, timezone="UTC"))
        session.add(
            CarePreference(
                agent_id=AGENT,
                email="subscriber@home.test",
                webhook_url=None,
                muted_kinds=[],
                unsubscribe_token="unsubscribe-token-1",
            )
        )
        hour = start - timedelta(days=14)
        used = 0
        while hour < current_hour:
            per_hour = rate // 24
            session.add(UsageHour(agent_id=AGENT, hour=hour, bytes_rx=per_hour, bytes_tx=0))
            used += per_hour if hour >= start else 0
            for device, cls, share in ((TV, "video", 0.6), (PHONE, "web", 0.3), (PC, "web", 0.1)):
                session.add(
                    DeviceClassHour(
                        agent_id=AGENT,
                        hour=hour,
                        device=device,
                        traffic_class=cls,
                        bytes_rx=int(per_hour * share * 0.97),
                        bytes_tx=int(per_hour * share * 0.03),
                        flows=50,
                        remote_hosts=10,
                        smtp_connections=125 if device == PC and hour.date() == yesterday else 0,
                    )
                )
            hour += timedelta(hours=1)
    return start, end, used


def _add_usage(sessions: sessionmaker[Session], hour: datetime, value: int) -> None:
    with sessions.begin() as session:
        row = session.scalar(select(UsageHour).where(UsageHour.agent_id == AGENT, UsageHour.hour == hour))
        if row is None:
            session.add(UsageHour(agent_id=AGENT, hour=hour, bytes_rx=value, bytes_tx=0))
        else:
            row.bytes_rx += value


def _notifications(sessions: sessionmaker[Session]) -> dict[tuple[str, str], str]:
    with sessions() as session:
        return {(n.threshold, n.channel): n.status for n in session.scalars(select(CareNotification))}


def _request(cloud: CloudProcess, method: str, path: str, body: object | None = None, auth: bool = True):
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = "Bearer test-operator-token-0123456789"
    request = urllib.request.Request(
        cloud.api_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def test_a_cycle_warns_once_per_threshold_across_restarts(tmp_path: Path) -> None:
    with SmtpServer() as smtp, WebhookReceiver() as hook:
        cloud = CloudProcess(tmp_path)
        cloud.env.update(
            {
                "HOMEDIAG_CARE_INTERVAL_S": "0.3",
                "HOMEDIAG_CARE_SMTP_HOST": "127.0.0.1",
                "HOMEDIAG_CARE_SMTP_PORT": str(smtp.port),
                "HOMEDIAG_CARE_SMTP_FROM": "care@isp.test",
                "HOMEDIAG_CARE_WEBHOOK_SECRET": SECRET,
                # The receiver is on loopback: the operator's allowlist is what opens it.
                "HOMEDIAG_CARE_WEBHOOK_ALLOW": json.dumps([f"127.0.0.1:{hook.port}"]),
                "HOMEDIAG_CARE_PLANS": json.dumps(
                    [
                        {"name": "Basic", "cap_gb": 200, "price": 25},
                        {"name": "Plus", "cap_gb": 400, "price": 35},
                    ]
                ),
                "HOMEDIAG_CARE_OVERAGE_PRICE_PER_GB": "2",
                "HOMEDIAG_CARE_RETRY_BASE_S": "0.2",
            }
        )
        cloud.cli("migrate")
        engine = make_engine(cloud.db_url)
        sessions = make_sessionmaker(engine)
        try:
            now = datetime.now(UTC)
            back, rate = _cycle(now)
            _start, end, used = _seed(sessions, now, back, rate)
            with sessions.begin() as session:
                pref = session.get(CarePreference, AGENT)
                assert pref is not None
                pref.webhook_url = hook.url
            # What the projection must say: the rest of the cap at the home's daily rate from now.
            reach_days = {
                (moment + timedelta(days=(CAP - used) / rate)).day
                for moment in (now, now + timedelta(seconds=90))
            }
            assert (now + timedelta(days=(CAP - used) / rate)) < end  # the cap falls within the cycle

            # 1. 42-48% used and on course to reach the cap: the early warning, once.
            cloud.start()
            wait_for(lambda: len(smtp.messages) >= 1 and len(hook.hook_hits()) >= 1, 30, "the early warning")
            mail = smtp.messages[0]
            assert mail["Subject"] == "You are on course to reach your 200 GB cap"
            text = mail.get_content()
            assert any(
                f"you will reach your 200 GB cap around the {ordinal(d)};" in text for d in reach_days
            ), text
            assert f"your device {TV} used 60% of this cycle's traffic, mostly video." in text
            assert "the Plus plan (400 GB) costs EUR 10.00 more a month" in text
            hit = hook.hook_hits()[0]
            assert verify(
                SECRET.encode(), hit.headers[TIMESTAMP_HEADER], hit.body, hit.headers[SIGNATURE_HEADER]
            )
            payload = json.loads(hit.body)
            assert payload["threshold"] == "projected"
            assert payload["top_device"]["device"] == TV
            assert payload["top_device"]["share"] == pytest.approx(0.6, abs=0.01)

            # The daily list of yesterday was computed by the loop; a CSR marks it.
            status, entries = _request(cloud, "GET", "/api/v1/care/daily-list")
            assert status == 200
            assert [(e["home"], e["device"], e["kind"]) for e in entries] == [(AGENT, PC, "smtp_burst")]
            assert "opened 3,000 outbound SMTP connections" in entries[0]["reason"]
            status, _ = _request(
                cloud,
                "POST",
                f"/api/v1/care/daily-list/{entries[0]['id']}/feedback",
                {"verdict": "false_alarm"},
            )
            assert status == 201
            assert _request(cloud, "GET", "/api/v1/care/daily-list")[1][0]["feedback"] == ["false_alarm"]

            # 2. A restart (SIGTERM) and a restart after a crash (SIGKILL): nothing is sent again.
            cloud.stop()
            cloud.start()
            time.sleep(1.5)
            cloud.stop(signal.SIGKILL)
            cloud.start()
            time.sleep(1.5)
            assert (len(smtp.messages), len(hook.hook_hits())) == (1, 1)

            # 3. A big hour takes the home past 50%: that warning, once.
            hour = now.replace(minute=0, second=0, microsecond=0)
            _add_usage(sessions, hour, int(0.52 * CAP) - used)
            wait_for(lambda: len(smtp.messages) >= 2, 30, "the 50% warning")
            assert smtp.messages[1]["Subject"] == "You have used 50% of your 200 GB cap"
            cloud.stop()
            cloud.start()

            # 4. Past 75% and 90% at once: the 90% warning speaks for both.
            _add_usage(sessions, hour, int(0.40 * CAP))
            wait_for(lambda: len(smtp.messages) >= 3, 30, "the 90% warning")
            time.sleep(1.5)
            cloud.stop()
            cloud.start()
            time.sleep(1.5)

            # 5. Preferences through the API, and the unsubscribe link (no login; the token is it).
            prefs = {
                "email": "new@home.test",
                "webhook_url": hook.url,
                "quiet_start_hour": 22,
                "quiet_end_hour": 7,
            }
            status, got = _request(cloud, "PUT", f"/api/v1/agents/{AGENT}/care/preferences", prefs)
            assert (status, got["email"], got["quiet_start_hour"], got["subscribed"]) == (
                200,
                "new@home.test",
                22,
                True,
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                _request(cloud, "PUT", f"/api/v1/agents/{AGENT}/care/preferences", {"quiet_start_hour": 22})
            assert refused.value.code == 422
            with pytest.raises(urllib.error.HTTPError) as anonymous:
                _request(cloud, "GET", f"/api/v1/agents/{AGENT}/care/preferences", auth=False)
            assert anonymous.value.code == 401
            with pytest.raises(urllib.error.HTTPError) as unknown:
                _request(cloud, "GET", "/api/v1/care/unsubscribe/not-a-token", auth=False)
            assert unknown.value.code == 404
            with urllib.request.urlopen(
                cloud.api_url + "/api/v1/care/unsubscribe/unsubscribe-token-1"
            ) as page:
                assert b'<form method="post"' in page.read()  # a GET (a mail scanner) changes nothing
            assert _request(cloud, "GET", f"/api/v1/agents/{AGENT}/care/preferences")[1]["subscribed"] is True
            assert _request(cloud, "POST", "/api/v1/care/unsubscribe/unsubscribe-token-1", auth=False) == (
                200,
                {"status": "unsubscribed"},
            )
            assert (
                _request(cloud, "GET", f"/api/v1/agents/{AGENT}/care/preferences")[1]["subscribed"] is False
            )
            status, console = _request(cloud, "GET", f"/api/v1/agents/{AGENT}/care/notifications")
            assert {(n["threshold"], n["status"]) for n in console if n["channel"] == "console"} == {
                ("projected", "sent"),
                ("50", "sent"),
                ("75", "skipped"),
                ("90", "sent"),
            }
        finally:
            cloud.stop()
            engine.dispose()

        subjects = [m["Subject"] for m in smtp.messages]
        assert subjects == [
            "You are on course to reach your 200 GB cap",
            "You have used 50% of your 200 GB cap",
            "You have used 90% of your 200 GB cap",
        ]
        assert [json.loads(h.body)["threshold"] for h in hook.hook_hits()] == ["projected", "50", "90"]
        engine = make_engine(cloud.db_url)
        rows = _notifications(make_sessionmaker(engine))
        engine.dispose()
        assert rows == {
            ("projected", "console"): "sent",
            ("projected", "email"): "sent",
            ("projected", "webhook"): "sent",
            ("50", "console"): "sent",
            ("50", "email"): "sent",
            ("50", "webhook"): "sent",
            ("75", "console"): "skipped",
            ("75", "email"): "skipped",
            ("75", "webhook"): "skipped",
            ("90", "console"): "sent",
            ("90", "email"): "sent",
            ("90", "webhook"): "sent",
        }
