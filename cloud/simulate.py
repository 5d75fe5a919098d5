"""`homediag-cloud simulate`: a fleet of synthetic homes for demos, load tests and capacity figures.

Each home enrolls like a real agent (its own Ed25519 key, a TLS key and CSR, a pairing code from
the API) and then publishes signed telemetry through the real broker with a daily rhythm: line
usage that peaks in the evening and interface counters that grow with it. Like an agent, it keeps
every report until the cloud's signed ack names it and re-sends what is not acknowledged, so the
figures it prints are end to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import random
import ssl
import tempfile
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import protocol
from protocol import Ack, BrokerAddress, Channel, Ed25519PrivateKey, Hello, Sample, Status, TelemetryBatch
from protocol.probes import ProbeName

RESEND_AFTER_S = 10.0
AGENT_KEEPALIVE_S = 30  # the agent's default ([link] keepalive_s)
CONNECT_ATTEMPTS = 5


def _post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - URL from the operator
        reply: dict[str, Any] = json.loads(response.read())
        return reply


def _csr() -> tuple[ec.EllipticCurvePrivateKey, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "simulated")]))
        .sign(key, hashes.SHA256())
    )
    return key, csr.public_bytes(serialization.Encoding.PEM).decode()


def _tls_context(key: ec.EllipticCurvePrivateKey, certificate: str, ca: str) -> ssl.SSLContext:
    """The home's mutual-TLS identity, as an agent builds it (agent/link.py): the CA's broker only."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # ssl loads a certificate chain from files only; they live just long enough to be read.
    with tempfile.TemporaryDirectory(prefix="homediag-sim-") as directory:
        cert_file, key_file = Path(directory) / "cert.pem", Path(directory) / "key.pem"
        cert_file.write_text(certificate)
        key_file.write_bytes(pem)
        context.load_cert_chain(cert_file, key_file)
    return context


def diurnal(at: float, phase_h: float) -> float:
    """Relative traffic at a time of day: low at night, peaking in the evening (0.1 .. 1.0)."""
    hour = (at / 3600 + phase_h) % 24
    return 0.55 + 0.45 * math.sin((hour - 14) / 24 * 2 * math.pi)


@dataclass
class SimulatedHome:
    agent_id: str
    key: Ed25519PrivateKey
    cloud_keys: list[protocol.Ed25519PublicKey]
    phase_h: float
    #: Mutual-TLS identity for an ``mqtts://`` broker (None: plain MQTT).
    tls: ssl.SSLContext | None = None
    epoch: int = field(default_factory=lambda: time.time_ns() // 1_000_000)
    seq: int = 0
    pending: dict[int, tuple[float, str, bytes]] = field(default_factory=dict)
    acked: int = 0
    counters: list[int] = field(default_factory=lambda: [0, 0])
    sessions: int = 0

    def seal(self, body: protocol.Body) -> bytes:
        self.seq += 1
        return protocol.seal(self.key, agent=self.agent_id, body=body, epoch=self.epoch, seq=self.seq)

    def telemetry(self, now: float, interval_s: float) -> TelemetryBatch:
        rate = diurnal(now, self.phase_h) * random.uniform(0.6, 1.4) * 250_000  # noqa: S311 - simulation
        rx, tx = int(rate * interval_s), int(rate * interval_s / 8)
        self.counters[0] += rx
        self.counters[1] += tx
        usage = {
            "Interface": "wan",
            "Start": now - interval_s,
            "End": now,
            "BytesReceived": rx,
            "BytesSent": tx,
            "Events": [],
        }
        netdev = {"Interface": {"wan": {"BytesReceived": self.counters[0], "BytesSent": self.counters[1]}}}
        return TelemetryBatch(
            samples=[
                Sample(probe=ProbeName.USAGE, at=now, status="Complete", data=usage),
                Sample(probe=ProbeName.NETDEV, at=now, status="Complete", data=netdev),
            ]
        )


def enroll_home(cloud_url: str, token: str, index: int, tls: bool = False) -> SimulatedHome:
    key = protocol.generate_private_key()
    tls_key, csr = _csr()
    code = _post(f"{cloud_url}/api/v1/pairing-codes", {"note": f"simulated home {index}"}, token)["code"]
    reply = _post(
        f"{cloud_url}/api/v1/enrollments",
        {
            "code": code,
            "public_key": protocol.public_key_text(key),
            "hostname": f"sim-{index:06d}",
            "platform": "simulated",
            "agent_version": "simulator",
            "csr": csr,
        },
    )
    return SimulatedHome(
        agent_id=reply["agent_id"],
        key=key,
        cloud_keys=[protocol.load_public_key(k) for k in reply["cloud_public_keys"]],
        phase_h=random.uniform(-1.5, 1.5),  # noqa: S311 - simulation
        tls=_tls_context(tls_key, reply["certificate"], reply["ca_certificate"]) if tls else None,
    )


@dataclass
class FleetStats:
    """Counters of a fleet; ``connected`` is the number of homes connected right now."""

    homes: int = 0
    connected: int = 0
    failed: int = 0
    reconnects: int = 0
    sent: int = 0
    acked: int = 0
    resent: int = 0
    enroll_s: float = 0.0
    connect_s: float = 0.0


@dataclass
class _Fleet:
    """What the homes share: the connection slots and the end of reporting.

    Reporting ends ``duration_s`` after every home has connected (or given up), so a large fleet's
    ramp-up does not eat into the reporting time.
    """

    homes: int
    duration_s: float
    broker: BrokerAddress
    interval_s: float
    connect_slots: asyncio.Semaphore
    stats: FleetStats
    started: float = field(default_factory=time.time)
    settled: int = 0
    until: float = math.inf

    def settle(self) -> None:
        self.settled += 1
        if self.settled == self.homes:
            self.stats.connect_s = time.time() - self.started
            self.until = time.time() + self.duration_s


async def _session(home: SimulatedHome, fleet: _Fleet, session: float) -> None:
    status_topic = protocol.topic_for(home.agent_id, Channel.STATUS)
    stats, interval_s = fleet.stats, fleet.interval_s
    will = aiomqtt.Will(
        status_topic,
        protocol.seal(home.key, agent=home.agent_id, body=Status(state="offline", session=session)),
        1,
        True,
    )
    async with contextlib.AsyncExitStack() as stack:
        # A bounded number of homes connect at once: mosquitto listens with a backlog of 100, and
        # thousands of connects at the same instant would wait out SYN retries instead.
        async with fleet.connect_slots:
            client = await stack.enter_async_context(
                aiomqtt.Client(
                    fleet.broker.host,
                    fleet.broker.port,
                    identifier=home.agent_id,
                    will=will,
                    keepalive=AGENT_KEEPALIVE_S,
                    timeout=60,
                    tls_context=home.tls,
                )
            )
            await client.subscribe(protocol.topic_for(home.agent_id, Channel.ACK), qos=1)
            await client.publish(
                status_topic,
                protocol.seal(home.key, agent=home.agent_id, body=Status(state="online", session=session)),
                qos=1,
                retain=True,
            )
        stats.connected += 1
        home.sessions += 1
        first = home.sessions == 1
        if first:
            fleet.settle()

        async def send(channel: Channel, body: protocol.Body) -> None:
            payload = home.seal(body)
            home.pending[home.seq] = (time.monotonic(), channel.value, payload)
            await client.publish(protocol.topic_for(home.agent_id, channel), payload, qos=1)
            stats.sent += 1

        async def acks() -> None:
            async for message in client.messages:
                envelope = None
                for key in home.cloud_keys:
                    try:
                        envelope = protocol.unseal(bytes(message.payload), key)
                        break
                    except protocol.ProtocolError:
                        continue
                if envelope is None or envelope.kind is not protocol.Kind.ACK:
                    continue  # a simulated home ignores a "revoked" answer
                ack = protocol.decode_body(envelope, Ack)
                if ack.epoch == home.epoch:
                    for seq in [*ack.seqs, *ack.rejected]:
                        if home.pending.pop(seq, None) is not None:
                            stats.acked += 1

        reader = asyncio.create_task(acks())
        try:
            if first:
                await send(
                    Channel.HELLO,
                    Hello(agent_version="simulator", platform="simulated", hostname=home.agent_id[:12]),
                )
                await asyncio.sleep(random.uniform(0, interval_s))  # noqa: S311 - spread the fleet
            while time.time() < fleet.until or home.pending:
                if time.time() < fleet.until:
                    await send(Channel.TELEMETRY, home.telemetry(time.time(), interval_s))
                now = time.monotonic()
                for seq, (sent_at, channel, payload) in list(home.pending.items()):
                    if now - sent_at > RESEND_AFTER_S:
                        home.pending[seq] = (now, channel, payload)
                        await client.publish(
                            protocol.topic_for(home.agent_id, Channel(channel)), payload, qos=1
                        )
                        stats.resent += 1
                if time.time() > fleet.until + 60:
                    break
                await asyncio.sleep(interval_s if time.time() < fleet.until else 0.2)
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(
                    status_topic,
                    protocol.seal(
                        home.key, agent=home.agent_id, body=Status(state="offline", session=session)
                    ),
                    qos=1,
                    retain=True,
                )
        finally:
            stats.connected -= 1
            reader.cancel()


async def _run_home(home: SimulatedHome, fleet: _Fleet) -> None:
    """One home's life: connect, report until the end, and reconnect like an agent when cut off."""
    session = time.time()
    for attempt in itertools.count(1):
        try:
            await _session(home, fleet, session)
            return
        except aiomqtt.MqttError:
            if home.sessions == 0 and attempt >= CONNECT_ATTEMPTS:
                fleet.stats.failed += 1
                fleet.settle()
                return
            if home.sessions:
                fleet.stats.reconnects += 1
            if time.time() > fleet.until:
                return
            await asyncio.sleep(random.uniform(1, 5))  # noqa: S311 - spread the reconnects


async def simulate(
    cloud_url: str,
    token: str,
    broker_url: str,
    *,
    agents: int,
    interval_s: float,
    duration_s: float,
    enroll_workers: int = 8,
    connect_concurrency: int = 100,
    report: Callable[[FleetStats], None] | None = None,
    report_every_s: float = 5.0,
) -> FleetStats:
    """Enroll ``agents`` homes (``enroll_workers`` at a time), connect them and let them report."""
    stats = FleetStats()
    reporter = asyncio.create_task(_report(stats, report, report_every_s)) if report else None
    loop = asyncio.get_running_loop()
    started = time.time()
    broker = BrokerAddress.parse(broker_url)
    with ThreadPoolExecutor(max(1, enroll_workers), thread_name_prefix="enroll") as pool:

        async def enroll(index: int) -> SimulatedHome:
            home = await loop.run_in_executor(pool, enroll_home, cloud_url, token, index, broker.tls)
            stats.homes += 1
            return home

        homes = await asyncio.gather(*(enroll(i) for i in range(agents)))
    stats.enroll_s = time.time() - started
    fleet = _Fleet(
        homes=len(homes),
        duration_s=duration_s,
        broker=broker,
        interval_s=interval_s,
        connect_slots=asyncio.Semaphore(connect_concurrency),
        stats=stats,
    )
    try:
        await asyncio.gather(*(_run_home(h, fleet) for h in homes))
    finally:
        if reporter is not None:
            reporter.cancel()
    return stats


async def _report(stats: FleetStats, report: Callable[[FleetStats], None], every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        report(stats)
