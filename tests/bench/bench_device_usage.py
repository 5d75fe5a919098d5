"""Benchmark: the CPU cost of per-device accounting on the gateway, and how fast the capture keeps up.

    sudo .venv/bin/python tests/bench/bench_device_usage.py [--seconds 8]

In the virtual home, `homediag-agent meter` runs in the gateway's namespace (conntrack path, then
capture path) while the PC sends a sustained flow to the ISP side: bulk TCP (few, large packets)
and UDP with 64-byte payloads at fixed packet rates (many small packets). For each it prints the
meter's CPU time per second of traffic (from /proc, user + system), the rate moved, and for the
capture the packets the kernel dropped because the capture thread fell behind. Not a test: it
asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab import Lab, missing_prerequisites

PORT = 5301


def _meter(home: Lab, method: str, state: Path) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "agent", "--state-dir", str(state), "meter", "--seconds", "0"]
    argv += ["--interval", "1", "--enable-accounting", "--json", "--method", method]
    return home.popen("gw", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _cpu(proc: subprocess.Popen[bytes]) -> float:
    times = psutil.Process(proc.pid).cpu_times()
    total = times.user + times.system
    for child in psutil.Process(proc.pid).children(recursive=True):
        with_child = child.cpu_times()
        total += with_child.user + with_child.system
    return total


def _traffic(home: Lab, seconds: float, udp_pps: int | None) -> dict[str, float]:
    isp = home.address("isp")
    server = home.popen("isp", ["iperf3", "-s", "-1", "-p", str(PORT)], stdout=subprocess.DEVNULL)
    time.sleep(0.5)
    argv = ["iperf3", "-c", isp, "-p", str(PORT), "-t", str(seconds), "-J"]
    if udp_pps is not None:
        argv += ["-u", "-l", "64", "-b", str(udp_pps * 64 * 8)]
    done = home.exec("pc", argv, timeout_s=seconds + 30)
    home.stop(server)
    report = json.loads(done.stdout)["end"]
    if udp_pps is not None:
        s = report["sum"]
        return {"mbit": s["bits_per_second"] / 1e6, "pps": s["packets"] / s["seconds"]}
    s = report["sum_sent"]
    return {"mbit": s["bits_per_second"] / 1e6, "pps": float("nan")}


def measure(home: Lab, method: str, seconds: float, udp_pps: int | None, workdir: Path) -> dict[str, object]:
    meter = _meter(home, method, workdir / f"{method}-{udp_pps}")
    time.sleep(1.5)
    cpu_before = _cpu(meter)
    started = time.monotonic()
    moved = _traffic(home, seconds, udp_pps)
    elapsed = time.monotonic() - started
    cpu = _cpu(meter) - cpu_before
    meter.send_signal(signal.SIGTERM)
    out, _ = meter.communicate(timeout=30)
    counted = json.loads(out)
    return {
        "method": method,
        "load": "bulk TCP" if udp_pps is None else f"UDP 64 B @ {udp_pps} pps",
        "mbit": round(moved["mbit"], 1),
        "pps_sent": "-" if moved["pps"] != moved["pps"] else round(moved["pps"]),
        "cpu_pct_of_core": round(100 * cpu / elapsed, 1),
        "missed": counted.get("PacketsMissed"),
        "status": counted["Status"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rates", default="20000,50000,100000,200000")
    args = parser.parse_args()
    reasons = missing_prerequisites()
    if reasons:
        print("cannot build the lab here: " + "; ".join(reasons), file=sys.stderr)
        return 2
    rates = [int(r) for r in args.rates.split(",")]
    rows = []
    workdir = Path("/tmp/homediag-bench-device-usage")
    with Lab() as home:
        for method in ("conntrack", "capture"):
            for rate in [None, *rates]:
                row = measure(home, method, args.seconds, rate, workdir)
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print("| path | load | moved Mbit/s | pps sent | meter CPU % of one core | packets missed |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['method']} | {r['load']} | {r['mbit']} | {r['pps_sent']} | {r['cpu_pct_of_core']} "
            f"| {r['missed'] if r['missed'] is not None else 'n/a'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
