"""Benchmark: a fleet of simulated homes on one mosquitto, one report a minute each; CPU and memory.

    flock /tmp/bench.lock .venv/bin/python tests/bench/bench_fleet.py [--agents 10000] [--window 240]
        [--interval 60] [--workers 1] [--sim-procs 1] [--enroll-workers 8] [--tls]

One mosquitto on loopback: plain MQTT, or with ``--tls`` as `homediag-cloud broker-config` writes it
for production (mutual TLS with each home's enrolled certificate, CN as user name and client id, ACLs,
CRL; a client certificate of its own for each cloud process), `homediag-cloud serve` against it
(SQLite) plus ``--workers - 1`` `homediag-cloud ingest` processes in a share group, and
``--sim-procs`` `homediag-cloud simulate` processes sharing ``--agents`` homes. Each home enrolls
through the API (its own keys, CSR and pairing code), keeps its own MQTT connection and reports
every ``--interval`` seconds, the first report at a random point of the first interval.

Phases: enrollment and connection (timed, not part of the steady state), one interval of warm-up
once every home is connected, then the measured window: CPU (user + system, from psutil, in % of
one core) and RSS of the broker, the ingest process(es) and the simulator (the load generator,
reported apart), sampled every ``--sample`` seconds; telemetry offered (the simulators' counters)
against rows stored. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from protocol import BrokerAddress
from tests.bench.bench_ingest import _ingest_worker
from tests.support import CloudProcess, Mosquitto, SecureBroker

MIB = 1024 * 1024


def raise_fd_limit() -> int:
    """Every child inherits it: the broker holds one socket per home, a simulator one per its homes."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


class Simulator:
    """One `homediag-cloud simulate` process; a thread keeps its latest counters."""

    def __init__(self, cloud: CloudProcess, index: int, agents: int, args: argparse.Namespace) -> None:
        argv = [sys.executable, "-m", "cloud", "--state-dir", str(cloud.state_dir), "--db", cloud.db_url]
        argv += ["simulate", "--agents", str(agents), "--cloud", cloud.api_url, "--broker", cloud.broker_url]
        argv += ["--interval", str(args.interval), "--duration", str(args.interval + args.window + 10)]
        argv += ["--enroll-workers", str(args.enroll_workers), "--report-every", "2"]
        self.stats: dict[str, Any] = {}
        with (cloud.workdir / f"simulate{index}.log").open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, env=cloud.env, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.stats = json.loads(line)

    def get(self, name: str) -> float:
        return float(self.stats.get(name, 0))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(5)


@dataclass
class Role:
    """Processes measured together: their summed CPU time and RSS, sampled."""

    name: str
    procs: list[psutil.Process]
    cpu_pct: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    _last: tuple[float, float] | None = None

    def cpu_s(self) -> float:
        return sum(p.cpu_times().user + p.cpu_times().system for p in self.procs if p.is_running())

    def rss_now(self) -> int:
        return sum(p.memory_info().rss for p in self.procs if p.is_running())

    def sample(self, record: bool) -> None:
        now, cpu = time.monotonic(), self.cpu_s()
        if record and self._last is not None:
            self.cpu_pct.append(100 * (cpu - self._last[1]) / (now - self._last[0]))
            self.rss.append(self.rss_now())
        self._last = (now, cpu)


class BrokerSys:
    """Mosquitto's own figures from ``$SYS`` (clients connected, heap if the build tracks it)."""

    def __init__(self, address: BrokerAddress) -> None:
        self.values: dict[str, str] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-sys")
        self.client.on_connect = lambda c, *_a: c.subscribe("$SYS/broker/#")
        self.client.on_message = self._on_message
        self.client.connect(address.host, address.port)
        self.client.loop_start()

    def _on_message(self, _c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        self.values[m.topic.removeprefix("$SYS/broker/")] = m.payload.decode(errors="replace")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def stored_reports(cloud: CloudProcess) -> int:
    with sqlite3.connect(cloud.db_path, timeout=30) as db:
        (count,) = db.execute("SELECT count(*) FROM reports").fetchone()
    return int(count)


def total(sims: list[Simulator], name: str) -> float:
    return sum(s.get(name) for s in sims)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"fd_limit": raise_fd_limit()}
    broker: Mosquitto
    if args.tls:
        cloud = CloudProcess(workdir, broker_url="mqtts://placeholder:1")
        # One broker identity for `serve` and one for each `ingest` worker (see _ingest_worker).
        broker = SecureBroker(workdir, cloud, debug_log=False, cloud_clients=args.workers)
    else:
        broker = Mosquitto(workdir)
        cloud = CloudProcess(workdir, broker_url=broker.url)
    broker.start()
    assert broker.proc is not None
    if args.workers > 1:
        cloud.env["HOMEDIAG_INGEST_SHARE_GROUP"] = "bench"
    cloud.start()
    assert cloud.proc is not None
    workers = [_ingest_worker(cloud, broker, i) for i in range(args.workers - 1)]
    sims: list[Simulator] = []
    # $SYS needs a plain, anonymous connection; the TLS broker's ACL gives no one $SYS.
    broker_sys = None if args.tls else BrokerSys(BrokerAddress.parse(broker.url))
    try:
        time.sleep(3)
        roles = [
            Role("broker", [psutil.Process(broker.proc.pid)]),
            Role("ingest", [psutil.Process(p.pid) for p in [cloud.proc, *workers]]),
        ]
        out["rss_before"] = {r.name: r.rss_now() for r in roles}
        out["heap_before"] = broker_sys.values.get("heap/current") if broker_sys else None
        shares = [
            args.agents // args.sim_procs + (i < args.agents % args.sim_procs) for i in range(args.sim_procs)
        ]
        started = time.monotonic()
        sims = [Simulator(cloud, i, n, args) for i, n in enumerate(shares)]
        sim_role = Role("simulator", [psutil.Process(s.proc.pid) for s in sims])
        roles.append(sim_role)
        ingest_cpu_start = roles[1].cpu_s()

        def progress(what: str) -> None:
            print(
                f"[{time.monotonic() - started:6.0f} s] {what}: enrolled {total(sims, 'homes'):.0f},"
                f" connected {total(sims, 'connected'):.0f}, failed {total(sims, 'failed'):.0f},"
                f" sent {total(sims, 'sent'):.0f}, acked {total(sims, 'acked'):.0f}",
                file=sys.stderr,
                flush=True,
            )

        enrolled_at = None
        while True:
            time.sleep(2)
            for s in sims:
                if s.proc.poll() is not None:
                    raise SystemExit(f"a simulator exited with {s.proc.returncode}: see {workdir}")
            if enrolled_at is None and total(sims, "homes") >= args.agents:
                enrolled_at = time.monotonic()
                out["enroll_s"] = max(s.get("enroll_s") for s in sims)
                out["enroll_ingest_cpu_s"] = roles[1].cpu_s() - ingest_cpu_start
            progress("ramp")
            if all(s.get("connect_s") > 0 for s in sims):
                break
        out["connect_s"] = max(s.get("connect_s") for s in sims)
        out["connected"] = total(sims, "connected")
        out["failed"] = total(sims, "failed")

        time.sleep(args.interval)  # warm-up: every home has made its first report
        progress("warm")
        for role in roles:
            role.sample(record=False)
        before = {"sent": total(sims, "sent"), "resent": total(sims, "resent"), "acked": total(sims, "acked")}
        stored_before = stored_reports(cloud)
        window_start = time.monotonic()
        while time.monotonic() - window_start < args.window:
            time.sleep(args.sample)
            for role in roles:
                role.sample(record=True)
            progress("window")
        window = time.monotonic() - window_start
        out["window_s"] = window
        out["connected_end"] = total(sims, "connected")
        out["reconnects"] = total(sims, "reconnects")
        for name, value in before.items():
            out[f"{name}_per_s"] = (total(sims, name) - value) / window
        out["stored_per_s"] = (stored_reports(cloud) - stored_before) / window
        out["broker_sys"] = dict(broker_sys.values) if broker_sys else {}
        out["roles"] = {
            r.name: {
                "cpu_mean": statistics.fmean(r.cpu_pct),
                "cpu_peak": max(r.cpu_pct),
                "rss_mean": statistics.fmean(r.rss),
                "rss_peak": max(r.rss),
            }
            for r in roles
        }
        out["ingest_stats"] = cloud.get("/api/v1/ingest/stats")
        for s in sims:
            s.proc.wait(args.interval + 120)
        out["final"] = {
            k: total(sims, k) for k in ("homes", "sent", "acked", "resent", "failed", "reconnects")
        }
        out["stored_total"] = stored_reports(cloud)
        out["load"] = psutil.getloadavg()
    finally:
        if broker_sys is not None:
            broker_sys.stop()
        for s in sims:
            s.stop()
        for w in workers:
            w.terminate()
            w.wait(15)
        cloud.stop()
        broker.stop()
    return out


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    n = args.agents
    print(
        f"fleet: {n} homes, 1 report each per {args.interval:.0f} s, mosquitto"
        f" ({'mutual TLS, ACLs, CRL' if args.tls else 'plain MQTT'}, loopback),"
        f" SQLite, {args.workers} ingest process(es), {args.sim_procs} simulator process(es)"
    )
    print(
        f"enrollment:   {r['enroll_s']:.1f} s ({n / r['enroll_s']:.0f} homes/s,"
        f" {args.enroll_workers} at a time per simulator)"
    )
    print(f"connection:   {r['connect_s']:.1f} s to connect every home; {r['failed']:.0f} gave up")
    print(
        f"connected:    {r['connected']:.0f} at the start of the window, {r['connected_end']:.0f} at its end,"
        f" broker's $SYS: {r['broker_sys'].get('clients/connected', 'not read (TLS)')} clients"
    )
    print(
        f"window:       {r['window_s']:.0f} s; telemetry offered {r['sent_per_s']:.1f}/s (expected"
        f" {n / args.interval:.1f}), stored {r['stored_per_s']:.1f}/s, acked {r['acked_per_s']:.1f}/s,"
        f" re-sent {r['resent_per_s']:.2f}/s, reconnects {r['reconnects']:.0f}"
    )
    print(f"{'process':<24} {'CPU % mean':>10} {'CPU % peak':>10} {'RSS MiB mean':>12} {'RSS MiB peak':>12}")
    for name, label in (
        ("broker", "mosquitto"),
        ("ingest", "ingest (serve + workers)"),
        ("simulator", "simulator (load)"),
    ):
        f = r["roles"][name]
        print(
            f"{label:<24} {f['cpu_mean']:10.1f} {f['cpu_peak']:10.1f} {f['rss_mean'] / MIB:12.1f}"
            f" {f['rss_peak'] / MIB:12.1f}"
        )
    for name in ("broker", "ingest"):
        grown = r["roles"][name]["rss_mean"] - r["rss_before"][name]
        print(
            f"{name} RSS over its idle {r['rss_before'][name] / MIB:.1f} MiB: {grown / MIB:.1f} MiB,"
            f" {grown / max(r['connected'], 1) / 1024:.1f} KiB per connected home"
        )
    heap = r["broker_sys"].get("heap/current")
    if heap and r["heap_before"]:
        per = (int(heap) - int(r["heap_before"])) / max(r["connected"], 1)
        print(f"broker heap ($SYS heap/current): {int(heap) / MIB:.1f} MiB, {per / 1024:.1f} KiB per home")
    print(f"enrollment cost the ingest/API process {r['enroll_ingest_cpu_s']:.0f} CPU s")
    print(f"end: {json.dumps(r['final'])}, rows stored {r['stored_total']}; load average {r['load']}")
    print(f"serve's ingest counters: {json.dumps(r['ingest_stats'])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between a home's reports")
    parser.add_argument("--window", type=float, default=240.0, help="measured seconds, after a warm-up")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between CPU and RSS samples")
    parser.add_argument("--workers", type=int, default=1, help="ingest processes (serve + workers)")
    parser.add_argument("--sim-procs", type=int, default=1, help="simulator processes sharing the homes")
    parser.add_argument("--enroll-workers", type=int, default=8, help="enrollments in flight per simulator")
    parser.add_argument("--tls", action="store_true", help="the production broker: mutual TLS, ACLs, CRL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        result = run(args, Path(tmp))
    report(args, result)


if __name__ == "__main__":
    main()
