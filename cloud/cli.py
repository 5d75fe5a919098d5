"""homediag-cloud: serve, pairing-code, migrate, api-token."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from .config import Settings, load_settings
from .enrollment import issue_pairing_code
from .errors import CloudError
from .service import serve
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
    p_code = sub.add_parser("pairing-code", help="print a one-time pairing code for a new agent")
    p_code.add_argument("--ttl", type=int, help="seconds the code stays valid (default 900)")
    p_code.add_argument("--note", default="", help="who or what the code is for")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    sub.add_parser("api-token", help="print the operator API token (development)")
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
    }
    for arg, setting in mapping.items():
        value = getattr(args, arg, None)
        if value is not None:
            overrides[setting] = value
    return load_settings(**overrides)


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
        elif args.command in ("pairing-code", "migrate"):
            engine = make_engine(settings.database_url)
            migrate(engine)
            if args.command == "pairing-code":
                with make_sessionmaker(engine).begin() as session:
                    code = issue_pairing_code(session, settings.pairing_code_ttl_s, args.note)
                print(code)
            engine.dispose()
        elif args.command == "api-token":
            print(settings.resolved_api_token())
    except CloudError as exc:
        print(f"homediag-cloud: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
