"""Connectivity degraded against the home's own normal: episodes with hysteresis, and their words.

Input is the connectivity history (``connectivity_samples``, probe ``connectivity``: one row per
agent interval, with the headline loss and p50 latency of the internet targets, the DNS check and
the agent's own finding of *where* the trouble sits). Each recent interval is judged against a
robust baseline of the days before (median and 1.4826 x MAD, with floors so that a quiet home's
one lost echo is not news); a home without enough history is judged on absolute thresholds
(``const.py``). Hysteresis turns bad intervals into episodes: ``DEGRADED_OPEN_INTERVALS`` bad in a
row open one, ``DEGRADED_CLOSE_INTERVALS`` good in a row close it. Deciding is pure and repeatable,
so the care loop can recompute it on every pass; the once-only keys live in alerts.py.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from .const import (
    BAND_K,
    DEGRADED_CLOSE_INTERVALS,
    DEGRADED_DNS_NORMAL_FAIL_SHARE,
    DEGRADED_LATENCY_ABS_MS,
    DEGRADED_LATENCY_FLOOR_MS,
    DEGRADED_LATENCY_RATIO,
    DEGRADED_LOSS_FLOOR_PCT,
    DEGRADED_LOSS_MIN_PCT,
    DEGRADED_MIN_BASELINE_INTERVALS,
    DEGRADED_OPEN_INTERVALS,
    MAD_TO_SIGMA,
)

Metric = Literal["loss", "latency", "dns"]
#: When several figures are bad, the one a subscriber feels first speaks.
_ORDER: tuple[Metric, ...] = ("loss", "latency", "dns")
#: The agent's ``Finding.Where`` values that place trouble (``none`` places nothing).
PLACES = ("lan", "beyond_gateway", "remote", "dns")

__all__ = ["PLACES", "Episode", "Interval", "Normal", "cleared_text", "episodes", "judge", "raised_text"]


@dataclass(frozen=True, slots=True)
class Interval:
    """One connectivity interval of a home, as folded by cloud/connectivity.py."""

    at: datetime
    loss_pct: float | None = None
    latency_ms: float | None = None
    dns_ok: bool | None = None
    where: str | None = None


@dataclass(frozen=True, slots=True)
class Band:
    median: float
    sigma: float


def _band(values: Sequence[float]) -> Band | None:
    if len(values) < DEGRADED_MIN_BASELINE_INTERVALS:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return Band(median, MAD_TO_SIGMA * mad)


@dataclass(frozen=True, slots=True)
class Normal:
    """The home's normal; ``None`` per figure when there is too little history (a new home)."""

    loss: Band | None = None
    latency: Band | None = None
    dns_fail_share: float | None = None

    @classmethod
    def of(cls, history: Iterable[Interval]) -> Normal:
        rows = list(history)
        dns = [r.dns_ok for r in rows if r.dns_ok is not None]
        return cls(
            loss=_band([r.loss_pct for r in rows if r.loss_pct is not None]),
            latency=_band([r.latency_ms for r in rows if r.latency_ms is not None]),
            dns_fail_share=(
                dns.count(False) / len(dns) if len(dns) >= DEGRADED_MIN_BASELINE_INTERVALS else None
            ),
        )

    def loss_limit(self) -> float:
        if self.loss is None:
            return DEGRADED_LOSS_MIN_PCT
        excess = max(BAND_K * self.loss.sigma, DEGRADED_LOSS_FLOOR_PCT)
        return max(DEGRADED_LOSS_MIN_PCT, self.loss.median + excess)

    def latency_limit(self) -> float:
        if self.latency is None:
            return DEGRADED_LATENCY_ABS_MS
        median = self.latency.median
        return max(
            DEGRADED_LATENCY_RATIO * median,
            median + max(BAND_K * self.latency.sigma, DEGRADED_LATENCY_FLOOR_MS),
        )

    def dns_judged(self) -> bool:
        """A home whose lookups often fail anyway is not judged on DNS (its normal is failure)."""
        return self.dns_fail_share is None or self.dns_fail_share < DEGRADED_DNS_NORMAL_FAIL_SHARE


def judge(interval: Interval, normal: Normal) -> tuple[Metric, ...]:
    """The figures of this interval that are outside the home's normal (empty: a good interval)."""
    bad: list[Metric] = []
    if interval.loss_pct is not None and interval.loss_pct >= normal.loss_limit():
        bad.append("loss")
    if interval.latency_ms is not None and interval.latency_ms >= normal.latency_limit():
        bad.append("latency")
    if interval.dns_ok is False and normal.dns_judged():
        bad.append("dns")
    return tuple(bad)


@dataclass(frozen=True, slots=True)
class Episode:
    """A stretch of degraded connectivity: from its first bad interval to its clearing (or open)."""

    start: datetime
    metric: Metric
    where: str
    #: The median of the metric over the bad intervals (per cent, ms, or per cent of lookups failed).
    value: float
    #: The home's normal for that metric (None: a new home, judged on absolute thresholds).
    normal: float | None
    bad_intervals: int
    judged_intervals: int
    last_bad: datetime
    cleared_at: datetime | None = None
    #: The run that opened it began with the first judged interval of the window: it may have begun
    #: earlier (alerts.py then continues an alert already raised instead of raising a second).
    from_window_start: bool = False

    @property
    def open(self) -> bool:
        return self.cleared_at is None


def _summarise(
    judged: Sequence[tuple[Interval, tuple[Metric, ...]]],
    normal: Normal,
    cleared_at: datetime | None,
    from_window_start: bool,
) -> Episode:
    bad = [(i, m) for i, m in judged if m]
    counts = Counter(metric for _, metrics in bad for metric in metrics)
    metric = max(_ORDER, key=lambda m: (counts[m], -_ORDER.index(m)))
    places = Counter(i.where for i, _ in bad if i.where in PLACES)
    where = places.most_common(1)[0][0] if places else ("dns" if metric == "dns" else "")
    value: float
    reference: float | None
    if metric == "loss":
        value = statistics.median(i.loss_pct for i, m in bad if "loss" in m and i.loss_pct is not None)
        reference = normal.loss.median if normal.loss else None
    elif metric == "latency":
        value = statistics.median(i.latency_ms for i, m in bad if "latency" in m and i.latency_ms is not None)
        reference = normal.latency.median if normal.latency else None
    else:
        checks = [i.dns_ok for i, _ in judged if i.dns_ok is not None]
        value = 100 * checks.count(False) / len(checks)
        reference = 100 * normal.dns_fail_share if normal.dns_fail_share is not None else None
    return Episode(
        start=bad[0][0].at,
        metric=metric,
        where=where,
        value=value,
        normal=reference,
        bad_intervals=len(bad),
        judged_intervals=len(judged),
        last_bad=bad[-1][0].at,
        cleared_at=cleared_at,
        from_window_start=from_window_start,
    )


def episodes(
    recent: Iterable[Interval],
    normal: Normal,
    *,
    open_after: int = DEGRADED_OPEN_INTERVALS,
    close_after: int = DEGRADED_CLOSE_INTERVALS,
) -> list[Episode]:
    """The episodes in ``recent`` (any order; sorted by time here), oldest first.

    An interval without any figure (the probe measured nothing) neither opens nor closes.
    """
    rows = sorted((r for r in recent if judge_able(r)), key=lambda r: r.at)
    found: list[Episode] = []
    run: list[tuple[Interval, tuple[Metric, ...]]] = []  # the current bad run, or the open episode
    run_from_start = False
    is_open = False
    good = 0
    for index, interval in enumerate(rows):
        metrics = judge(interval, normal)
        if not is_open:
            if metrics:
                if not run:
                    run_from_start = index == 0
                run.append((interval, metrics))
                is_open = len(run) >= open_after
            else:
                run = []
            continue
        run.append((interval, metrics))
        good = 0 if metrics else good + 1
        if good >= close_after:
            found.append(_summarise(run, normal, interval.at, run_from_start))
            run, is_open, good = [], False, 0
    if is_open:
        found.append(_summarise(run, normal, None, run_from_start))
    return found


def judge_able(interval: Interval) -> bool:
    return interval.loss_pct is not None or interval.latency_ms is not None or interval.dns_ok is not None


_PLACE_WORDS = {
    "beyond_gateway": "the trouble is beyond the home's router, on the provider's side: check the line",
    "lan": "the trouble is inside the home, between the homediag box and the router (Wi-Fi or "
    "cabling): check the router and the home network before the line",
    "remote": "only some internet services suffer, not the line itself: check those services before the line",
    "dns": "the line carries traffic but name lookups fail: check the DNS servers the line hands out",
    "": "where it sits is not clear: check the router first, then the line",
}


def _clock(moment: datetime, zone: tzinfo | None) -> str:
    local = moment.astimezone(zone) if zone is not None else moment
    name = local.tzname() or "UTC"
    return f"{local:%H:%M} {name}"


def _figure(episode: Episode, *, past: bool = False) -> tuple[str, str]:
    """The figure in words ("18% of pings beyond the gateway are lost") and its normal."""
    unit = " ms" if episode.metric == "latency" else "%"
    normal = "" if episode.normal is None else f" (its normal is {episode.normal:.0f}{unit})"
    if episode.metric == "loss":
        where = " beyond the gateway" if episode.where == "beyond_gateway" else ""
        return f"{episode.value:.0f}% of pings{where} {'were' if past else 'are'} lost", normal
    if episode.metric == "latency":
        return f"pings {'took' if past else 'take'} {episode.value:.0f} ms", normal
    return f"{episode.value:.0f}% of name lookups {'failed' if past else 'fail'}", normal


def raised_text(home: str, episode: Episode, zone: tzinfo | None = None) -> tuple[str, str]:
    """Subject and body of the alert: the figure, since when, its normal, where, what to check."""
    figure, normal = _figure(episode)
    body = (
        f"Home {home}: {figure} since {_clock(episode.start, zone)}{normal}; "
        f"{_PLACE_WORDS.get(episode.where, _PLACE_WORDS[''])}."
    )
    return f"Home {home}: internet connection degraded", body


def cleared_text(home: str, episode: Episode, zone: tzinfo | None = None) -> tuple[str, str]:
    """Subject and body of the all-clear, naming the episode it ends."""
    if episode.cleared_at is None:
        raise ValueError("an open episode has no all-clear")
    figure, _ = _figure(episode, past=True)
    minutes = max(1, round((episode.cleared_at - episode.start).total_seconds() / 60))
    body = (
        f"Home {home}: the internet connection is back to normal since "
        f"{_clock(episode.cleared_at, zone)}; from {_clock(episode.start, zone)}, for about "
        f"{minutes} minutes, {figure}."
    )
    return f"Home {home}: internet connection back to normal", body
