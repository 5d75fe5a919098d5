"""The care loop: every ``care_interval_s`` decide what is due, then deliver what is due.

Deciding and delivering are separate passes on purpose: a notification is committed (with its
once-only key) before anyone tries to send it, so a crash or restart between the two loses
nothing and repeats nothing. The work is blocking database and network I/O, so each pass runs in
an executor; an exception in a pass is logged and the loop carries on (a bad row must not stop
every other home's warnings).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..storage import make_engine, make_sessionmaker, migrate
from ..storage.models import utcnow
from ..storage.usage import UsagePlan
from .alerts import (
    build_daily_list,
    cap_warnings,
    connectivity_alerts,
    inventory_alerts,
    offline_alerts,
    store_daily_list,
)
from .delivery import RetryPolicy, Sender, SmtpSender, WebhookSender, deliver_due
from .egress import policy_for
from .projection import Plan

_LOGGER = logging.getLogger(__name__)


def plans_from_settings(settings: Settings) -> list[Plan]:
    return [Plan(p.name, p.cap_gb, p.price) for p in settings.care_plans]


class CareLoop:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self.settings = settings
        self.sessions = sessions
        self.plans = plans_from_settings(settings)
        self.policy = RetryPolicy(
            settings.care_retry_attempts, settings.care_retry_base_s, settings.care_retry_max_s
        )
        self.senders: dict[str, Sender] = {}
        if settings.care_smtp_host:
            self.senders["email"] = SmtpSender(
                settings.care_smtp_host,
                settings.care_smtp_port,
                settings.care_smtp_from,
                settings.care_smtp_timeout_s,
                settings.care_smtp_starttls,
                settings.care_smtp_user,
                settings.care_smtp_password.get_secret_value() if settings.care_smtp_password else "",
            )
        if settings.care_webhook_secret is not None:
            self.senders["webhook"] = WebhookSender(
                settings.care_webhook_secret.get_secret_value().encode(),
                settings.care_webhook_timeout_s,
                egress=policy_for(tuple(settings.care_webhook_allow)),
            )
        self._daily_done: date | None = None

    def unsubscribe_url(self, token: str) -> str:
        base = (self.settings.care_public_url or self.settings.api_url).rstrip("/")
        return f"{base}/api/v1/care/unsubscribe/{token}"

    def decide(self, now: datetime) -> dict[str, int]:
        counts = {"cap": 0, "offline": 0, "devices": 0, "connectivity": 0, "daily_list": 0}
        email = "email" in self.senders
        with self.sessions() as session:
            agent_ids = list(session.scalars(select(UsagePlan.agent_id)))
        for agent_id in agent_ids:
            with self.sessions.begin() as session:
                plan = session.get(UsagePlan, agent_id)
                if plan is None:
                    continue
                counts["cap"] += cap_warnings(
                    session,
                    plan,
                    now=now,
                    thresholds=self.settings.care_thresholds_percent,
                    plans=self.plans,
                    overage_price_per_gb=self.settings.care_overage_price_per_gb,
                    currency=self.settings.care_currency,
                    email_enabled=email,
                )
        with self.sessions.begin() as session:
            counts["offline"] = offline_alerts(
                session, now=now, offline_after_s=self.settings.care_offline_after_s, email_enabled=email
            )
            counts["devices"] = inventory_alerts(session, now=now, email_enabled=email)
        with self.sessions.begin() as session:
            counts["connectivity"] = connectivity_alerts(session, now=now, email_enabled=email)
        yesterday = (now - timedelta(days=1)).date()
        if self._daily_done != yesterday:
            with self.sessions.begin() as session:
                counts["daily_list"] = store_daily_list(
                    session, yesterday, build_daily_list(session, yesterday), now
                )
            self._daily_done = yesterday
        return counts

    def run_once(self, now: datetime | None = None) -> dict[str, Any]:
        moment = now or utcnow()
        decided = self.decide(moment)
        delivered = deliver_due(self.sessions, self.senders, self.policy, self.unsubscribe_url, now=moment)
        return {"decided": decided, "delivered": delivered.as_json()}

    async def run(self) -> None:
        """Forever, every ``care_interval_s``; cancel to stop."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                result = await loop.run_in_executor(None, self.run_once)
                if any(result["delivered"].values()):
                    _LOGGER.info("care pass: %s", result)
            except Exception:
                _LOGGER.exception("care pass failed; trying again next interval")
            await asyncio.sleep(self.settings.care_interval_s)


async def run_care_once(settings: Settings) -> dict[str, Any]:
    """`homediag-cloud care run-once`: one pass against the configured database."""
    engine = make_engine(settings.database_url)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, migrate, engine)
        care = CareLoop(settings, make_sessionmaker(engine))
        return await loop.run_in_executor(None, care.run_once)
    finally:
        engine.dispose()
