"""The daily list: homes whose last 24 hours left their own normal, ranked, each with a reason.

Eight findings, each a question a CSR can act on (docs/care.md has the rules and numbers):

- ``smtp_burst``   a device opened far more outbound SMTP connections than it ever does (spambot);
- ``scanning``     a device reached thousands of remote hosts with little data each (a worm);
- ``ddos``         bursts of many flows to a few targets, with upload (a botnet's camera);
- ``always_on``    a device normally quiet for part of the day is active nearly every hour,
                   steadily, to a few hosts (a miner, always-on malware);
- ``beaconing``    small, regular contacts to a few hosts in hours the device used to be silent;
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
    ACTIVITY_MIN_DAYS,
    ALWAYS_ON_MAX_BYTES_RATIO,
    ALWAYS_ON_MAX_NORMAL,
    ALWAYS_ON_MAX_SILENT_H,
    ALWAYS_ON_MAX_TX_H,
    ALWAYS_ON_MIN_HOURS,
    ALWAYS_ON_MIN_NEW,
    BAND_K,
    BEACON_MAX_CV,
    BEACON_MAX_FLOWS_H,
    BEACON_MAX_TX_H,
    BEACON_MIN_NEW,
    BEACON_MIN_RECENT,
    BEACON_RECENT_DAYS,
    CONFIRMED_FACTOR,
    DDOS_MIN_FLOWS_H,
    DDOS_MIN_FLOWS_PER_HOST,
    DDOS_MIN_RATIO,
    DDOS_MIN_TX_BYTES,
    DRIFT_MIN_RATIO,
    DRIFT_OLD_DAYS,
    DRIFT_RECENT_DAYS,
    FALSE_ALARM_DAYS,
    FALSE_ALARM_FACTOR,
    FEW_HOSTS,
    GB,
    KIND_WEIGHTS,
    LIST_MIN_SCORE,
    MIN_BASELINE_DAYS,
    NEXT_STEPS,
    OTHER_TYPE_HABIT_SHARE,
    RECURRING_MIN_DAYS,
    SCAN_MAX_BYTES_PER_FLOW,
    SCAN_MIN_HOSTS,
    SCAN_MIN_RATIO,
    SCAN_NORMAL_FLOOR,
    SILENT_MAX_PROBABILITY,
    SILENT_MIN_DAYS,
    SMTP_MIN_EXCESS,
    UNUSUAL_HOUR_MAX_SHARE,
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
    next_step: str = ""
    #: Older MACs of the device (a randomised MAC that rotated): feedback given under them counts.
    aliases: tuple[str, ...] = ()


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
    next_step: str = ""

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


def _either_side(values: np.ndarray) -> np.ndarray:
    """The largest of each hour and its two neighbours (last axis = 24 hours, midnight wraps)."""
    out = np.array(values, copy=True)
    np.maximum(out[..., 1:], values[..., :-1], out=out[..., 1:])
    np.maximum(out[..., :-1], values[..., 1:], out=out[..., :-1])
    np.maximum(out[..., :1], values[..., -1:], out=out[..., :1])
    np.maximum(out[..., -1:], values[..., :1], out=out[..., -1:])
    return out


def _regular(per_hour: np.ndarray) -> bool:
    """About the same count every hour (coefficient of variation <= BEACON_MAX_CV): a timer."""
    return len(per_hour) > 0 and float(per_hour.std()) <= BEACON_MAX_CV * float(per_hour.mean())


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
        aliases = self.h.device_aliases[device] if self.h.device_aliases else ()
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
                NEXT_STEPS.get(kind, ""),
                aliases,
            )
        )

    def _label(self, device: int) -> str:
        return device_label(self.h.devices[device], self.h.device_names[device], self.h.device_kinds[device])

    def _normal(self, values: np.ndarray, device: int) -> float:
        own = values[device, self.own_type]
        other = values[device, 1 - self.own_type]
        return float(own if np.isfinite(own) else other if np.isfinite(other) else 0.0)

    def smtp(self) -> set[int]:
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
        return {int(d) for d in np.flatnonzero(excess >= SMTP_MIN_EXCESS)}

    def upload(self, skip: frozenset[int] | set[int] = frozenset()) -> set[int]:
        hours = self.h.upload[:, self.t, :]  # (series, 24)
        sigma = np.maximum(np.nan_to_num(self.b.upload_hour_sigma, nan=0.0), UPLOAD_FLOOR_BYTES_H)
        band = _either_side(np.nan_to_num(self.b.upload_hour_median, nan=0.0) + BAND_K * sigma)
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
        rows = np.flatnonzero(flagged)
        flagged[rows] = self._beyond_own_range(rows, device_today[rows])
        for device in map(int, np.flatnonzero(flagged)):
            if device in skip:  # already a DDoS finding: one device, one reason
                flagged[device] = False
                continue
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

    def _beyond_own_range(self, rows: np.ndarray, today: np.ndarray) -> np.ndarray:
        """A device with a normal (active on MIN_BASELINE_DAYS days; a guest's phone backing up its
        photos has none) that sent more today than on any normal day older than a week. The last
        week is left out so that a leak that began days ago still counts."""
        older_days = self.h.days - DRIFT_RECENT_DAYS
        older = ~self.b.away[self.h.device_home[rows], :older_days]
        active_days = ((self.h.flows[rows, :older_days] > 0) & older).sum(axis=1)
        position = np.full(len(self.h.devices), -1)
        position[rows] = np.arange(len(rows))
        mine = np.flatnonzero(position[self.h.upload_device] >= 0)
        daily = np.zeros((len(rows), older_days))
        np.add.at(
            daily, position[self.h.upload_device[mine]], self.h.upload[mine, :older_days, :].sum(axis=2)
        )
        peak = np.where(older, daily, 0.0).max(axis=1, initial=0.0)
        return np.asarray((active_days >= MIN_BASELINE_DAYS) & (today > peak))

    def _habitual_hours(self, series: np.ndarray) -> np.ndarray:
        """Hours (series, 24) in which the device sent at least half of today's upload on
        RECURRING_MIN_DAYS or more days older than a week: a habit (the weekly backup at 2 a.m.),
        not news. The last week is left out so that a leak that began days ago cannot excuse itself,
        and it is hour by hour so that a leak beside the habit still counts."""
        today = self.h.upload[series, self.t, :]  # (k, 24)
        older = self.h.upload[series, :-DRIFT_RECENT_DAYS, :]  # (k, days, 24)
        home = int(self.h.device_home[self.h.upload_device[series[0]]])
        valid = ~self.b.away[home, : older.shape[1]]
        # The hour either side counts too: daylight saving moves the 2 a.m. backup by an hour in UTC.
        seen = ((_either_side(older) >= 0.5 * today[:, None, :]) & valid[None, :, None]).sum(axis=1)
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
        # Like with like: when a holiday took the old weeks' weekdays, a pooled median is a weekend's
        # (a home office's calls missing); the busier day type's median is the old normal then.
        for day_type in (False, True):
            of_type = valid[:, :DRIFT_OLD_DAYS] & (self.h.weekend[:DRIFT_OLD_DAYS] == day_type)[None, :]
            typed, _s, n_typed = robust(daily[:, :DRIFT_OLD_DAYS], of_type)
            old = np.where(n_typed >= 2, np.fmax(old, typed), old)
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

    def _device_tx_hours(self, devices: np.ndarray, day: int | slice) -> np.ndarray:
        """Bytes sent per hour by ``devices`` on ``day`` (all classes), (len(devices), [days,] 24)."""
        position = np.full(len(self.h.devices), -1)
        position[devices] = np.arange(len(devices))
        rows = np.flatnonzero(position[self.h.upload_device] >= 0)
        values = self.h.upload[rows, day]
        out = np.zeros((len(devices), *values.shape[1:]))
        np.add.at(out, position[self.h.upload_device[rows]], values)
        return out

    def _baseline_days(self, devices: np.ndarray) -> np.ndarray:
        """(devices, days - 1): the days a device's own normal is made of (the home not away)."""
        return np.asarray(~self.b.away[self.h.device_home[devices], :-1])

    def scanning(self) -> set[int]:
        hosts = self.h.hour_hosts
        flows = self.h.hour_flows
        if hosts is None or flows is None:
            return set()
        hosts_today = hosts[:, self.t, :].sum(axis=1, dtype=np.float64)
        cand = np.flatnonzero(hosts_today >= SCAN_MIN_HOSTS)
        if not len(cand):
            return set()
        daily = hosts[cand, :-1, :].sum(axis=2, dtype=np.float64)
        median, sigma, n = robust(daily, self._baseline_days(cand))
        normal = np.where(n >= MIN_BASELINE_DAYS, np.nan_to_num(median), 0.0)
        sigma = np.where(n >= MIN_BASELINE_DAYS, np.nan_to_num(sigma), 0.0)
        today = hosts_today[cand]
        # Bytes sent per connection in the hours of the burst: a worm's probes are tiny, whatever
        # else the device moved today (a download, a video call) in its other hours.
        hourly_normal = np.maximum(normal, SCAN_NORMAL_FLOOR) / 24
        burst = hosts[cand, self.t, :] >= SCAN_MIN_RATIO * hourly_normal[:, None]
        # The median hour: a backup or an upload in one of those hours does not hide the probes.
        ratio = self._device_tx_hours(cand, self.t) / np.maximum(flows[cand, self.t, :], 1.0)
        per_flow, _s, _n = robust(ratio, burst)
        per_flow = np.nan_to_num(per_flow, nan=np.inf)
        flagged = (
            (today >= SCAN_MIN_RATIO * np.maximum(normal, SCAN_NORMAL_FLOOR))
            & (today >= normal + BAND_K * sigma + SCAN_MIN_HOSTS)
            & (per_flow <= SCAN_MAX_BYTES_PER_FLOW)
        )
        found: set[int] = set()
        for row in map(int, np.flatnonzero(flagged)):
            device = int(cand[row])
            peak = float(hosts[device, self.t, :].max())
            self._finding(
                device,
                "scanning",
                f"{self._label(device)} contacted {_count(today[row])} different hosts in the last 24 "
                f"hours (up to {_count(peak)} in one hour, {_count(per_flow[row])} bytes a connection); "
                f"its normal is {_count(normal[row])}",
                score=_score("scanning", float(today[row] - normal[row]), SCAN_MIN_HOSTS),
                observed=float(today[row]),
                normal=float(normal[row]),
            )
            found.add(device)
        return found

    def ddos(self) -> set[int]:
        hosts = self.h.hour_hosts
        flows = self.h.hour_flows
        if hosts is None or flows is None:
            return set()
        cand = np.flatnonzero(flows[:, self.t, :].max(axis=1) >= DDOS_MIN_FLOWS_H)
        if not len(cand):
            return set()
        busiest = flows[cand, :-1, :].max(axis=2).astype(np.float64)
        median, _sigma, n = robust(busiest, self._baseline_days(cand))
        usual = np.where(n >= MIN_BASELINE_DAYS, np.nan_to_num(median), 0.0)
        f_today = flows[cand, self.t, :].astype(np.float64)
        h_today = np.maximum(hosts[cand, self.t, :].astype(np.float64), 1.0)
        burst = (
            (f_today >= DDOS_MIN_FLOWS_H)
            & (f_today >= DDOS_MIN_RATIO * np.maximum(usual, 10.0)[:, None])
            & (f_today / h_today >= DDOS_MIN_FLOWS_PER_HOST)
        )
        sent = (self._device_tx_hours(cand, self.t) * burst).sum(axis=1)
        found: set[int] = set()
        for row in map(int, np.flatnonzero(burst.any(axis=1) & (sent >= DDOS_MIN_TX_BYTES))):
            device = int(cand[row])
            hours = int(burst[row].sum())
            targets = float(np.median(h_today[row][burst[row]]))
            peak = float(f_today[row].max())
            self._finding(
                device,
                "ddos",
                f"{self._label(device)} sent {_gb(sent[row])} GB in {_days(hours)} "
                f"{'hour' if hours == 1 else 'hours'} as up to {_count(peak)} connections an hour to "
                f"{_count(targets)} {'host' if round(targets) == 1 else 'hosts'}; its busiest hour "
                f"normally has {_count(usual[row])}",
                score=_score("ddos", float(sent[row]), DDOS_MIN_TX_BYTES),
                observed=peak,
                normal=float(usual[row]),
            )
            found.add(device)
        return found

    def rhythm(self, already: set[int]) -> set[int]:
        """``always_on`` and ``beaconing``: a change of *when* a device is active, not how much."""
        hosts = self.h.hour_hosts
        flows = self.h.hour_flows
        if hosts is None or flows is None:
            return set()
        today = flows[:, self.t, :] > 0
        # Only devices that could be either: active nearly all day, or with enough small hours.
        small_today = today & (flows[:, self.t, :] <= BEACON_MAX_FLOWS_H) & (hosts[:, self.t, :] <= FEW_HOSTS)
        n_small_today = small_today.sum(axis=1)
        maybe = (today.sum(axis=1) >= ALWAYS_ON_MIN_HOURS) | (n_small_today >= BEACON_MIN_NEW)
        # A beacon that shows in fewer hours today may repeat over the last days (a few rows only).
        few = np.flatnonzero((n_small_today >= 1) & ~maybe)
        recent = slice(max(self.t - BEACON_RECENT_DAYS + 1, 0), self.t + 1)
        f_few, h_few = flows[few, recent, :], hosts[few, recent, :]
        small_few = (f_few > 0) & (f_few <= BEACON_MAX_FLOWS_H) & (h_few <= FEW_HOSTS)
        maybe[few] = small_few.sum(axis=(1, 2)) >= BEACON_MIN_RECENT
        cand = np.flatnonzero(maybe)
        if not len(cand):
            return set()
        base = self._baseline_days(cand)
        active = flows[cand, :-1, :] > 0  # (k, days, 24)
        active &= base[:, :, None]  # away days are no one's normal
        active_days = active.any(axis=2).sum(axis=1)
        # Hours it is *seldom* active in: on at most UNUSUAL_HOUR_MAX_SHARE of its normal days of
        # today's type (a PC left on some nights stays in, so a few such nights cannot hide a
        # miner either), and not a habit of the other type (at least half its days): a bank holiday
        # lives to the weekend's rhythm.
        share = np.zeros((2, len(cand), 24))
        for day_type in (0, 1):
            of_type = self.h.weekend[:-1] == bool(day_type)
            valid = base[:, of_type].sum(axis=1)
            typed = active[:, of_type, :].sum(axis=1, dtype=np.int16) / np.maximum(valid, 1)[:, None]
            share[day_type] = np.where((valid >= MIN_BASELINE_DAYS)[:, None], typed, 0.0)
        rare = (
            (share[self.own_type] <= UNUSUAL_HOUR_MAX_SHARE)
            & (share[1 - self.own_type] <= OTHER_TYPE_HABIT_SHARE)
            & (active_days >= ACTIVITY_MIN_DAYS)[:, None]
        )  # (k, 24): the hours of the day the device is seldom active in
        unusual = today[cand] & rare
        f_today = flows[cand, self.t, :]
        h_today = hosts[cand, self.t, :]
        small = unusual & (f_today <= BEACON_MAX_FLOWS_H) & (h_today <= FEW_HOSTS)
        # The same test over the last days: (k, days, 24), today last.
        f_recent = flows[cand, recent, :]
        small_recent = (
            rare[:, None, :]
            & (f_recent > 0)
            & (f_recent <= BEACON_MAX_FLOWS_H)
            & (hosts[cand, recent, :] <= FEW_HOSTS)
        )
        recurring = (
            small.any(axis=1)
            & (small_recent.sum(axis=(1, 2)) >= BEACON_MIN_RECENT)
            & (small_recent.any(axis=2).sum(axis=1) >= 2)
        )
        keep = np.flatnonzero(
            (small.sum(axis=1) >= BEACON_MIN_NEW) | (unusual.sum(axis=1) >= ALWAYS_ON_MIN_NEW) | recurring
        )
        found: set[int] = set()
        if not len(keep):
            return found
        cand, unusual, small, active, base = cand[keep], unusual[keep], small[keep], active[keep], base[keep]
        small_recent, recurring = small_recent[keep], recurring[keep]
        hours_active = active.sum(axis=2).astype(np.float64)
        normal_hours, _s, _n = robust(hours_active, np.asarray(active.any(axis=2)))
        normal_hours = np.nan_to_num(normal_hours)
        small_recent &= self._device_tx_hours(cand, recent) <= BEACON_MAX_TX_H
        small &= small_recent[:, -1, :]
        recurring &= small.any(axis=1)
        # Vector tests first; the loop below sees only the devices that pass one of them.
        hours_today = today[cand].sum(axis=1)
        odd_hosts, _s, n_odd = robust(hosts[cand, self.t, :], unusual)
        maybe_on = (
            (hours_today >= ALWAYS_ON_MIN_HOURS)
            & (hours_today - normal_hours >= ALWAYS_ON_MIN_NEW)
            & (normal_hours <= ALWAYS_ON_MAX_NORMAL)
            & (n_odd >= ALWAYS_ON_MIN_NEW)
            & (np.nan_to_num(odd_hosts, nan=np.inf) <= FEW_HOSTS)
        )
        f_small = np.where(small, flows[cand, self.t, :], 0.0)
        count_small = np.maximum(small.sum(axis=1), 1)
        mean = f_small.sum(axis=1) / count_small
        spread = np.sqrt((np.where(small, f_small - mean[:, None], 0.0) ** 2).sum(axis=1) / count_small)
        regular = spread <= BEACON_MAX_CV * mean
        maybe = maybe_on | ((small.sum(axis=1) >= BEACON_MIN_NEW) & regular) | recurring
        for row in map(int, np.flatnonzero(maybe)):
            device = int(cand[row])
            if device in already:
                continue
            active_hours = int(today[device].sum())
            h_odd = hosts[device, self.t, unusual[row]].astype(np.float64)
            odd = int(unusual[row].sum())
            f_hours = flows[device, self.t, small[row]].astype(np.float64)
            n_small = len(f_hours)
            beacon_today = n_small >= BEACON_MIN_NEW and _regular(f_hours)
            f_recent = flows[device, recent][small_recent[row]].astype(np.float64)
            beacon_recent = bool(recurring[row]) and _regular(f_recent)
            # A miner fills the clock; tiny, same-size contacts in a day with silent hours are a beacon.
            clockwork = (beacon_today or beacon_recent) and 24 - active_hours > ALWAYS_ON_MAX_SILENT_H
            if (
                maybe_on[row]
                and not clockwork
                and (self._not_a_download(device) or self._steady(device, unusual[row]))
            ):
                kind, unit, n_hours = "always_on", float(ALWAYS_ON_MIN_NEW), odd
                targets = float(np.median(h_odd))
                reason = (
                    f"{self._label(device)} was active in {active_hours} of the last 24 hours, steadily "
                    f"and mostly to {_count(targets)} {'host' if round(targets) == 1 else 'hosts'}, "
                    f"{odd} of them hours it is seldom active in; its normal is "
                    f"{_count(normal_hours[row])} active hours a day"
                )
            elif beacon_today or beacon_recent:
                kind = "beaconing"
                if beacon_today:
                    unit, f_beacon, span = float(BEACON_MIN_NEW), f_hours, ""
                    targets = float(np.median(hosts[device, self.t, small[row]]))
                else:
                    unit, f_beacon = float(BEACON_MIN_RECENT), f_recent
                    targets = float(np.median(hosts[device, recent][small_recent[row]]))
                    span = f" over the last {_days(BEACON_RECENT_DAYS)} days, {n_small} of them today"
                n_hours = len(f_beacon)
                reason = (
                    f"{self._label(device)} made small, regular contacts (about {_count(f_beacon.mean())} "
                    f"an hour, to {_count(targets)} {'host' if round(targets) == 1 else 'hosts'}) in "
                    f"{n_hours} hours in which it is normally silent{span}; its normal is no activity then"
                )
            else:
                continue
            self._finding(
                device,
                kind,
                reason,
                score=_score(kind, float(n_hours), unit),
                observed=float(n_hours),
                normal=float(normal_hours[row]) if kind == "always_on" else 0.0,
            )
            found.add(device)
        return found

    def _steady(self, device: int, odd: np.ndarray) -> bool:
        """The device's new hours (``odd``, 24) alone look like a miner's: enough of them each to a
        few hosts with little sent and about the same number of flows, whatever a download moved
        in its other hours."""
        assert self.h.hour_flows is not None
        assert self.h.hour_hosts is not None
        sent = self._device_tx_hours(np.array([device]), self.t)[0]
        steady = odd & (self.h.hour_hosts[device, self.t] <= FEW_HOSTS) & (sent <= ALWAYS_ON_MAX_TX_H)
        return int(steady.sum()) >= ALWAYS_ON_MIN_NEW and _regular(
            self.h.hour_flows[device, self.t, steady].astype(np.float64)
        )

    def _not_a_download(self, device: int) -> bool:
        """A PC left on all night to fetch a game moves gigabytes; a miner's traffic is small."""
        total = self.h.total_bytes
        if not total.size:
            return True
        base = self._baseline_days(np.array([device]))[0]
        normal = float(np.median(total[device, :-1][base])) if base.any() else 0.0
        return float(total[device, self.t]) <= max(ALWAYS_ON_MAX_BYTES_RATIO * normal, float(GB))

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
    spam = detector.smtp()
    attacks = detector.scanning() | detector.ddos()
    rose = detector.upload(attacks)
    detector.drift(rose | attacks)
    detector.rhythm(attacks | spam | rose)
    detector.silent()
    return detector.findings


def rank(findings: Iterable[Finding], day: date, feedback: FeedbackIndex | None = None) -> list[Entry]:
    """Homes ranked by their strongest finding (plus a quarter of the others), after feedback."""
    index = feedback or FeedbackIndex()
    by_home: dict[str, list[Finding]] = {}
    for item in findings:
        # Feedback given under an older MAC of a rotated device still counts.
        factor = next(
            (
                f
                for mac in (item.device, *item.aliases)
                if (f := index.factor(item.home, mac, item.kind, day)) != 1.0
            ),
            1.0,
        )
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
        Entry(
            i,
            home,
            score,
            items[0].device,
            items[0].device_name,
            items[0].kind,
            items[0].reason,
            items,
            items[0].next_step,
        )
        for i, (score, home, items) in enumerate(scored, start=1)
    ]


def daily_list(
    history: History, feedback: FeedbackIndex | None = None, top: int | None = None
) -> list[Entry]:
    entries = rank(detect(history), history.day, feedback)
    return entries[:top] if top else entries
