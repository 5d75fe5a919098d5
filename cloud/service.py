"""`homediag-cloud serve`: the API, the ingestion and (by default) the embedded broker in one loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from protocol import BrokerAddress

from .api import create_app
from .broker import EmbeddedBroker
from .care import CareLoop
from .config import Settings
from .enrollment import write_crl
from .errors import ConfigError
from .ingest import Ingest, TlsSettings
from .keys import KeyRing
from .pki import CertificateAuthority
from .retention import Horizons, enforce
from .storage import make_engine, make_sessionmaker, migrate

_LOGGER = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM (uvicorn's handlers end the server, then the rest stops)."""
    loop = asyncio.get_running_loop()
    engine = make_engine(settings.database_url)
    await loop.run_in_executor(None, migrate, engine)
    sessions = make_sessionmaker(engine)
    keys = KeyRing(settings.state_dir)
    keys.get()  # creates the first key, and fails early on a bad key file
    ca = CertificateAuthority(settings.pki_dir)
    with sessions() as session:
        write_crl(session, ca, settings.crl_path)
    try:
        broker_address = BrokerAddress.parse(settings.effective_broker_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    broker: EmbeddedBroker | None = None
    if settings.uses_embedded_broker:
        broker = EmbeddedBroker(settings.embedded_broker_host, settings.embedded_broker_port)
        await broker.start()
    ingest = Ingest(
        broker=broker_address,
        session_factory=sessions,
        keys=keys,
        batch_max=settings.ingest_batch_max,
        batch_wait_s=settings.ingest_batch_wait_s,
        tls=TlsSettings(settings.broker_ca_file, settings.broker_cert_file, settings.broker_key_file),
        share_group=settings.ingest_share_group or None,
    )
    app = create_app(settings=settings, sessions=sessions, keys=keys, ca=ca, ingest=ingest)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.api_host,
            port=settings.api_port,
            log_level=settings.log_level.lower(),
            lifespan="off",
            access_log=False,
            # X-Forwarded-For decides the client address the login lockout counts: believed only
            # from configured proxies (uvicorn's default trusts 127.0.0.1, any local process).
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies),
        )
    )
    ingest_task = asyncio.create_task(ingest.run(), name="ingest")
    # Proactive care (cloud/care): cap warnings, alerts, the daily list, delivery; 0 turns it off.
    care_task = (
        asyncio.create_task(CareLoop(settings, sessions).run(), name="care")
        if settings.care_interval_s > 0
        else None
    )
    retention_task = (
        asyncio.create_task(_retention_loop(settings, sessions), name="retention")
        if settings.retention_interval_s > 0
        else None
    )
    _LOGGER.info("API on %s, broker %s, database %s", settings.api_url, broker_address, engine.url)
    try:
        await server.serve()
    finally:
        if retention_task is not None:
            retention_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await retention_task
        ingest_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ingest_task
        if care_task is not None:
            care_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await care_task
        if broker is not None:
            await broker.stop()
        engine.dispose()


async def _retention_loop(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Enforce retention now and every ``retention_interval_s``; a failed pass is logged and retried."""
    horizons = Horizons(settings.retention_raw_days, settings.retention_rollup_days)
    loop = asyncio.get_running_loop()
    while True:
        try:
            await loop.run_in_executor(None, enforce, sessions, horizons)
        except SQLAlchemyError:
            _LOGGER.exception("retention pass failed; next try in %.0f s", settings.retention_interval_s)
        await asyncio.sleep(settings.retention_interval_s)


async def run_ingest(settings: Settings) -> None:
    """An ingest worker alone (no API, no broker): run several with one share group to scale out."""
    if settings.uses_embedded_broker:
        raise ConfigError("an ingest worker needs --broker: the embedded broker lives in `serve`")
    engine = make_engine(settings.database_url)
    await asyncio.get_running_loop().run_in_executor(None, migrate, engine)
    keys = KeyRing(settings.state_dir)
    keys.get()
    ingest = Ingest(
        broker=BrokerAddress.parse(settings.effective_broker_url),
        session_factory=make_sessionmaker(engine),
        keys=keys,
        batch_max=settings.ingest_batch_max,
        batch_wait_s=settings.ingest_batch_wait_s,
        tls=TlsSettings(settings.broker_ca_file, settings.broker_cert_file, settings.broker_key_file),
        share_group=settings.ingest_share_group or None,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    task = asyncio.create_task(ingest.run(), name="ingest")
    _LOGGER.info(
        "ingest worker on %s (share group %s)",
        settings.effective_broker_url,
        settings.ingest_share_group or "none",
    )
    try:
        await stop.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        engine.dispose()
