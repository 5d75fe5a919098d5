"""homediag-agent: enroll, run, status."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from . import consent
from .config import AgentConfig, load_config
from .connectivity import diagnostics
from .enroll import enroll
from .errors import AgentError
from .runner import Agent
from .status import collect_status
from .usage.billing import cycle_report
from .usage.meter import meter


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="homediag-agent", description="homediag home agent")
    parser.add_argument(
        "--config", type=Path, help="TOML configuration file (default /etc/homediag/agent.toml)"
    )
    parser.add_argument("--state-dir", type=Path, help="where identity, outbox and status live")
    sub = parser.add_subparsers(dest="command", required=True)
    p_enroll = sub.add_parser("enroll", help="pair this device with the cloud using a one-time code")
    p_enroll.add_argument("--cloud", required=True, help="the cloud's URL, e.g. https://care.example.net")
    p_enroll.add_argument("--code", required=True, help="the pairing code from the CSR or self-care page")
    sub.add_parser("run", help="run the agent in the foreground")
    p_consent = sub.add_parser("consent", help="allow (or stop) remote assistance by your provider")
    consent_sub = p_consent.add_subparsers(dest="consent_command", required=True)
    p_grant = consent_sub.add_parser("grant", help="allow remote assistance for a while")
    p_grant.add_argument("--minutes", type=float, default=60.0)
    consent_sub.add_parser("revoke", help="end remote assistance now")
    consent_sub.add_parser("status", help="is remote assistance allowed now?")
    p_usage = sub.add_parser("usage", help="cycle-to-date usage and the day series, as this agent counted it")
    p_usage.add_argument("--json", action="store_true", help="machine-readable output")
    p_meter = sub.add_parser("meter", help="on a gateway: what each device moves now, per traffic class")
    p_meter.add_argument("--seconds", type=float, default=10.0, help="how long to count (0: until SIGTERM)")
    p_meter.add_argument("--interval", type=float, default=1.0, help="seconds between conntrack polls")
    p_meter.add_argument("--enable-accounting", action="store_true", help="switch nf_conntrack_acct on")
    p_meter.add_argument("--method", choices=["conntrack", "capture"], default="conntrack")
    p_meter.add_argument("--interface", help="with --method capture: the LAN, bridge or mirror interface")
    p_meter.add_argument("--json", action="store_true", help="machine-readable output")
    p_discover = sub.add_parser("discover", help="find the devices of the home (mDNS, ARP, SSDP, IPP)")
    p_discover.add_argument("--json", action="store_true", help="machine-readable output")
    p_discover.add_argument("--timeout", type=float, default=4.0, help="seconds to listen (1-60)")
    p_discover.add_argument("--interface", help="only this interface (default: every up IPv4 interface)")
    diagnostics.add_parser(sub)
    p_controllers = sub.add_parser(
        "controllers", help="what your provider's management tools (USP controllers) did on this device"
    )
    p_controllers.add_argument("--json", action="store_true", help="machine-readable output")
    p_status = sub.add_parser("status", help="identity, link state, outbox depth, probes")
    p_status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _config(args: argparse.Namespace) -> AgentConfig:
    config = load_config(args.config)
    if args.state_dir is not None:
        config.state_dir = args.state_dir
    return config


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = _config(args)
        logging.basicConfig(
            level=config.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if args.command == "enroll":
            enrollment = enroll(config.state_dir, args.cloud, args.code)
            print(f"enrolled as {enrollment.agent_id}; broker {enrollment.broker_url}")
        elif args.command == "run":
            asyncio.run(Agent(config).run())
        elif args.command == "usage":
            report = cycle_report(config.state_dir, time.time())
            if args.json:
                print(json.dumps(report, indent=2))
            else:
                _print_usage(report)
        elif args.command == "meter":
            counted = meter(
                config.state_dir,
                args.seconds,
                interval_s=args.interval,
                enable_accounting=args.enable_accounting,
                method=args.method,
                interface=args.interface,
            )
            print(json.dumps(counted, indent=2) if args.json else _meter_table(counted))
        elif args.command == "discover":
            from .discovery.report import discover  # noqa: PLC0415 - zeroconf only when discovering

            return discover(min(60.0, max(1.0, args.timeout)), args.interface, args.json)
        elif args.command == "diagnose":
            return diagnostics.main(args)
        elif args.command == "consent":
            _consent(config, args)
        elif args.command == "controllers":
            _print_controllers(config, args.json)
        elif args.command == "status":
            status = collect_status(config)
            if args.json:
                print(json.dumps(status, indent=2, sort_keys=True))
            else:
                _print_status(status)
    except AgentError as exc:
        print(f"homediag-agent: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_controllers(config: AgentConfig, as_json: bool) -> None:
    """The USP audit (agent/usp/audit.py): every controller action, newest last."""
    from .usp.audit import Audit, describe  # noqa: PLC0415 - only this command reads it

    entries = Audit(config.state_dir).read()
    if as_json:
        print(json.dumps(entries, indent=2))
    elif not entries:
        print("No management tool (USP controller) has used this device.")
    else:
        print("\n".join(describe(entry) for entry in entries))


def _meter_table(counted: dict[str, Any]) -> str:
    lines = [f"status: {counted.get('Status')}", f"{'device':<19} {'down':>12} {'up':>12}  classes"]
    for d in counted["devices"]:
        classes = ", ".join(sorted(d["classes"], key=lambda c: -sum(d["classes"][c].values())))
        lines.append(f"{d['device']:<19} {_human(d['bytes_rx']):>12} {_human(d['bytes_tx']):>12}  {classes}")
    return "\n".join(lines)


def _print_usage(report: dict[str, Any]) -> None:
    gb = 1e9
    cap = report["cap_bytes"]
    print(f"cycle     {report['cycle_start']} .. {report['cycle_end']} ({report['timezone']})")
    used = f"{report['total_bytes'] / gb:.3f} GB"
    print(
        f"used      {used}"
        + (f" of {cap / gb:.0f} GB ({100 * report['total_bytes'] / cap:.1f}%)" if cap else "")
    )
    for day in report["daily"]:
        print(f"  {day['date']}  down {day['bytes_rx'] / gb:8.3f} GB  up {day['bytes_tx'] / gb:8.3f} GB")
    if report.get("devices"):
        print(_meter_table({"Status": "Complete", "devices": report["devices"]}))


def _human(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.2f} GB"


def _consent(config: AgentConfig, args: argparse.Namespace) -> None:
    now = time.time()
    if args.consent_command == "grant":
        granted = consent.grant(config.state_dir, args.minutes, now)
        print(f"remote assistance allowed until {time.strftime('%H:%M', time.localtime(granted.expires_at))}")
    elif args.consent_command == "revoke":
        consent.revoke(config.state_dir, now)
        print("remote assistance ended")
    else:
        current = consent.load(config.state_dir)
        active = current is not None and current.active(now)
        print("remote assistance allowed" if active else "remote assistance not allowed")


def _print_status(status: dict[str, object]) -> None:
    if not status.get("enrolled"):
        print(f"not enrolled (state in {status['state_dir']})")
        return
    print(f"agent     {status['agent_id']}")
    print(f"cloud     {status['cloud_url']}  broker {status['broker_url']}")
    link = status.get("link")
    print(f"link      {link.get('state') if isinstance(link, dict) else link}")
    revoked = status.get("revoked")
    if isinstance(revoked, dict):
        print(f"revoked   {revoked['reason']}: this agent sends nothing more")
    outbox = status.get("outbox")
    if isinstance(outbox, dict):
        print(f"outbox    {outbox['depth']} reports waiting ({outbox['bytes']} bytes)")
    probes = status.get("probes")
    if isinstance(probes, dict):
        for name, info in sorted(probes.items()):
            print(f"probe     {name}: {info}")


if __name__ == "__main__":
    sys.exit(main())
