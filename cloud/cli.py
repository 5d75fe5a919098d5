"""homediag-cloud: serve, pairing-code, migrate, api-token, tenant and user accounts."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from . import audit, quarantine
from .accounts import ROLES, create_tenant, create_user, generate_password
from .broker_config import write_broker_config
from .care import offline_daily_list, run_care_once
from .config import Settings, load_settings
from .enrollment import issue_pairing_code, write_crl
from .errors import CloudError
from .keys import begin_rotation, finish_rotation
from .pki import CertificateAuthority
from .retention import Horizons, enforce
from .service import run_ingest, serve
from .simulate import FleetStats, simulate
from .storage import make_engine, make_sessionmaker, migrate


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homediag-cloud", description="homediag operator cloud")
    parser.add_argument("--state-dir", type=Path, help="keys, tokens and the default SQLite database")
    parser.add_argument("--db", help="SQLAlchemy database URL (default: SQLite in the state directory)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the API, the ingestion and the embedded broker")
    p_serve.add_argument("--broker", help="use this broker (mqtt://host:port) instead of the embedded one")
    p_serve.add_argument("--broker-port", type=int, help="port of the embedded broker (default 1883)")
    p_serve.add_argument("--public-broker", help="broker URL handed to agents, if it differs")
    p_serve.add_argument("--host", help="API listen address (default 127.0.0.1)")
    p_serve.add_argument("--port", type=int, help="API port (default 8000)")
    p_serve.add_argument("--share-group", help="MQTT shared-subscription group, to add `ingest` workers")
    p_ingest = sub.add_parser("ingest", help="an ingest worker only; several share the load (--share-group)")
    p_ingest.add_argument("--broker", required=True, help="the broker (mqtt://host:port or mqtts://...)")
    p_ingest.add_argument("--share-group", help="MQTT shared-subscription group")
    p_code = sub.add_parser("pairing-code", help="print a one-time pairing code for a new agent")
    p_code.add_argument("--ttl", type=int, help="seconds the code stays valid (default 900)")
    p_code.add_argument("--note", default="", help="who or what the code is for")
    p_code.add_argument(
        "--subscriber", default="", help="subscriber reference (codes are rate-limited per subscriber)"
    )
    p_rotate = sub.add_parser("rotate-key", help="rotate the cloud's signing key without re-enrolling agents")
    p_rotate.add_argument("step", choices=["begin", "finish"])
    p_broker = sub.add_parser("broker-config", help="write a mosquitto configuration with mTLS and ACLs")
    p_broker.add_argument("--out", type=Path, required=True, help="directory to write into")
    p_broker.add_argument("--listen", default="0.0.0.0", help="address the broker listens on")  # noqa: S104
    p_broker.add_argument("--listen-port", type=int, default=8883)
    p_broker.add_argument(
        "--name", action="append", dest="names", help="broker host name or address (repeat)"
    )
    p_broker.add_argument(
        "--cloud-clients",
        type=int,
        default=1,
        help="broker identities for cloud processes (serve and each ingest worker need one each)",
    )
    p_sim = sub.add_parser("simulate", help="a fleet of synthetic homes publishing signed telemetry")
    p_sim.add_argument("--agents", type=int, default=10)
    p_sim.add_argument("--cloud", required=True, help="the cloud's API URL")
    p_sim.add_argument("--broker", required=True, help="the broker the homes publish to")
    p_sim.add_argument("--interval", type=float, default=10.0, help="seconds between reports of one home")
    p_sim.add_argument(
        "--duration", type=float, default=60.0, help="seconds of reporting, once every home is connected"
    )
    p_sim.add_argument("--enroll-workers", type=int, default=8, help="homes enrolling at the same time")
    p_sim.add_argument("--connect-concurrency", type=int, default=100, help="homes connecting at once")
    p_sim.add_argument("--report-every", type=float, help="print the counters as JSON every this many s")
    p_care = sub.add_parser("care", help="proactive care: the daily list, cap warnings, alerts")
    care_sub = p_care.add_subparsers(dest="care_command", required=True)
    p_list = care_sub.add_parser("daily-list", help="the daily list of a JSON Lines file of hourly records")
    p_list.add_argument("--input", type=Path, required=True, help="hourly records (docs/care.md)")
    p_list.add_argument("--date", type=date.fromisoformat, help="UTC day to judge (default: the newest)")
    p_list.add_argument("--top", type=int, help="at most this many entries")
    p_list.add_argument("--feedback", type=Path, help="CSR verdicts as JSON Lines (docs/care.md)")
    p_list.add_argument("--strict", action="store_true", help="refuse the input if any line is malformed")
    care_sub.add_parser("run-once", help="one pass of the care loop against the database")
    p_quarantine = sub.add_parser(
        "quarantine", help="reports the ingest set aside (out of bounds, undecodable, or unstorable)"
    )
    p_quarantine.add_argument("--limit", type=int, default=20, help="how many, newest first")
    p_quarantine.add_argument("--json", action="store_true", help="machine-readable, with the payloads")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("retention", help="delete what is past its retention horizon now (serve does it hourly)")
    sub.add_parser("api-token", help="print the operator API token (development)")
    p_tenant = sub.add_parser("tenant", help="operators (tenants) sharing this cloud")
    tenant_sub = p_tenant.add_subparsers(dest="tenant_command", required=True)
    p_tenant_add = tenant_sub.add_parser("add", help="add a tenant")
    p_tenant_add.add_argument("tenant_id", help="short id typed at login, e.g. acme")
    p_tenant_add.add_argument("--name", default="", help="display name")
    p_user = sub.add_parser("user", help="logins of a tenant")
    user_sub = p_user.add_subparsers(dest="user_command", required=True)
    p_user_add = user_sub.add_parser("add", help="add a login; prints a generated password")
    p_user_add.add_argument("--tenant", required=True)
    p_user_add.add_argument("--role", required=True, choices=ROLES)
    p_user_add.add_argument("--username", required=True)
    p_user_add.add_argument("--subscriber", help="subscriber id (role subscriber)")
    p_user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    mapping = {
        "state_dir": "state_dir",
        "db": "db_url",
        "broker": "broker_url",
        "broker_port": "embedded_broker_port",
        "public_broker": "public_broker_url",
        "host": "api_host",
        "port": "api_port",
        "ttl": "pairing_code_ttl_s",
        "share_group": "ingest_share_group",
    }
    for arg, setting in mapping.items():
        value = getattr(args, arg, None)
        if value is not None:
            overrides[setting] = value
    return load_settings(**overrides)


def _care(args: argparse.Namespace, settings: Settings) -> int:
    if args.care_command == "daily-list":
        result = offline_daily_list(
            args.input, args.date, top=args.top, strict=args.strict, feedback=args.feedback
        )
        for item in result["rejected"]:
            print(f"{args.input}: line {item['line']}: skipped: {item['error']}", file=sys.stderr)
        print(json.dumps(result, indent=2))
        return 0
    print(json.dumps(asyncio.run(run_care_once(settings)), indent=2))
    return 0


def _quarantine(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine)() as session:
            total, rows = quarantine.listing(session, None, limit=max(1, min(args.limit, 1000)), offset=0)
            counts = quarantine.by_reason(session)
    finally:
        engine.dispose()
    if args.json:
        items = [
            {
                "agent_id": r.agent_id,
                "epoch": r.epoch,
                "seq": r.seq,
                "kind": r.kind,
                "reason": r.reason,
                "detail": r.detail,
                "received_at": r.received_at.isoformat(),
                "payload_b64": base64.b64encode(r.payload).decode(),
            }
            for r in rows
        ]
        print(json.dumps({"total": total, "by_reason": counts, "items": items}, indent=2))
        return 0
    summary = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items())) or "none"
    print(f"{total} reports set aside ({summary}); each was acknowledged to its agent as refused")
    for r in rows:
        print(
            f"{r.received_at:%Y-%m-%d %H:%M:%S}  {r.agent_id}  {r.epoch}/{r.seq}  {r.kind}"
            f"  {r.reason}: {r.detail}"
        )
    return 0


def _accounts(args: argparse.Namespace, settings: Settings) -> int:
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        with make_sessionmaker(engine).begin() as session:
            if args.command == "tenant":
                tenant = create_tenant(session, args.tenant_id, args.name)
                print(tenant.id)
                return 0
            generated = not args.password_stdin
            password = generate_password() if generated else sys.stdin.readline().rstrip("\n")
            user = create_user(
                session,
                tenant_id=args.tenant,
                username=args.username,
                password=password,
                role=args.role,
                subscriber_id=args.subscriber,
            )
            audit.record(
                session,
                actor="cli",
                action="user_add",
                agent_id=None,
                details={"user_id": user.id, "username": user.username, "role": user.role},
                outcome="saved",
                tenant_id=user.tenant_id,
            )
        print(user.id)
        if generated:
            print(f"password: {password}")
        return 0
    finally:
        engine.dispose()


def _print_stats(stats: FleetStats) -> None:
    print(json.dumps(asdict(stats)), flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if args.command == "serve":
            asyncio.run(serve(settings))
        elif args.command == "ingest":
            asyncio.run(run_ingest(settings))
        elif args.command == "simulate":
            stats = asyncio.run(
                simulate(
                    args.cloud.rstrip("/"),
                    settings.resolved_api_token(),
                    args.broker,
                    agents=args.agents,
                    interval_s=args.interval,
                    duration_s=args.duration,
                    enroll_workers=args.enroll_workers,
                    connect_concurrency=args.connect_concurrency,
                    report=_print_stats if args.report_every else None,
                    report_every_s=args.report_every or 5.0,
                )
            )
            _print_stats(stats)
        elif args.command == "retention":
            engine = make_engine(settings.database_url)
            migrate(engine)
            horizons = Horizons(settings.retention_raw_days, settings.retention_rollup_days)
            print(json.dumps(enforce(make_sessionmaker(engine), horizons)))
            engine.dispose()
        elif args.command in ("pairing-code", "migrate"):
            engine = make_engine(settings.database_url)
            migrate(engine)
            if args.command == "pairing-code":
                with make_sessionmaker(engine).begin() as session:
                    code = issue_pairing_code(
                        session, settings.pairing_code_ttl_s, args.note, args.subscriber
                    )
                print(code)
            engine.dispose()
        elif args.command == "rotate-key":
            if args.step == "begin":
                print(begin_rotation(settings.state_dir))
                print("agents pin this next key when they next say hello", file=sys.stderr)
            else:
                print(finish_rotation(settings.state_dir))
                print("this key signs from now on; agents drop the old one at hello", file=sys.stderr)
        elif args.command == "broker-config":
            engine = make_engine(settings.database_url)
            migrate(engine)
            ca = CertificateAuthority(settings.pki_dir)
            with make_sessionmaker(engine)() as session:
                write_crl(session, ca, settings.crl_path)
            engine.dispose()
            files = write_broker_config(
                ca,
                args.out,
                crl_path=settings.crl_path,
                host=args.listen,
                port=args.listen_port,
                server_names=args.names,
                cloud_clients=args.cloud_clients,
            )
            for warning in files.warnings:
                print(f"homediag-cloud: warning: {warning}", file=sys.stderr)
            print(f"wrote {files.conf}; start the broker with: mosquitto -c {files.conf}")
            print(
                f"run the cloud with HOMEDIAG_BROKER_CA_FILE={files.ca}"
                f" HOMEDIAG_BROKER_CERT_FILE={files.cloud_cert} HOMEDIAG_BROKER_KEY_FILE={files.cloud_key}"
                f" and --broker mqtts://HOST:{args.listen_port}"
            )
            for client in files.cloud_clients[1:]:
                print(
                    f"another cloud process (one each): HOMEDIAG_BROKER_CERT_FILE={client.cert}"
                    f" HOMEDIAG_BROKER_KEY_FILE={client.key}"
                )
        elif args.command == "care":
            return _care(args, settings)
        elif args.command == "quarantine":
            return _quarantine(args, settings)
        elif args.command == "api-token":
            print(settings.resolved_api_token())
        elif args.command in ("tenant", "user"):
            return _accounts(args, settings)
    except CloudError as exc:
        print(f"homediag-cloud: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
