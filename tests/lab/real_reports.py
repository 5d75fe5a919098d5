"""Real reports from the virtual home: every shipped probe as the runner runs it, and the commands.

Shared by the conformance test (tests/lab/test_tr181_conformance.py). Besides the ordinary runs it
exercises the cases whose output the model pins down most: a ping nobody answers (TR-181: the
response times "MUST be zero") and a DNS lookup against an address where nothing listens
(``Error_DNSServerNotAvailable``).
"""

from __future__ import annotations

import contextlib
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from lab import CLOUD_ADDRESS, CLOUD_NAME, DNS_ADDRESS, Lab

from .helpers import until
from .test_connectivity import _SERVER, SPEEDTEST, SPEEDTEST_PORT

#: An address of the home's LAN that nobody holds: no ARP answer, so no echo reply either.
NO_ANSWER_ADDRESS = "10.213.0.99"
#: The cloud's address has no DNS server (dnsmasq binds the resolver address only): port unreachable.
NO_DNS_SERVER = CLOUD_ADDRESS

#: The command runs, by label: (command, how it is run). The label names the test case.
COMMANDS: tuple[str, ...] = (
    "ping",
    "ping-no-answer",
    "traceroute",
    "dns_lookup",
    "dns_lookup-no-server",
    "http_check",
    "download_test",
    "upload_test",
    "discover",
)

#: Run inside the gateway; prints [[kind, label, name, status, data], ...].
_RUN = textwrap.dedent(
    """
    import asyncio, json, sys, traceback
    from pathlib import Path
    from agent import probes
    from agent.connectivity import diagnostics
    from agent.discovery import on_demand
    from protocol import catalogue

    state, cloud, dns, name, speed, silent, no_dns = Path(sys.argv[1]), *sys.argv[2:]
    options = {
        "netdev": {},
        "usage": {},
        "device_usage": {"enable_accounting": True, "report_s": 1.0},
        "ping": {"host": cloud, "count": 3, "echo_interval_s": 0.05},
        "dns": {"names": [name], "server": dns},
        "http": {"urls": [speed + "/download?bytes=1000", speed + "/download?bytes=10"]},
        "download": {"url": speed + "/download", "duration_s": 1, "connections": 2, "busy_policy": "flag"},
        "upload": {"url": speed + "/upload", "duration_s": 1, "connections": 2, "busy_policy": "flag"},
        "discovery": {"timeout_s": 2.0},
        "traceroute": {"host": cloud, "max_hops": 6},
        "wifi": {},
        "connectivity": {"targets": [cloud], "dns_names": [name], "dns_server": dns, "count": 3,
                         "echo_interval_s": 0.05},
    }

    async def main():
        out = []
        for probe_name in sorted(probes.registered()):
            probe = probes.create(probe_name, options.get(probe_name, {}))
            probe.attach(state)
            runs = 2 if probe_name in ("usage", "netdev") else 1  # the first usage run is a baseline
            for _ in range(runs):
                try:
                    result = await probe.run_now()
                except Exception:
                    failed = {"traceback": traceback.format_exc()}
                    out.append(["error", probe_name, probe_name, "sample", failed])
                    continue
                out.append(["sample", probe_name, probe_name, result.status, result.data])
        commands = [
            ("ping", "ping", diagnostics.ping_command(catalogue.PingParams(host=cloud, count=2))),
            ("ping-no-answer", "ping", diagnostics.ping_command(
                catalogue.PingParams(host=silent, count=2, timeout_s=0.5))),
            ("traceroute", "traceroute", diagnostics.traceroute_command(
                catalogue.TraceRouteParams(host=cloud, max_hops=6))),
            ("dns_lookup", "dns_lookup", diagnostics.dns_lookup_command(
                catalogue.DnsLookupParams(name=name, server=dns))),
            ("dns_lookup-no-server", "dns_lookup", diagnostics.dns_lookup_command(
                catalogue.DnsLookupParams(name=name, server=no_dns))),
            ("http_check", "http_check", diagnostics.http_check_command(
                catalogue.HttpCheckParams(url=speed + "/download?bytes=5"))),
            ("download_test", "download_test", diagnostics.download_test_command(
                catalogue.ThroughputParams(url=speed + "/download", duration_s=1))),
            ("upload_test", "upload_test", diagnostics.upload_test_command(
                catalogue.ThroughputParams(url=speed + "/upload", duration_s=1))),
            ("discover", "discover", on_demand.discover_command(catalogue.DiscoverParams(timeout_s=2))),
        ]
        for label, command, run in commands:
            try:
                data = await run
            except Exception:
                out.append(["error", label, command, "result", {"traceback": traceback.format_exc()}])
                continue
            out.append(["result", label, command, data.get("Status", "Complete"), data])
        print(json.dumps(out))

    asyncio.run(main())
    """
)


class Report(NamedTuple):
    """One real sample (``kind == "sample"``) or command result, as the agent built it; or, with
    ``kind == "error"``, a run that raised (``status`` says which of the two, ``data`` the traceback)."""

    kind: str
    label: str
    name: str
    status: str
    data: dict[str, Any]


@contextlib.contextmanager
def speed_test(home: Lab) -> Iterator[str]:
    """The cloud's speed-test endpoint in the ISP namespace, for as long as the block runs."""
    log = home.log_path("speedtest-tr181").open("ab")
    proc = home.popen(
        "isp", [sys.executable, "-c", _SERVER, CLOUD_ADDRESS, str(SPEEDTEST_PORT)], stdout=log, stderr=log
    )
    try:
        probe = f"import socket; socket.create_connection(('{CLOUD_ADDRESS}', {SPEEDTEST_PORT}), 1).close()"
        up = lambda: home.exec("gw", [sys.executable, "-I", "-c", probe], check=False).returncode == 0  # noqa: E731
        assert until(up, timeout_s=20), "speed-test server did not start"
        yield SPEEDTEST
    finally:
        home.stop(proc)
        log.close()


def run_reports(home: Lab, speed: str, state: Path) -> list[Report]:
    """Every shipped probe once (usage and netdev twice) and every command, run in the gateway."""
    argv = [
        sys.executable, "-c", _RUN, str(state), CLOUD_ADDRESS, DNS_ADDRESS, CLOUD_NAME, speed,
        NO_ANSWER_ADDRESS, NO_DNS_SERVER,
    ]  # fmt: skip
    done = home.exec("gw", argv, timeout_s=240)
    assert "Traceback" not in done.stderr, done.stderr
    return [Report(*row) for row in json.loads(done.stdout)]
