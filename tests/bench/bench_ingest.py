"""Benchmark: signed telemetry per second end to end, against a bare paho subscriber.

    .venv/bin/python tests/bench/bench_ingest.py [--messages 20000] [--agents 50] [--postgres] [--workers 2]
    .venv/bin/python tests/bench/bench_ingest.py --ref b7a6f96 [--rounds 3]

Both phases use the same mosquitto, the same publisher and the same pre-sealed
messages, and measure from the first publish to the last message seen:

* raw: publisher -> mosquitto -> a bare paho subscriber (the broker's ceiling here);
* end to end: publisher -> mosquitto -> `homediag-cloud serve` ingest (verify,
  de-duplicate, SQLite) -> signed ack -> the publisher's ack subscription.

Prints both rates and their ratio. With ``--ref`` the end-to-end phase also runs the cloud of a
previous release (checked out into a temporary git worktree, same interpreter and packages),
alternating with this tree for ``--rounds`` rounds, and prints each against the raw rate.
Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import protocol
from cloud.keys import load_or_create_cloud_key
from cloud.storage import Agent, make_engine, make_sessionmaker, migrate
from protocol import BrokerAddress, Channel, Sample, TelemetryBatch
from tests.support import CloudProcess, Mosquitto, PostgresServer, SecureBroker

ROOT = Path(__file__).resolve().parents[2]


def _messages(n: int, agents: list[tuple[str, protocol.Ed25519PrivateKey]]) -> list[tuple[str, bytes]]:
    out = []
    for i in range(n):
        agent_id, key = agents[i % len(agents)]
        counters = {
            "BytesSent": 10_000_000 + i,
            "BytesReceived": 90_000_000 + i,
            "PacketsSent": 12_000 + i,
            "PacketsReceived": 70_000 + i,
        }
        body = TelemetryBatch(
            samples=[
                Sample(
                    probe="netdev", at=time.time(), status="Complete", data={"Interface": {"eth0": counters}}
                )
            ]
        )
        seq = i // len(agents) + 1
        out.append(
            (
                protocol.topic_for(agent_id, Channel.TELEMETRY),
                protocol.seal(key, agent=agent_id, body=body, epoch=1, seq=seq),
            )
        )
    return out


def _client(name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    return client


def _publish(address: BrokerAddress, messages: list[tuple[str, bytes]]) -> float:
    client = _client("bench-pub")
    client.connect(address.host, address.port)
    client.loop_start()
    start = time.time()
    infos = []
    for topic, payload in messages:
        infos.append(client.publish(topic, payload, qos=1))
        # paho 2 stalls past 65,535 unacknowledged QoS 1 messages: bound what is in flight.
        if len(infos) % 5000 == 0:
            infos[-5000].wait_for_publish(60)
    for info in infos[-5000:]:
        info.wait_for_publish(60)
    client.disconnect()
    client.loop_stop()
    return start


def _raw_subscriber(address: BrokerAddress, n: int, ready: object, result: object) -> None:
    count = 0
    last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, _m: mqtt.MQTTMessage) -> None:
        nonlocal count, last
        count += 1
        last = time.time()
        if count >= n:
            done.set()

    def on_connect(c: mqtt.Client, *_a: object) -> None:
        c.subscribe(protocol.subscription_for(Channel.TELEMETRY), qos=1)

    def on_subscribe(*_a: object) -> None:
        ready.set()  # type: ignore[attr-defined]

    client = _client("bench-raw-sub")
    client.on_message, client.on_connect, client.on_subscribe = on_message, on_connect, on_subscribe
    client.connect(address.host, address.port)
    client.loop_start()
    done.wait(600)
    client.disconnect()
    client.loop_stop()
    result.value = last  # type: ignore[attr-defined]


def bench_raw(address: BrokerAddress, messages: list[tuple[str, bytes]]) -> float:
    ctx = multiprocessing.get_context("spawn")
    ready, last = ctx.Event(), ctx.Value("d", 0.0)
    proc = ctx.Process(target=_raw_subscriber, args=(address, len(messages), ready, last))
    proc.start()
    ready.wait(30)
    start = _publish(address, messages)
    proc.join(600)
    return float(len(messages) / (last.value - start))


def bench_end_to_end(
    workdir: Path,
    broker: Mosquitto,
    messages: list[tuple[str, bytes]],
    agents: list[tuple[str, protocol.Ed25519PrivateKey]],
    db_url: str | None = None,
    workers: int = 1,
    tree: Path | None = None,
) -> float:
    workdir.mkdir(parents=True, exist_ok=True)
    cloud = CloudProcess(workdir, broker_url=broker.url, db_url=db_url)
    if tree is not None:  # a previous release's packages first (the bench runs from outside both trees)
        cloud.env["PYTHONPATH"] = str(tree)
    if workers > 1:
        cloud.env["HOMEDIAG_INGEST_SHARE_GROUP"] = "bench"
    engine = make_engine(cloud.db_url)
    migrate(engine)
    with make_sessionmaker(engine).begin() as session:
        session.add_all(Agent(id=a, public_key=protocol.public_key_text(k)) for a, k in agents)
    engine.dispose()
    cloud_key = load_or_create_cloud_key(cloud.state_dir).public_key()
    cloud.start()
    extra = [_ingest_worker(cloud, broker, i) for i in range(workers - 1)]
    time.sleep(2.0 if extra else 0.0)  # the extra workers subscribe
    acked = 0
    last = 0.0
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: object, m: mqtt.MQTTMessage) -> None:
        nonlocal acked, last
        ack = protocol.decode_body(protocol.unseal(bytes(m.payload), cloud_key), protocol.Ack)
        acked += len(ack.seqs)
        last = time.time()
        if acked >= len(messages):
            done.set()

    subscribed = threading.Event()
    client = _client("bench-acks")
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    address = BrokerAddress.parse(broker.url)
    client.connect(address.host, address.port)
    client.loop_start()
    client.subscribe(protocol.subscription_for(Channel.ACK), qos=1)
    subscribed.wait(10)
    try:
        start = _publish(address, messages)
        if not done.wait(600):
            raise SystemExit(f"only {acked} of {len(messages)} acknowledged")
    finally:
        client.disconnect()
        client.loop_stop()
        for proc in extra:
            proc.terminate()
            proc.wait(15)
        cloud.stop()
    return len(messages) / (last - start)


def _ingest_worker(cloud: CloudProcess, broker: Mosquitto, i: int) -> subprocess.Popen[bytes]:
    """`homediag-cloud ingest` number ``i`` (from 0) in the same share group as `serve`.

    The broker splits the load. On the `broker-config` broker the client id is the certificate's CN,
    so the worker takes identity ``i + 2`` (`serve` has the first): one shared with `serve` would
    have them disconnect each other. Plain MQTT needs nothing: each process picks a random client id.
    """
    argv = [sys.executable, "-m", "cloud", "--state-dir", str(cloud.state_dir), "--db", cloud.db_url]
    argv += ["ingest", "--broker", broker.url, "--share-group", "bench"]
    env = {**cloud.env, **(broker.client_env(i + 2) if isinstance(broker, SecureBroker) else {})}
    with (cloud.workdir / f"worker{i}.log").open("ab") as log:
        return subprocess.Popen(argv, stdout=log, stderr=log, env=env)


def _worktree(ref: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref],
        check=True,
        capture_output=True,
    )
    return where


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument(
        "--postgres", action="store_true", help="store in a throw-away PostgreSQL, not SQLite"
    )
    parser.add_argument("--workers", type=int, default=1, help="ingest processes sharing the load")
    parser.add_argument("--ref", help="also run the end-to-end phase with this git revision's cloud")
    parser.add_argument("--rounds", type=int, default=3, help="with --ref: alternating rounds")
    args = parser.parse_args()
    agents = [(f"bench-{i:05d}", protocol.generate_private_key()) for i in range(args.agents)]
    messages = _messages(args.messages, agents)
    size = sum(len(p) for _, p in messages) / len(messages)
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # `python -m cloud` must not find this tree's packages through the cwd
        previous = _worktree(args.ref, Path(tmp) / "previous") if args.ref else None
        trees: list[tuple[str, Path | None]] = [("this tree", None)]
        if previous is not None:
            trees = [(f"previous {args.ref}", previous), ("this tree", ROOT)]
        broker = Mosquitto(Path(tmp))
        broker.start()
        pg = PostgresServer() if args.postgres else None
        if pg is not None:
            pg.start()
        try:
            raw = bench_raw(BrokerAddress.parse(broker.url), messages)
            for round_ in range(args.rounds if previous is not None else 1):
                for label, tree in trees:
                    work = Path(tmp) / f"run{round_}-{label.split()[0]}"
                    db = pg.new_database() if pg else None
                    rate = bench_end_to_end(work, broker, messages, agents, db, args.workers, tree)
                    rows.append((label, rate))
                    print(
                        f"round {round_ + 1}, {label}: {rate:.0f} msg/s ({rate / raw:.2f} of raw)", flush=True
                    )
        finally:
            if pg is not None:
                pg.stop()
            broker.stop()
            if previous is not None:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(previous)], check=False
                )
    store = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"messages: {len(messages)} from {len(agents)} agents, {size:.0f} bytes, QoS 1, mosquitto, {store},"
        f" {args.workers} ingest process(es)"
    )
    print(f"raw paho subscriber:        {raw:8.0f} msg/s")
    for label, _ in trees:
        rates = [rate for name, rate in rows if name == label]
        best = max(rates)
        print(f"end to end, {label:<20} best {best:8.0f} msg/s, ratio {best / raw:5.2f}")


if __name__ == "__main__":
    main()
