"""Benchmark: how long the virtual home takes to build and to remove, phase by phase.

    sudo .venv/bin/python tests/bench/bench_lab.py [--runs 5]

Each run builds the default home (namespaces, bridge, veths, NAT, then dnsmasq, two avahi stacks, the
IPP printer and the TV), checks it is usable (a DNS lookup from the PC through the NAT), and tears
it down. Prints per-run figures and the median. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lab import CLOUD_NAME, Lab, missing_prerequisites


def one_run() -> dict[str, float]:
    lab = Lab()
    started = time.monotonic()
    try:
        lab.up()
        first_lookup = time.monotonic()
        lab.exec("pc", ["getent", "hosts", CLOUD_NAME])
        lookup_s = time.monotonic() - first_lookup
    finally:
        lab.down()
    timings = dict(lab.timings)
    return {
        "network_s": timings["network_s"],
        "services_s": timings["services_s"],
        "up_s": timings["up_s"],
        "tv_ready_s": timings["ready_s:tv/tv"],
        "printer_ready_s": timings["ready_s:printer/printer"],
        "exec_lookup_s": lookup_s,
        "down_s": timings["down_s"],
        "total_s": time.monotonic() - started,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    reasons = missing_prerequisites()
    if reasons:
        print("cannot build the lab here: " + "; ".join(reasons), file=sys.stderr)
        return 2
    columns = [
        "network_s",
        "services_s",
        "up_s",
        "tv_ready_s",
        "printer_ready_s",
        "exec_lookup_s",
        "down_s",
        "total_s",
    ]
    print("run " + " ".join(f"{c:>15}" for c in columns))
    rows = []
    for run in range(1, args.runs + 1):
        row = one_run()
        rows.append(row)
        print(f"{run:>3} " + " ".join(f"{row[c]:>15.3f}" for c in columns), flush=True)
    print("med " + " ".join(f"{statistics.median(r[c] for r in rows):>15.3f}" for c in columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
