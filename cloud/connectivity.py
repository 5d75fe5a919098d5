"""Connectivity history: the agents' latency, loss, DNS and throughput samples, folded into rows.

Called from :func:`cloud.ingest.folds.fold` for newly stored reports only, so each sample becomes
exactly one row (ingestion is exactly-once). Each kind is read as its typed data
(``protocol.samples``: TR-181 / TR-143 outputs), already checked at decode.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from protocol import ProbeName, Sample
from protocol.probes import CONNECTIVITY_PROBES
from protocol.samples import (
    ConnectivityData,
    DNSData,
    Finding,
    PingData,
    ThroughputData,
    UnsetType,
    given,
    salvage,
)

from .storage.connectivity import ConnectivitySample

COMPLETE = "Complete"

HISTORY_LIMIT = 5000
#: Rows read for a bucketed answer: a whole day of every probe at one a minute, and more.
BUCKETED_LIMIT = 50_000
__all__ = ["BUCKETED_LIMIT", "CONNECTIVITY_PROBES", "HISTORY_LIMIT", "apply_connectivity"]


def _float(value: float | UnsetType | None) -> float | None:
    return None if value is None or isinstance(value, UnsetType) else float(value)


def _text(value: str | UnsetType | None, limit: int) -> str:
    return "" if value is None or isinstance(value, UnsetType) else value[:limit]


def _row(sample: Sample) -> dict[str, Any] | None:
    probe = sample.probe
    row: dict[str, Any] = {"probe": probe, "target": ""}
    if probe == ProbeName.CONNECTIVITY:
        if sample.status != COMPLETE:
            return None
        data = salvage(ConnectivityData, sample.data) or ConnectivityData()
        finding = given(data.Finding, Finding())
        row |= {
            "target": _text(data.Gateway, 255),
            "loss_pct": _float(data.LossPercent),
            "latency_p50_ms": _float(data.LatencyP50),
            "latency_p95_ms": _float(data.LatencyP95),
            "jitter_ms": _float(data.Jitter),
            "finding": _text(finding.Where, 32) or None,
            "finding_message": _text(finding.Message, 255) or None,
        }
        if not isinstance(data.DNS, UnsetType):
            row["dns_ok"] = data.DNS.Status == "Success"
            row["dns_ms"] = _float(data.DNS.ResponseTime) if row["dns_ok"] else None
    elif probe == ProbeName.PING:
        if sample.status not in (COMPLETE, "Error_NoRouteToHost"):
            return None
        ping = salvage(PingData, sample.data) or PingData()
        row |= {
            "target": _text(ping.Host, 255),
            "loss_pct": _float(ping.LossPercent),
            "latency_p50_ms": _float(ping.AverageResponseTime),
            "latency_p95_ms": _float(ping.MaximumResponseTime),
            "jitter_ms": _float(ping.Jitter),
        }
    elif probe == ProbeName.DNS:
        dns = salvage(DNSData, sample.data) or DNSData()
        lookups = given(dns.Lookups, [])
        if sample.status != COMPLETE or not lookups:
            return None
        results = [r for lookup in lookups for r in given(lookup.Result, [])]
        if not results:
            return None
        ok = [r for r in results if r.Status == "Success"]
        times = [t for r in ok if (t := _float(r.ResponseTime)) is not None]
        row |= {"dns_ok": len(ok) == len(results), "dns_ms": max(times) if times else None}
    elif probe in (ProbeName.DOWNLOAD, ProbeName.UPLOAD):
        test = salvage(ThroughputData, sample.data) or ThroughputData()
        mbps = _float(test.ThroughputMbps)
        if sample.status != COMPLETE or mbps is None or given(test.Busy, False):
            return None  # a busy household's test understates the line: keep it out of the score
        row |= {
            "target": _text(test.URL, 255),
            f"{'down' if probe == ProbeName.DOWNLOAD else 'up'}_mbps": mbps,
        }
    else:
        return None
    return row


def apply_connectivity(session: Session, agent_id: str, sample: Sample) -> None:
    row = _row(sample)
    if row is None:
        return
    session.add(ConnectivitySample(agent_id=agent_id, at=datetime.fromtimestamp(sample.at, UTC), **row))


def history(
    session: Session,
    agent_id: str,
    since: datetime,
    until: datetime,
    probe: str | None = None,
    *,
    limit: int = HISTORY_LIMIT,
) -> list[ConnectivitySample]:
    """The window's rows, oldest first; at most the newest HISTORY_LIMIT of them (a long window keeps
    its recent end, which is what a score and a chart need most)."""
    query = select(ConnectivitySample).where(
        ConnectivitySample.agent_id == agent_id, ConnectivitySample.at >= since, ConnectivitySample.at < until
    )
    if probe:
        query = query.where(ConnectivitySample.probe == probe)
    newest = session.scalars(
        query.order_by(ConnectivitySample.at.desc(), ConnectivitySample.id.desc()).limit(limit)
    )
    return list(reversed(list(newest)))


_MEANS = ("latency_p50_ms", "latency_p95_ms", "jitter_ms", "dns_ms", "down_mbps", "up_mbps")


def downsample(rows: list[ConnectivitySample], bucket_s: float) -> list[dict[str, Any]]:
    """One row per probe, target and ``bucket_s`` of time, for a chart that reads at a glance:
    figures averaged over the bucket, loss its worst, DNS ok only if every lookup was, and the
    bucket's last finding. ``at`` is the bucket's start; oldest first."""
    buckets: dict[tuple[float, str, str], list[ConnectivitySample]] = {}
    for row in rows:
        start = row.at.timestamp() // bucket_s * bucket_s  # stored aware (storage.models.UTCDateTime)
        buckets.setdefault((start, row.probe, row.target), []).append(row)
    out = []
    for (start, probe, target), group in sorted(buckets.items()):
        merged: dict[str, Any] = {"at": datetime.fromtimestamp(start, UTC), "probe": probe, "target": target}
        for name in _MEANS:
            values = [v for r in group if (v := getattr(r, name)) is not None]
            merged[name] = round(sum(values) / len(values), 3) if values else None
        losses = [r.loss_pct for r in group if r.loss_pct is not None]
        merged["loss_pct"] = max(losses) if losses else None
        oks = [r.dns_ok for r in group if r.dns_ok is not None]
        merged["dns_ok"] = all(oks) if oks else None
        merged["finding"], merged["finding_message"] = group[-1].finding, group[-1].finding_message
        out.append(merged)
    return out


def latest(session: Session, agent_id: str) -> dict[str, ConnectivitySample]:
    """The newest row of each probe kind."""
    out: dict[str, ConnectivitySample] = {}
    for probe in sorted(p.value for p in CONNECTIVITY_PROBES):  # plain text for the SQL driver
        row = session.scalars(
            select(ConnectivitySample)
            .where(ConnectivitySample.agent_id == agent_id, ConnectivitySample.probe == probe)
            .order_by(ConnectivitySample.at.desc(), ConnectivitySample.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            out[probe] = row
    return out
