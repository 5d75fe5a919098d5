"""The experience score of a home: one number from 0 to 100 out of loss, latency, jitter, DNS and
throughput over a window (docs/connectivity.md has the formula and why).

Each measure becomes a sub-score by a linear ramp between a "good" and a "bad" bound (100 at or
better than good, 0 at or worse than bad); the score is the weighted mean of the sub-scores that
have data, the weights renormalised over them. Within the window each measure is the median over
samples (one bad minute does not define a day), except loss, which is the mean (losses add up).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .connectivity import history

#: measure: (weight, good, bad). Latency is the interval's p95 (what interactive use feels).
WEIGHTS_AND_BOUNDS: dict[str, tuple[float, float, float]] = {
    "loss_pct": (0.30, 0.0, 5.0),
    "latency_p95_ms": (0.20, 20.0, 200.0),
    "jitter_ms": (0.15, 5.0, 50.0),
    "dns_ms": (0.15, 50.0, 500.0),
    "down_mbps": (0.20, 25.0, 0.0),  # relative to a target; 25 Mbit/s without a plan speed
}


def ramp(value: float, good: float, bad: float) -> float:
    """100 at ``good`` or better, 0 at ``bad`` or worse, linear between (either direction)."""
    if good == bad:
        return 100.0
    share = (value - bad) / (good - bad)
    return round(100 * min(1.0, max(0.0, share)), 1)


@dataclass(frozen=True)
class Experience:
    score: float | None
    samples: int
    components: dict[str, dict[str, Any]]


def experience(
    session: Session, agent_id: str, since: datetime, until: datetime, *, target_down_mbps: float = 25.0
) -> Experience:
    rows = history(session, agent_id, since, until)
    values: dict[str, list[float]] = {k: [] for k in WEIGHTS_AND_BOUNDS}
    dns_outcomes: list[bool] = []
    for row in rows:
        for key in WEIGHTS_AND_BOUNDS:
            value = getattr(row, key)
            if value is not None:
                values[key].append(float(value))
        if row.dns_ok is not None:
            dns_outcomes.append(row.dns_ok)
    components: dict[str, dict[str, Any]] = {}
    for key, (weight, good, bad) in WEIGHTS_AND_BOUNDS.items():
        series = values[key]
        if key == "dns_ms" and dns_outcomes and not series:
            series = [float("inf")]  # every lookup failed: the worst DNS there is
        if not series:
            continue
        value = statistics.fmean(series) if key == "loss_pct" else statistics.median(series)
        best = target_down_mbps if key == "down_mbps" else good
        sub = ramp(value, best, bad) if value != float("inf") else 0.0
        if key == "dns_ms" and dns_outcomes:
            success = sum(dns_outcomes) / len(dns_outcomes)
            sub = round(sub * success, 1)
            components[key] = {
                "value": None if value == float("inf") else round(value, 3),
                "success_rate": success,
            }
        else:
            components[key] = {"value": round(value, 3)}
        components[key] |= {"score": sub, "weight": weight, "samples": len(series)}
    total_weight = sum(c["weight"] for c in components.values())
    score = (
        round(sum(c["score"] * c["weight"] for c in components.values()) / total_weight, 1)
        if total_weight
        else None
    )
    return Experience(score=score, samples=len(rows), components=components)
