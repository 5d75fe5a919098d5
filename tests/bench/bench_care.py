"""Benchmark: the daily evaluation of the care detector for many homes on one core.

    .venv/bin/python tests/bench/bench_care.py [--homes 100000] [--chunk 10000]

Homes are synthesised straight into the detector's arrays (4 devices, 2 upload classes each, 28
days of hourly history plus the day under test), chunk by chunk; the clock (CPU time of this one
process) covers what the care loop does every day with them: baselines (medians/MADs per hour,
weekday and weekend pooled), the findings and the ranking. As in the care loop, baselines are
computed for the devices that could be a finding that day (cloud/care/baseline.py `candidates`);
the hourly detectors (scanning, DDoS, always-on, beaconing) run on hourly flows and hosts per
device (issue 20).
Reading the rows from the database is not included (it is I/O and depends on the store). Memory
per home is the detector's input arrays plus the peak the evaluation adds, divided by the homes
in a chunk. Prints the figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cloud.care.baseline import History, build_baseline, candidates
from cloud.care.detector import detect, rank

DEVICES = 4
CLASSES = 2
DAYS = 29
DAY = date(2026, 11, 20)


def synth(homes: int, offset: int, rng: np.random.Generator) -> History:
    n_dev = homes * DEVICES
    n_series = n_dev * CLASSES
    shape = np.concatenate([np.full(7, 0.2), np.full(10, 0.6), np.full(6, 1.6), [0.8]])
    shape /= shape.sum()
    # Daily upload per device and class: a median of 50 MB (phones, TVs and PCs send little), with
    # a long tail (cameras, backups): about 3% of devices send more than 1 GB on a given day.
    level = rng.lognormal(np.log(50e6), 1.3, n_series)[:, None, None]
    upload = level * shape[None, None, :] * rng.lognormal(0, 0.3, (n_series, DAYS, 24))
    flows = rng.poisson(200, (n_dev, DAYS)).astype(np.float64)
    smtp = np.zeros((n_dev, DAYS))
    # 1% spambots and 1% silent devices, so the findings code runs as it would.
    bots = rng.choice(n_dev, n_dev // 100, replace=False)
    smtp[bots, -1] = 3000
    dark = rng.choice(n_dev, n_dev // 100, replace=False)
    flows[dark, -3:] = 0
    # Hourly flows and remote hosts (the scanning, DDoS, always-on and beaconing detectors): a
    # waking-hours rhythm with noise, and 0.25% scanners, 0.25% DDoS bursts, 0.25% always-on devices.
    awake = rng.random((n_dev, DAYS, 24), dtype=np.float32) < np.where(shape > 0.05, 0.7, 0.05)
    hour_flows = (awake * rng.integers(1, 40, (n_dev, 1, 24))).astype(np.float32)
    hour_hosts = np.ceil(hour_flows / 3)
    odd = rng.choice(n_dev, 3 * (n_dev // 400), replace=False).reshape(3, -1)
    hour_hosts[odd[0], -1, :] = 2000
    hour_flows[odd[0], -1, :] = 2500
    hour_flows[odd[1], -1, 2:4] = 20000
    hour_flows[odd[2], -1, :] = np.maximum(hour_flows[odd[2], -1, :], 10)
    hour_hosts[odd[2], -1, :] = np.maximum(hour_hosts[odd[2], -1, :], 2)
    weekend = np.array([(DAY.toordinal() - (DAYS - 1 - i)) % 7 in (0, 6) for i in range(DAYS)])
    return History(
        day=DAY,
        days=DAYS,
        weekend=weekend,
        homes=[f"h{offset + i}" for i in range(homes)],
        devices=[f"d{i}" for i in range(n_dev)],
        device_home=np.repeat(np.arange(homes), DEVICES),
        device_names=[None] * n_dev,
        device_kinds=[None] * n_dev,
        upload_device=np.repeat(np.arange(n_dev), CLASSES),
        upload_class=["web", "video"] * n_dev,
        upload=upload,
        smtp=smtp,
        flows=flows,
        hour_flows=hour_flows,
        hour_hosts=hour_hosts,
    )


def input_bytes(history: History) -> int:
    return sum(
        a.nbytes
        for a in (
            history.upload,
            history.smtp,
            history.flows,
            history.device_home,
            history.upload_device,
            history.hour_flows,
            history.hour_hosts,
        )
        if a is not None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument(
        "--all-devices", action="store_true", help="compute every device's baseline (no candidate filter)"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    elapsed = 0.0
    listed = 0
    busy_share = 0.0
    peak_extra = 0
    per_home_input = 0.0
    done = 0
    while done < args.homes:
        n = min(args.chunk, args.homes - done)
        history = synth(n, done, rng)
        per_home_input = input_bytes(history) / n
        tracemalloc.start()
        started = time.process_time()
        busy = np.ones(len(history.devices), dtype=bool) if args.all_devices else candidates(history)
        findings = detect(history, build_baseline(history, busy))
        entries = rank(findings, DAY)
        elapsed += time.process_time() - started
        peak_extra = max(peak_extra, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        listed += len(entries)
        busy_share = float(busy.mean())
        done += n
    print(f"homes: {args.homes:,} in chunks of {args.chunk:,}")
    print(f"evaluation CPU time: {elapsed:.2f} s ({elapsed / args.homes * 1e6:.1f} us a home)")
    print(f"homes listed: {listed:,}")
    print(f"devices whose baseline was computed: {busy_share:.1%}")
    print(f"input arrays: {per_home_input / 1024:.1f} KiB a home")
    print(f"evaluation peak on top of the input: {peak_extra / args.chunk / 1024:.1f} KiB a home")
    print(f"max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
