"""Benchmark: one agent's resident memory and CPU, at rest and while probing, against a previous release.

    .venv/bin/python tests/bench/bench_agent.py [--ref 78be65a] [--window 45]

Both versions run as real processes against the same cloud on loopback (embedded broker): this
tree, and ``--ref`` checked out into a temporary git worktree and run with the same interpreter and
packages. "At rest" is the default configuration (netdev and usage every 60 s); "probing" runs
both probes every second. Figures: resident memory after a warm-up, and CPU seconds (user +
system, from /proc) per minute over the window. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.support import AgentProcess, CloudProcess  # noqa: E402

MODES = {
    "at rest": {"netdev": {"interval_s": 60.0}, "usage": {"interval_s": 60.0, "interface": "lo"}},
    "probing": {"netdev": {"interval_s": 1.0}, "usage": {"interval_s": 1.0, "interface": "lo"}},
}


def measure(
    cloud: CloudProcess, tree: Path, workdir: Path, probes: dict[str, Any], warmup_s: float, window_s: float
) -> dict[str, Any]:
    workdir.mkdir(parents=True)
    agent = AgentProcess(workdir, probes=probes, link={"keepalive_s": 30})
    agent.env["PYTHONPATH"] = str(tree)  # this version's packages first (run from outside both trees)
    try:
        agent.enroll(cloud)
        agent.start()
        assert agent.proc is not None
        proc = psutil.Process(agent.proc.pid)
        time.sleep(warmup_s)
        before = proc.cpu_times()
        started = time.monotonic()
        peak = 0
        while time.monotonic() - started < window_s:
            peak = max(peak, proc.memory_info().rss)
            time.sleep(1)
        after = proc.cpu_times()
        elapsed = time.monotonic() - started
        rss = proc.memory_info().rss
    finally:
        agent.stop()
    cpu = (after.user - before.user) + (after.system - before.system)
    return {
        "rss_mib": round(rss / 2**20, 1),
        "peak_mib": round(peak / 2**20, 1),
        "cpu_s_per_min": round(60 * cpu / elapsed, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="78be65a", help="the previous release (a git revision)")
    parser.add_argument("--warmup", type=float, default=15.0)
    parser.add_argument("--window", type=float, default=45.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="homediag-bench-agent-") as tmp:
        work = Path(tmp)
        previous = work / "previous"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(previous), args.ref],
            check=True,
            capture_output=True,
        )
        (work / "cloud").mkdir()
        cloud = CloudProcess(work / "cloud")
        cloud.start()
        rows = []
        try:
            for mode, probes in MODES.items():
                for label, tree in (("previous " + args.ref, previous), ("this tree", ROOT)):
                    figures = measure(
                        cloud,
                        tree,
                        work / f"{label}-{mode}".replace(" ", "_"),
                        probes,
                        args.warmup,
                        args.window,
                    )
                    rows.append({"mode": mode, "version": label, **figures})
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            cloud.stop()
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(previous)], check=False
            )
    print()
    print("| mode | version | RSS MiB | peak MiB | CPU s per minute |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['mode']} | {r['version']} | {r['rss_mib']} | {r['peak_mib']} | {r['cpu_s_per_min']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
