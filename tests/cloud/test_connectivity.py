"""Connectivity history and the experience score, on SQLite and PostgreSQL; the API and speed test."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import protocol
from cloud.connectivity import downsample, history, latest
from cloud.experience import WEIGHTS_AND_BOUNDS, experience, ramp
from cloud.ingest import Incoming, store_batch
from cloud.storage.connectivity import ConnectivitySample
from protocol import Sample, TelemetryBatch
from protocol.tr181 import vendor
from tests.cloud.db import enroll
from tests.support import API_TOKEN, CloudProcess

KEY = protocol.generate_private_key()
NOW = datetime.now(UTC).replace(microsecond=0)


def _agent(sessions: sessionmaker[Session]) -> str:
    return enroll(sessions, KEY)


def _report(agent_id: str, seq: int, *samples: Sample) -> Incoming:
    body = TelemetryBatch(samples=list(samples))
    envelope = protocol.unseal(
        protocol.seal(KEY, agent=agent_id, body=body, epoch=1, seq=seq), KEY.public_key()
    )
    return Incoming(envelope, body)


def _connectivity(at: datetime, loss: float, p95: float, jitter: float, dns_ms: float | None) -> Sample:
    data: dict[str, Any] = {
        "Gateway": "10.213.0.1",
        "LossPercent": loss,
        "LatencyP50": p95 / 2,
        "LatencyP95": p95,
        "Jitter": jitter,
        "Finding": {"Where": "none" if loss < 2 else "beyond_gateway", "Message": "m"},
    }
    if dns_ms is not None:
        data["DNS"] = {"Status": "Success", "ResponseTime": dns_ms}
    else:
        data["DNS"] = {"Status": "Error_Timeout", "ResponseTime": 2000}
    return Sample(probe="connectivity", at=at.timestamp(), status="Complete", data=data)


def _download(at: datetime, mbps: float, *, busy: bool = False) -> Sample:
    data = {
        vendor("URL"): "http://speed.example/download",
        vendor("ThroughputMbps"): mbps,
        vendor("Busy"): busy,
    }
    return Sample(probe="download", at=at.timestamp(), status="Complete", data=data)


def test_ping_and_dns_in_todays_shapes_fold(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    t0 = NOW - timedelta(minutes=10)
    ping = {
        "Host": "192.0.2.1",
        "SuccessCount": 4,
        "AverageResponseTime": 12,
        "MaximumResponseTime": 20,
        vendor("LossPercent"): 0.0,
        vendor("Jitter"): 1.5,
    }
    # The dns probe ran (Complete); how it went is each Result.{i}.Status.
    dns = {"Lookups": [{"Status": "Complete", "Result": [{"Status": "Error_Timeout", "ResponseTime": 0}]}]}
    store_batch(
        sessions,
        [
            _report(agent_id, 1, Sample(probe="ping", at=t0.timestamp(), status="Complete", data=ping)),
            _report(agent_id, 2, Sample(probe="dns", at=t0.timestamp() + 1, status="Complete", data=dns)),
        ],
    )
    with sessions() as session:
        rows = history(session, agent_id, NOW - timedelta(hours=1), NOW)
    assert [(r.probe, r.latency_p50_ms, r.latency_p95_ms, r.loss_pct, r.jitter_ms) for r in rows[:1]] == [
        ("ping", 12.0, 20.0, 0.0, 1.5)
    ]
    assert rows[1].probe == "dns" and rows[1].dns_ok is False and rows[1].dns_ms is None


def test_samples_fold_exactly_once_into_the_history(sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    t0 = NOW - timedelta(minutes=30)
    items = [
        _report(agent_id, 1, _connectivity(t0, 0.0, 30.0, 2.0, 12.0)),
        _report(agent_id, 2, _download(t0 + timedelta(minutes=1), 95.0)),
        _report(agent_id, 3, _download(t0 + timedelta(minutes=2), 3.0, busy=True)),  # not the line's fault
        _report(agent_id, 4, Sample(probe="ping", at=t0.timestamp(), status="Error_Other", data={})),
        _report(agent_id, 5, Sample(probe="usage", at=t0.timestamp(), status="Complete", data={})),
    ]
    store_batch(sessions, items)
    store_batch(sessions, items)  # a replay adds nothing
    with sessions() as session:
        rows = history(session, agent_id, NOW - timedelta(hours=1), NOW + timedelta(minutes=1))
        newest = latest(session, agent_id)
    assert [(r.probe, r.loss_pct, r.down_mbps) for r in rows] == [
        ("connectivity", 0.0, None),
        ("download", None, 95.0),
    ]
    assert rows[0].at == t0 and rows[0].dns_ok is True and rows[0].dns_ms == 12.0
    assert rows[0].finding == "none" and rows[0].latency_p95_ms == 30.0
    assert set(newest) == {"connectivity", "download"}


def test_score_is_100_for_a_clean_line_and_falls_with_each_measure(sessions: sessionmaker[Session]) -> None:
    good, bad = _agent(sessions), _agent(sessions)
    t0 = NOW - timedelta(hours=2)
    store_batch(
        sessions,
        [
            _report(good, 1, _connectivity(t0, 0.0, 15.0, 1.0, 20.0), _download(t0, 100.0)),
            _report(bad, 1, _connectivity(t0, 2.5, 110.0, 27.5, None), _download(t0, 12.5)),
        ],
    )
    with sessions() as session:
        clean = experience(session, good, NOW - timedelta(hours=24), NOW)
        poor = experience(session, bad, NOW - timedelta(hours=24), NOW)
        empty = experience(session, good, NOW - timedelta(days=30), NOW - timedelta(days=29))
    assert clean.score == 100.0 and clean.samples == 2
    # Every measure exactly half-way between its bounds -> 50, DNS failed outright -> 0.
    assert poor.components["loss_pct"]["score"] == 50.0
    assert poor.components["latency_p95_ms"]["score"] == 50.0
    assert poor.components["jitter_ms"]["score"] == 50.0
    assert poor.components["down_mbps"]["score"] == 50.0
    assert poor.components["dns_ms"]["score"] == 0.0
    weights = {k: w for k, (w, _, _) in WEIGHTS_AND_BOUNDS.items()}
    expected = 50 * (1 - weights["dns_ms"])
    assert poor.score == pytest.approx(expected, abs=0.1)
    assert empty.score is None and empty.components == {}


def test_ramp_bounds() -> None:
    assert ramp(0, 0, 5) == 100 and ramp(5, 0, 5) == 0 and ramp(10, 0, 5) == 0 and ramp(-1, 0, 5) == 100
    assert ramp(50, 25, 0) == 100 and ramp(12.5, 25, 0) == 50  # higher is better for throughput


@pytest.fixture
def cloud(sessions: sessionmaker[Session], database_url: str, tmp_path: Path) -> Iterator[CloudProcess]:
    """The real cloud (uvicorn, the whole app) on the same database the test writes to."""
    service = CloudProcess(tmp_path, db_url=database_url)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def _status(url: str, headers: dict[str, str] | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        with exc:
            return int(exc.code)


def test_api_latest_range_and_score(cloud: CloudProcess, sessions: sessionmaker[Session]) -> None:
    agent_id = _agent(sessions)
    t0 = NOW - timedelta(hours=3)
    store_batch(
        sessions,
        [
            _report(agent_id, 1, _connectivity(t0, 0.0, 15.0, 1.0, 20.0)),
            _report(agent_id, 2, _connectivity(t0 + timedelta(hours=2), 10.0, 15.0, 1.0, 20.0)),
        ],
    )
    base = f"/api/v1/agents/{agent_id}"
    assert _status(f"{cloud.api_url}{base}/connectivity/latest") == 401
    newest = cloud.get(f"{base}/connectivity/latest")
    assert newest["latest"]["connectivity"]["loss_pct"] == 10.0
    window = urllib.parse.urlencode(
        {"since": (NOW - timedelta(hours=4)).isoformat(), "until": (NOW - timedelta(hours=2)).isoformat()}
    )
    ranged = cloud.get(f"{base}/connectivity?{window}")
    assert [s["loss_pct"] for s in ranged["samples"]] == [0.0]
    assert len(cloud.get(f"{base}/connectivity")["samples"]) == 2
    recent = cloud.get(f"{base}/experience?hours=1.5")
    assert recent["samples"] == 1 and recent["components"]["loss_pct"]["score"] == 0.0
    assert recent["score"] < 75
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    assert _status(f"{cloud.api_url}/api/v1/agents/nobody/experience", auth) == 404
    assert _status(f"{cloud.api_url}{base}/connectivity?probe=nope", auth) == 422


def test_speedtest_download_is_bounded_and_upload_counts(tmp_path: Path) -> None:
    cloud = CloudProcess(tmp_path)  # the endpoints touch no database: SQLite is enough
    cloud.start()
    try:
        _speedtest(f"{cloud.api_url}/api/v1/speedtest")
    finally:
        cloud.stop()


def _speedtest(url: str) -> None:
    with urllib.request.urlopen(f"{url}/download?bytes=200000", timeout=10) as response:
        assert response.headers.get("Content-Length") is None  # streamed, chunked
        assert len(response.read()) == 200_000
    started = time.monotonic()
    with urllib.request.urlopen(f"{url}/download?bytes=5000000000&duration_s=0.3", timeout=10) as response:
        assert 0 < len(response.read()) < 5 * 10**9
    assert time.monotonic() - started < 5
    assert _status(f"{url}/download?duration_s=31") == 422
    request = urllib.request.Request(f"{url}/upload", data=b"x" * 300_000, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        counted = json.loads(response.read())
    assert counted["bytes"] == 300_000 and counted["seconds"] >= 0


def test_downsampled_history_averages_and_keeps_the_worst_loss(sessions: sessionmaker[Session]) -> None:
    """Ten minutes of one-minute rows in 5-minute buckets: means of the figures, the worst loss."""
    agent_id = _agent(sessions)
    start = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    with sessions.begin() as session:
        for minute in range(10):
            session.add(
                ConnectivitySample(
                    agent_id=agent_id,
                    at=start + timedelta(minutes=minute),
                    probe="connectivity",
                    target="192.0.2.1",
                    loss_pct=50.0 if minute == 7 else 0.0,
                    latency_p50_ms=float(minute),
                    dns_ok=minute != 8,
                    finding="lan" if minute == 9 else "none",
                )
            )
    with sessions() as session:
        rows = history(session, agent_id, start, start + timedelta(minutes=10))
    buckets = downsample(rows, 300)
    assert [b["at"] for b in buckets] == [start, start + timedelta(minutes=5)]
    assert [b["latency_p50_ms"] for b in buckets] == [2.0, 7.0]
    assert [b["loss_pct"] for b in buckets] == [0.0, 50.0]
    assert [b["dns_ok"] for b in buckets] == [True, False]
    assert [b["finding"] for b in buckets] == ["none", "lan"]
    assert buckets[0]["jitter_ms"] is None
