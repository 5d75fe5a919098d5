"""The daily list: homes whose last 24 hours left their own normal, ranked, each with a reason.

Four findings, each a question a CSR can act on (docs/care.md has the rules and numbers):

- ``smtp_burst``   a device opened far more outbound SMTP connections than it ever does (spambot);
- ``upload_rise``  a device sent far more than its normal for those hours of that kind of day
                   (an exfiltrating camera, a miner, a hijacked PC);
- ``upload_drift`` a device's upload grew step by step over weeks, so no single day stands out;
- ``silent``       a device that is nearly always active has been silent for days while the rest
                   of the home was not (a dead printer, an unplugged camera).

Downloads are deliberately not findings: a new streaming habit is a choice, not a fault, and the
cap warnings (projection.py) already speak to it. A CSR's verdict on an entry is used: a false
alarm down-weights the same (home, device, kind) for 30 days; a confirmation raises it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

import numpy as np

from .baseline import Baseline, History, build_baseline, candidates, per_device, per_home, robust
from .const import (
    BAND_K,
    CONFIRMED_FACTOR,
    DRIFT_MIN_RATIO,
    DRIFT_OLD_DAYS,
    DRIFT_RECENT_DAYS,
    FALSE_ALARM_DAYS,
    FALSE_ALARM_FACTOR,
    GB,
    KIND_WEIGHTS,
    LIST_MIN_SCORE,
    MIN_BASELINE_DAYS,
    RECURRING_MIN_DAYS,
    SILENT_MAX_PROBABILITY,
    SILENT_MIN_DAYS,
    SMTP_MIN_EXCESS,
    UPLOAD_FLOOR_BYTES_H,
    UPLOAD_MIN_EXCESS_BYTES,
)

Verdict = Literal["confirmed", "false_alarm"]

_KIND_WORDS = {"pc": "PC", "tv": "TV", "nas": "NAS", "iot": "IoT device"}
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


@dataclass(frozen=True)
class Finding:
    home: str
    device: str
    device_name: str | None
    kind: str
    reason: str
    score: float
    observed: float
    normal: float


@dataclass(frozen=True)
class Entry:
    """One home on the daily list; ``device``, ``kind`` and ``reason`` are its strongest finding."""

    rank: int
    home: str
    score: float
    device: str
    device_name: str | None
    kind: str
    reason: str
    findings: list[Finding] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Feedback:
    home: str
    device: str
    kind: str
    verdict: Verdict
    day: date


class FeedbackIndex:
    """CSR verdicts by (home, device, kind); the newest verdict within FALSE_ALARM_DAYS counts."""

    def __init__(self, feedback: Iterable[Feedback] = ()) -> None:
        self._latest: dict[tuple[str, str, str], Feedback] = {}
        for item in feedback:
            key = (item.home, item.device, item.kind)
            if key not in self._latest or self._latest[key].day <= item.day:
                self._latest[key] = item

    def factor(self, home: str, device: str, kind: str, day: date) -> float:
        item = self._latest.get((home, device, kind))
        if item is None or item.day > day or day - item.day > timedelta(days=FALSE_ALARM_DAYS):
            return 1.0
        return FALSE_ALARM_FACTOR if item.verdict == "false_alarm" else CONFIRMED_FACTOR


def device_label(mac: str, name: str | None, kind: str | None) -> str:
    """How a CSR would say it: "the PC 'DESKTOP-7'", "the camera aa:bb:...", "the device ..."."""
    noun = _KIND_WORDS.get(kind.lower(), kind.lower()) if kind else "device"
    return f"the {noun} '{name}'" if name else f"the {noun} {mac}"


def _gb(value: float) -> str:
    gb = value / GB
    return f"{gb:.1f}" if gb >= 0.1 or gb == 0 else f"{gb:.2f}"


def _count(value: float) -> str:
    return f"{round(value):,}"


def _days(n: int) -> str:
    return _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else str(n)


def _score(kind: str, excess: float, unit: float) -> float:
    return KIND_WEIGHTS[kind] * float(np.log2(1.0 + max(excess, 0.0) / unit))


def _pick_type(counts: np.ndarray, target_weekend: bool) -> list[int]:
    """Day types to score against: both when both are trusted (a holiday may look like a Sunday)."""
    types = [t for t in (0, 1) if counts[t] >= MIN_BASELINE_DAYS]
    return types or ([1] if target_weekend else [0])


class _Detector:
    def __init__(self, history: History, baseline: Baseline) -> None:
        self.h = history
        self.b = baseline
        self.t = history.target
        self.weekend = bool(history.weekend[-1])
        self.own_type = 1 if self.weekend else 0
        self.findings: list[Finding] = []

    def _finding(
        self, device: int, kind: str, reason: str, *, score: float, observed: float, normal: float
    ) -> None:
        home = self.h.homes[int(self.h.device_home[device])]
        self.findings.append(
            Finding(
                home,
                self.h.devices[device],
                self.h.device_names[device],
                kind,
                reason,
                score,
                observed,
                normal,
            )
        )

    def _label(self, device: int) -> str:
        return device_label(self.h.devices[device], self.h.device_names[device], self.h.device_kinds[device])

    def _normal(self, values: np.ndarray, device: int) -> float:
        own = values[device, self.own_type]
        other = values[device, 1 - self.own_type]
        return float(own if np.isfinite(own) else other if np.isfinite(other) else 0.0)

    def smtp(self) -> None:
        observed = self.h.smtp[:, self.t]
        band = np.nan_to_num(self.b.smtp_median + BAND_K * self.b.smtp_sigma, nan=0.0)
        # Against the day type that fits best: min over both types (holidays), when both are known.
        trusted = self.b.device_days >= MIN_BASELINE_DAYS
        band = np.where(trusted, band, np.inf)
        best = np.min(band, axis=1)
        best = np.where(np.isfinite(best), best, band[:, self.own_type])
        excess = observed - np.nan_to_num(best, posinf=0.0)
        for device in map(int, np.flatnonzero(excess >= SMTP_MIN_EXCESS)):
            normal = self._normal(self.b.smtp_median, device)
            self._finding(
                int(device),
                "smtp_burst",
                f"{self._label(device)} opened {_count(observed[device])} outbound SMTP connections in "
                f"the last 24 hours; its normal is {_count(normal)}",
                score=_score("smtp_burst", float(excess[device]), SMTP_MIN_EXCESS),
                observed=float(observed[device]),
                normal=normal,
            )

    def upload(self) -> set[int]:
        hours = self.h.upload[:, self.t, :]  # (series, 24)
        sigma = np.maximum(np.nan_to_num(self.b.upload_hour_sigma, nan=0.0), UPLOAD_FLOOR_BYTES_H)
        band = np.nan_to_num(self.b.upload_hour_median, nan=0.0) + BAND_K * sigma  # (series, 2, 24)
        hour_excess = np.maximum(hours[:, None, :] - band, 0.0)  # (series, 2, 24)
        excess_by_type = hour_excess.sum(axis=2)  # (series, 2)
        trusted = self.b.upload_days >= MIN_BASELINE_DAYS
        # The day type that fits best (a bank holiday is judged as a Sunday), if both are trusted.
        best = np.where(
            trusted.any(axis=1), np.argmin(np.where(trusted, excess_by_type, np.inf), axis=1), self.own_type
        )
        rows = np.arange(len(best))
        excess = excess_by_type[rows, best]
        n_dev = len(self.h.devices)
        device_excess = np.bincount(self.h.upload_device, weights=excess, minlength=n_dev)
        device_today = np.bincount(self.h.upload_device, weights=hours.sum(axis=1), minlength=n_dev)
        day_band = np.nan_to_num(
            self.b.device_upload_median + BAND_K * self.b.device_upload_sigma, nan=0.0
        )  # (devices, 2)
        dev_trusted = self.b.device_days >= MIN_BASELINE_DAYS
        day_band = np.min(np.where(dev_trusted, day_band, np.inf), axis=1)
        day_band = np.where(np.isfinite(day_band), day_band, 0.0)
        flagged = (device_excess >= UPLOAD_MIN_EXCESS_BYTES) & (
            device_today - day_band >= UPLOAD_MIN_EXCESS_BYTES
        )
        for device in map(int, np.flatnonzero(flagged)):
            mine = np.flatnonzero(self.h.upload_device == device)
            per_hour = hour_excess[mine, best[mine], :]  # (series of the device, 24)
            unexplained = float(per_hour[~self._habitual_hours(mine)].sum())
            if unexplained < UPLOAD_MIN_EXCESS_BYTES:
                flagged[device] = False
                continue
            top_class = self.h.upload_class[int(mine[np.argmax(per_hour.sum(axis=1))])]
            normal = self._normal(self.b.device_upload_median, device)
            self._finding(
                int(device),
                "upload_rise",
                f"{self._label(device)} uploaded {_gb(device_today[device])} GB in the last 24 hours, "
                f"mostly {top_class}; its normal is {_gb(normal)} GB a day",
                score=_score(
                    "upload_rise",
                    min(unexplained, float(device_today[device] - day_band[device])),
                    UPLOAD_MIN_EXCESS_BYTES,
                ),
                observed=float(device_today[device]),
                normal=normal,
            )
        return {int(d) for d in np.flatnonzero(flagged)}

    def _habitual_hours(self, series: np.ndarray) -> np.ndarray:
        """Hours (series, 24) in which the device sent at least half of today's upload on
        RECURRING_MIN_DAYS or more days older than a week: a habit (the weekly backup at 2 a.m.),
        not news. The last week is left out so that a leak that began days ago cannot excuse itself,
        and it is hour by hour so that a leak beside the habit still counts."""
        today = self.h.upload[series, self.t, :]  # (k, 24)
        older = self.h.upload[series, :-DRIFT_RECENT_DAYS, :]  # (k, days, 24)
        home = int(self.h.device_home[self.h.upload_device[series[0]]])
        valid = ~self.b.away[home, : older.shape[1]]
        seen = ((older >= 0.5 * today[:, None, :]) & valid[None, :, None]).sum(axis=1)
        return np.asarray((seen >= RECURRING_MIN_DAYS) & (today > 0))

    def drift(self, already: set[int]) -> None:
        if self.h.days < DRIFT_RECENT_DAYS + DRIFT_OLD_DAYS:
            return
        daily = per_device(self.h, self.h.upload.sum(axis=2))
        # A rise of 1 GB needs a recent median of 1 GB, so half the (at least 4) valid recent days
        # at least that high: devices with fewer than 2 such days are skipped without sorting.
        busy = np.flatnonzero((daily[:, -DRIFT_RECENT_DAYS:] >= UPLOAD_MIN_EXCESS_BYTES).sum(axis=1) >= 2)
        daily = daily[busy]
        valid = ~self.b.away[self.h.device_home[busy]]
        recent, _, n_recent = robust(daily[:, -DRIFT_RECENT_DAYS:], valid[:, -DRIFT_RECENT_DAYS:])
        old, old_sigma, n_old = robust(daily[:, :DRIFT_OLD_DAYS], valid[:, :DRIFT_OLD_DAYS])
        recent, old, old_sigma = (np.nan_to_num(a, nan=0.0) for a in (recent, old, old_sigma))
        rise = recent - old
        flagged = (
            (n_recent >= 4)
            & (n_old >= 7)
            & (rise >= UPLOAD_MIN_EXCESS_BYTES)
            & (recent >= DRIFT_MIN_RATIO * np.maximum(old, 0.05 * GB))
            & (recent >= old + BAND_K * old_sigma)
        )
        for row in map(int, np.flatnonzero(flagged)):
            device = int(busy[row])
            if device in already:
                continue
            self._finding(
                int(device),
                "upload_drift",
                f"the upload of {self._label(device)} has grown over the last weeks from "
                f"{_gb(old[row])} to {_gb(recent[row])} GB a day",
                score=_score("upload_drift", float(rise[row]), UPLOAD_MIN_EXCESS_BYTES),
                observed=float(recent[row]),
                normal=float(old[row]),
            )

    def silent(self) -> None:
        flows = self.h.flows
        active = flows > 0
        home_flows = per_home(self.h, flows)
        away = self.b.away[self.h.device_home]  # (devices, days)
        # The rest of the home was active: without the device itself, still not an "away" day.
        others = home_flows[self.h.device_home] - flows
        others_active = (others > 0) & ~away
        for device in map(int, np.flatnonzero(~active[:, self.t] & others_active[:, self.t])):
            run = 0
            day = self.t
            while day >= 0 and not active[device, day]:
                if others_active[device, day]:
                    run += 1
                day -= 1
            if run < SILENT_MIN_DAYS or day < 0:
                continue  # never seen active in the window: not "gone", just not there
            before = ~away[device, : day + 1]
            n = int(before.sum())
            inactive = int((~active[device, : day + 1] & before).sum())
            p_silent_day = (inactive + 1) / (n + 2)  # Laplace: a short history is not certainty
            if n < 7 or p_silent_day**run > SILENT_MAX_PROBABILITY:
                continue
            rate = 100 * (n - inactive) / n
            self._finding(
                int(device),
                "silent",
                f"{self._label(device)} has been silent for {_days(run)} days; it is normally active on "
                f"{rate:.0f}% of days",
                score=_score("silent", float(-np.log10(p_silent_day**run)) - 1.0, 1.0),
                observed=0.0,
                normal=rate,
            )


def detect(history: History, baseline: Baseline | None = None) -> list[Finding]:
    """Every finding for the last day of ``history``, unranked and before feedback."""
    detector = _Detector(history, baseline or build_baseline(history, candidates(history)))
    detector.smtp()
    rose = detector.upload()
    detector.drift(rose)
    detector.silent()
    return detector.findings


def rank(findings: Iterable[Finding], day: date, feedback: FeedbackIndex | None = None) -> list[Entry]:
    """Homes ranked by their strongest finding (plus a quarter of the others), after feedback."""
    index = feedback or FeedbackIndex()
    by_home: dict[str, list[Finding]] = {}
    for item in findings:
        factor = index.factor(item.home, item.device, item.kind, day)
        weighted = Finding(**{**asdict(item), "score": round(item.score * factor, 3)})
        by_home.setdefault(item.home, []).append(weighted)
    scored: list[tuple[float, str, list[Finding]]] = []
    for home, items in by_home.items():
        items.sort(key=lambda f: f.score, reverse=True)
        score = items[0].score + 0.25 * sum(f.score for f in items[1:])
        if score >= LIST_MIN_SCORE:
            scored.append((round(score, 3), home, items))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [
        Entry(i, home, score, items[0].device, items[0].device_name, items[0].kind, items[0].reason, items)
        for i, (score, home, items) in enumerate(scored, start=1)
    ]


def daily_list(
    history: History, feedback: FeedbackIndex | None = None, top: int | None = None
) -> list[Entry]:
    entries = rank(detect(history), history.day, feedback)
    return entries[:top] if top else entries
