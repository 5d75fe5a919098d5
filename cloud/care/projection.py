"""Where a cycle will end: the usage so far plus the home's own daily rhythm for the days left.

projected = used + rate(today) x (share of today left) + sum over the remaining local days of
rate(weekday or weekend), where each rate is the trimmed mean of the home's last 14 full local days
of that type (the highest and lowest dropped). Trimmed means rather than medians: a new streaming
habit should count, one film marathon should not. The cap is reached where the running sum crosses
it, interpolated within the day. The same numbers give the text of a warning and, where the
overage would cost more than the next plan up, the offer (docs/care.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from protocol.cycles import zone

from .const import GB, PROJECTION_HISTORY_DAYS


@dataclass(frozen=True)
class Plan:
    name: str
    cap_gb: float
    price: float


@dataclass(frozen=True)
class Projection:
    now: datetime
    cycle_start: datetime
    cycle_end: datetime
    cap_bytes: int
    used_bytes: int
    projected_bytes: float
    #: When the running sum crosses the cap (None: not within this cycle).
    reach_at: datetime | None
    rate_weekday: float
    rate_weekend: float
    timezone: str

    @property
    def used_share(self) -> float:
        return self.used_bytes / self.cap_bytes

    @property
    def days_left(self) -> float:
        return max((self.cycle_end - self.now).total_seconds() / 86400, 0.0)


def _trimmed_mean(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) >= 5:
        ordered = ordered[1:-1]
    return sum(ordered) / len(ordered)


def project(
    hourly: Iterable[tuple[datetime, int]],
    *,
    now: datetime,
    cycle_start: datetime,
    cycle_end: datetime,
    cap_bytes: int,
    timezone: str = "UTC",
) -> Projection:
    """Project from hourly line totals (UTC hour, bytes) covering the cycle and the days before it."""
    zinfo = zone(timezone)
    today = now.astimezone(zinfo).date()
    days: dict[date, float] = {}
    used = 0
    first: date | None = None
    for hour, value in hourly:
        if hour > now:
            continue
        local = hour.astimezone(zinfo).date()
        first = local if first is None or local < first else first
        days[local] = days.get(local, 0.0) + value
        if cycle_start <= hour < cycle_end:
            used += value
    # Full days the home was reporting for: from the day after its first data, up to yesterday.
    start = max(today - timedelta(days=PROJECTION_HISTORY_DAYS), (first or today) + timedelta(days=1))
    weekday: list[float] = []
    weekend: list[float] = []
    day = start
    while day < today:
        (weekend if day.weekday() >= 5 else weekday).append(days.get(day, 0.0))
        day += timedelta(days=1)
    overall = _trimmed_mean(weekday + weekend)
    if overall is None:
        # Not one full day yet: the pace of the cycle so far.
        elapsed_d = max((now - cycle_start).total_seconds() / 86400, 1 / 24)
        overall = used / elapsed_d
    rate_wd = _trimmed_mean(weekday) if len(weekday) >= 3 else overall
    rate_we = _trimmed_mean(weekend) if len(weekend) >= 2 else overall
    rate_wd = overall if rate_wd is None else rate_wd
    rate_we = overall if rate_we is None else rate_we
    total = float(used)
    reach_at: datetime | None = now if used >= cap_bytes else None
    moment = now
    day = today
    while moment < cycle_end:
        day_end = min(datetime.combine(day + timedelta(days=1), time(), zinfo), cycle_end)
        rate = rate_we if day.weekday() >= 5 else rate_wd
        span_s = (day_end - moment).total_seconds()
        add = rate * span_s / 86400
        if reach_at is None and add > 0 and total + add >= cap_bytes:
            reach_at = moment + timedelta(seconds=span_s * (cap_bytes - total) / add)
        total += add
        moment = day_end
        day += timedelta(days=1)
    return Projection(
        now, cycle_start, cycle_end, cap_bytes, used, total, reach_at, rate_wd, rate_we, timezone
    )


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def gb_text(value: float) -> str:
    gb = value / GB
    return f"{gb:.0f}" if gb >= 10 else f"{gb:.1f}"


@dataclass(frozen=True)
class TopDevice:
    device: str
    label: str
    share: float
    top_class: str


def top_device(
    usage: Iterable[tuple[str, str, int]], labels: dict[str, str] | None = None
) -> TopDevice | None:
    """The device with most of the cycle's bytes, from (device, class, bytes) rows."""
    per_device: dict[str, dict[str, int]] = {}
    for device, cls, value in usage:
        classes = per_device.setdefault(device, {})
        classes[cls] = classes.get(cls, 0) + value
    grand = sum(sum(c.values()) for c in per_device.values())
    if grand <= 0:
        return None
    device, classes = max(per_device.items(), key=lambda item: (sum(item[1].values()), item[0]))
    label = (labels or {}).get(device, f"the device {device}")
    return TopDevice(device, label, sum(classes.values()) / grand, max(classes, key=lambda c: classes[c]))


def plan_offer(
    projection: Projection, plans: Sequence[Plan], overage_price_per_gb: float, currency: str
) -> str | None:
    """The next plan up, when the projected overage would cost more than the step to it."""
    over_gb = math.ceil(max(projection.projected_bytes - projection.cap_bytes, 0) / GB)
    if over_gb <= 0 or overage_price_per_gb <= 0:
        return None
    current = next((p for p in plans if round(p.cap_gb * GB) == projection.cap_bytes), None)
    bigger = sorted((p for p in plans if p.cap_gb * GB > projection.cap_bytes), key=lambda p: p.cap_gb)
    if current is None or not bigger:
        return None
    nxt = bigger[0]
    overage = over_gb * overage_price_per_gb
    step = nxt.price - current.price
    if overage <= step:
        return None
    return (
        f"At this pace the overage (about {over_gb} GB) would cost {currency} {overage:.2f}; the "
        f"{nxt.name} plan ({nxt.cap_gb:g} GB) costs {currency} {step:.2f} more a month."
    )


def warning_text(
    projection: Projection, threshold: int | None, top: TopDevice | None, offer: str | None
) -> tuple[str, str]:
    """(subject, body) of a cap warning; ``threshold`` None is the early "you will reach it" one."""
    cap = f"{gb_text(projection.cap_bytes)} GB cap"
    zinfo = zone(projection.timezone)
    parts: list[str] = []
    if threshold is None:
        subject = f"You are on course to reach your {cap}"
    elif threshold >= 100:
        subject = f"You have reached your {cap}"
        parts.append(f"You have used {gb_text(projection.used_bytes)} GB of your {cap}.")
    else:
        subject = f"You have used {threshold}% of your {cap}"
        parts.append(
            f"You have used {threshold}% of your {cap} ({gb_text(projection.used_bytes)} GB), with "
            f"{projection.days_left:.0f} days left in this cycle."
        )
    pace = ""
    if projection.reach_at is not None and projection.used_bytes < projection.cap_bytes:
        day = projection.reach_at.astimezone(zinfo).day
        pace = f"At this pace you will reach your {cap} around the {ordinal(day)}"
    elif projection.used_bytes < projection.cap_bytes:
        pace = (
            f"At this pace you will use about {gb_text(projection.projected_bytes)} GB by the end of "
            "the cycle"
        )
    device = ""
    if top is not None:
        device = (
            f"your {top.label.removeprefix('the ')} used {top.share:.0%} of this cycle's traffic, "
            f"mostly {top.top_class}"
        )
    if pace and device:
        parts.append(f"{pace}; {device}.")
    elif pace or device:
        sentence = pace or device
        parts.append(sentence[0].upper() + sentence[1:] + ".")
    if offer:
        parts.append(offer)
    return subject, " ".join(parts)
