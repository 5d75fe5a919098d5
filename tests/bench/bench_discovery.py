"""Benchmark: discovery in the virtual home, and the ARP sweep against Debian's arp-scan.

    sudo .venv/bin/python tests/bench/bench_discovery.py [--runs 3]

1. Time to a complete inventory: `homediag-agent discover --json` on the PC with growing
   ``--timeout``; complete means every LAN host of the lab's ground truth found with the kind it
   implies (as tests/lab/test_discover.py checks). Wall time includes the CLI's start-up.
2. Resident memory of an agent process (agent.runner and every shipped probe imported, as
   `homediag-agent run` has them) before, during and after one discovery cycle, sampled every
   10 ms; the sweep's scapy worker process is measured on its own.
3. The ARP sweep of the /24 (scapy in its worker process, start-up included) against
   `arp-scan --localnet` in the same namespace: hosts found and wall time.

Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab import Lab, missing_prerequisites
from tests.lab.test_discover import expected_kind, lan_hosts

PY = sys.executable

_RSS = r"""
import asyncio, json, os, threading, time
import psutil
import agent.runner, agent.probes  # what the resident agent has loaded
from agent.probes.discovery import DiscoveryProbe
me = psutil.Process()
def rss(p):
    try: return p.memory_info().rss
    except psutil.Error: return 0
before = rss(me)
peak = {"agent": before, "worker": 0}
stop = False
def sample():
    while not stop:
        peak["agent"] = max(peak["agent"], rss(me))
        for child in me.children(recursive=True):
            peak["worker"] = max(peak["worker"], rss(child))
        time.sleep(0.01)
t = threading.Thread(target=sample); t.start()
result = asyncio.run(DiscoveryProbe({"timeout_s": 2.0}).run())
stop = True; t.join()
import gc; gc.collect()
print(json.dumps({"before": before, "during": peak["agent"], "worker": peak["worker"], "after": rss(me),
                  "hosts": result.data.get("ActiveHosts")}))
"""

_SWEEP = r"""
import asyncio, json, time
from agent.discovery import arp
(attached,) = arp.attached_subnets("eth0")
t0 = time.monotonic()
found = asyncio.run(arp.sweep(attached))
print(json.dumps({"s": time.monotonic() - t0, "hosts": sorted(s.ip for s in found)}))
"""


def complete(home: Lab, found: dict[str, Any]) -> bool:
    by_mac = {d["mac"]: d for d in found["devices"]}
    for name, host in lan_hosts(home).items():
        device = by_mac.get(host["mac"])
        if device is None:
            return False
        kind = expected_kind(name, host)
        if kind is not None and device["kind"] != kind:
            return False
    return len(by_mac) == len(lan_hosts(home))


def inventory(home: Lab, runs: int) -> list[dict[str, Any]]:
    rows = []
    for timeout in (1.0, 1.5, 2.0, 3.0):
        for _ in range(runs):
            t0 = time.monotonic()
            done = home.exec(
                "pc", [PY, "-m", "agent", "discover", "--json", "--timeout", str(timeout)], timeout_s=60
            )
            wall = time.monotonic() - t0
            found = json.loads(done.stdout)
            rows.append(
                {
                    "timeout": timeout,
                    "wall_s": wall,
                    "cycle_s": found["duration_s"],
                    "complete": complete(home, found),
                }
            )
    return rows


def arp_scan(home: Lab) -> tuple[float, list[str]]:
    t0 = time.monotonic()
    out = home.exec("pc", ["arp-scan", "--interface", "eth0", "--localnet", "--quiet", "--plain"]).stdout
    took = time.monotonic() - t0
    return took, sorted(line.split("\t")[0] for line in out.splitlines() if line.count("\t") >= 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    reasons = missing_prerequisites()
    if reasons:
        print("cannot build the virtual home: " + "; ".join(reasons), file=sys.stderr)
        return 1
    with Lab() as home:
        time.sleep(1.0)  # let the TV's and the printer's announcements settle
        print("## time to a complete inventory (discover --json, wall time incl. start-up)")
        for row in inventory(home, args.runs):
            print(
                f"timeout {row['timeout']:.1f} s: wall {row['wall_s']:.2f} s,"
                f" cycle {row['cycle_s']:.2f} s, complete {row['complete']}"
            )
        print("## resident memory of the agent process (MiB)")
        for _ in range(args.runs):
            m = json.loads(home.exec("pc", [PY, "-c", _RSS], timeout_s=60).stdout)
            mib = {k: round(v / 2**20, 1) for k, v in m.items() if k != "hosts"}
            print(
                f"before {mib['before']}, during {mib['during']}, after {mib['after']};"
                f" sweep worker peak {mib['worker']}; hosts {m['hosts']}"
            )
        print("## ARP sweep of the /24: homediag (scapy worker) vs arp-scan")
        ours_s, theirs_s = [], []
        for _ in range(args.runs):
            ours = json.loads(home.exec("pc", [PY, "-c", _SWEEP], timeout_s=60).stdout)
            took, theirs = arp_scan(home)
            ours_s.append(ours["s"])
            theirs_s.append(took)
            missing = sorted(set(theirs) - set(ours["hosts"]))
            print(
                f"homediag {len(ours['hosts'])} hosts in {ours['s']:.2f} s;"
                f" arp-scan {len(theirs)} hosts in {took:.2f} s;"
                f" found by arp-scan only: {missing or 'none'}"
            )
        print(
            f"median: homediag {statistics.median(ours_s):.2f} s,"
            f" arp-scan {statistics.median(theirs_s):.2f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
