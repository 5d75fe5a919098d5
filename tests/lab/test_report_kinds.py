"""Every report kind the shipped agent sends, from real runs in the virtual home, decoded with the
typed contract (issue 18: "a test decodes one real report of every sample kind").

Each shipped probe runs as the agent runs it, inside the gateway's namespace (it has the LAN, the
WAN and connection tracking) against the lab's own cloud, DNS server and speed test; a kind that
cannot measure here (Wi-Fi without a radio) still sends its real status sample. Every sample is
sealed and decoded by ``protocol.codec`` as the cloud does, and must read back field for field:
the Struct of its kind knows every field the agent sends.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

import protocol
from agent.probes import registered
from lab import CLOUD_ADDRESS, CLOUD_NAME, DNS_ADDRESS, Lab
from protocol import Sample, TelemetryBatch
from protocol.samples import RESULT_DATA, SAMPLE_DATA, decode_data, decode_result

from .helpers import until
from .test_connectivity import _SERVER, SPEEDTEST, SPEEDTEST_PORT

pytestmark = pytest.mark.lab

KEY = protocol.generate_private_key()

#: Run inside the gateway: every shipped probe once as the runner would (``run_now``: always a
#: result), and the connectivity and discovery commands; prints [[kind, name, status, data], ...].
_RUN = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from agent import probes
    from agent.connectivity import diagnostics
    from agent.discovery import on_demand
    from protocol import catalogue

    state, cloud, dns, name, speed = Path(sys.argv[1]), *sys.argv[2:]
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
            probe = probes.create(probe_name, options[probe_name])
            probe.attach(state)
            runs = 2 if probe_name in ("usage", "netdev") else 1  # the first usage run is a baseline
            for _ in range(runs):
                result = await probe.run_now()
                out.append(["sample", probe_name, result.status, result.data])
        commands = [
            ("ping", diagnostics.ping_command(catalogue.PingParams(host=cloud, count=2))),
            ("traceroute", diagnostics.traceroute_command(
                catalogue.TraceRouteParams(host=cloud, max_hops=6))),
            ("dns_lookup", diagnostics.dns_lookup_command(catalogue.DnsLookupParams(name=name, server=dns))),
            ("http_check", diagnostics.http_check_command(
                catalogue.HttpCheckParams(url=speed + "/download?bytes=5"))),
            ("download_test", diagnostics.download_test_command(
                catalogue.ThroughputParams(url=speed + "/download", duration_s=1))),
            ("upload_test", diagnostics.upload_test_command(
                catalogue.ThroughputParams(url=speed + "/upload", duration_s=1))),
            ("discover", on_demand.discover_command(catalogue.DiscoverParams(timeout_s=2))),
        ]
        for command, run in commands:
            data = await run
            out.append(["result", command, data.get("Status", "Complete"), data])
        print(json.dumps(out))

    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def speed(home: Lab) -> Iterator[str]:
    log = home.log_path("speedtest-kinds").open("ab")
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


@pytest.fixture(scope="module")
def reports(home: Lab, speed: str, tmp_path_factory: pytest.TempPathFactory) -> list[list[Any]]:
    state = tmp_path_factory.mktemp("agent-state")
    argv = [sys.executable, "-c", _RUN, str(state), CLOUD_ADDRESS, DNS_ADDRESS, CLOUD_NAME, speed]
    done = home.exec("gw", argv, timeout_s=180)
    assert "Traceback" not in done.stderr, done.stderr
    out: list[list[Any]] = json.loads(done.stdout)
    return out


def _through_the_codec(probe: str, status: str, data: dict[str, Any]) -> Sample:
    """Sealed and decoded exactly as the cloud decodes a report (the typed check included)."""
    body = TelemetryBatch(samples=[Sample(probe=probe, at=time.time(), status=status, data=data)])
    envelope = protocol.unseal(protocol.seal(KEY, agent="lab-agent", body=body), KEY.public_key())
    (sample,) = protocol.decode_body(envelope, TelemetryBatch).samples
    return sample


def test_every_shipped_probe_sends_a_report_its_typed_kind_reads_whole(reports: list[list[Any]]) -> None:
    samples = [(name, status, data) for kind, name, status, data in reports if kind == "sample"]
    assert {name for name, _, _ in samples} == set(registered()), "no shipped probe skipped"
    assert set(registered()) <= set(SAMPLE_DATA)
    for name, status, data in samples:
        sample = _through_the_codec(name, status, data)
        typed = decode_data(sample.probe, sample.data)
        assert isinstance(typed, SAMPLE_DATA[name]), name
        assert msgspec.to_builtins(typed) == data, f"{name}: a field the contract does not type"
    by_name = {name: (status, data) for name, status, data in samples}
    # Real measurements, not only error samples: the lab's cloud answers ping, DNS and the speed test.
    assert by_name["ping"][0] == "Complete" and by_name["ping"][1]["SuccessCount"] > 0
    assert by_name["dns"][0] == "Complete" and by_name["download"][0] == "Complete"
    assert by_name["usage"][1].get("BytesReceived") is not None
    assert by_name["discovery"][1]["Hosts"]["Host"], "the home's devices"
    assert by_name["wifi"][0] == "Error_NotApplicable", "no radio in the lab: its real status sample"


def test_every_command_result_reads_whole_with_its_typed_kind(reports: list[list[Any]]) -> None:
    results = [(name, data) for kind, name, _, data in reports if kind == "result"]
    assert results
    for name, data in results:
        typed = decode_result(name, data)
        assert isinstance(typed, RESULT_DATA[name]), name
        assert msgspec.to_builtins(typed) == data, f"{name}: a field the contract does not type"
