"""Each home's normal: robust statistics of the last four weeks, split into weekdays and weekends.

Medians and MADs rather than means and deviations, because a week of odd traffic (guests, a sick
day) must not move "normal". Hours of the day are pooled over the days of the same type (the five
weekdays, the two weekend days), which gives 20 or 8 samples per hour instead of 4 per hour of the
week. Days on which the whole home was nearly silent (a holiday away) are left out of every
baseline, and the detector scores a day against both day types, so a public holiday that looks
like a Sunday is normal (see docs/care.md).

Everything is arrays: one row per series (a device's upload of one class, a device's SMTP
connections), so a day for 100,000 homes is a handful of vector operations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from .const import AWAY_SHARE, MAD_TO_SIGMA, SMTP_MIN_EXCESS, UPLOAD_MIN_EXCESS_BYTES, WINDOW_DAYS
from .identity import Sighting, merge_rotations
from .records import HourRecord

FloatArray = npt.NDArray[np.floating[Any]]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass
class History:
    """The window as arrays: ``days`` = the baseline days then the day under test (index -1)."""

    day: date
    days: int
    weekend: BoolArray  # (days,)
    homes: list[str]
    devices: list[str]
    device_home: IntArray  # (devices,)
    device_names: list[str | None]
    device_kinds: list[str | None]
    upload_device: IntArray  # (series,)
    upload_class: list[str]
    upload: FloatArray  # (series, days, 24) bytes sent per hour
    smtp: FloatArray  # (devices, days) SMTP connections per day
    flows: FloatArray  # (devices, days) flows per day: a device with none was silent
    total_bytes: FloatArray = field(default_factory=lambda: np.zeros(0))  # (devices, days) rx + tx
    #: (devices, days, 24) flows and remote hosts per hour, float32; None: the hourly detectors
    #: (scanning, DDoS, always-on, beaconing) are skipped.
    hour_flows: FloatArray | None = None
    hour_hosts: FloatArray | None = None
    #: The older MACs each device rotated through (empty when it kept one).
    device_aliases: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def target(self) -> int:
        return self.days - 1


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _identities(records: Sequence[HourRecord], first: datetime, n_hours: int) -> dict[tuple[str, str], str]:
    """(home, MAC) -> the MAC of its device after MAC rotations (cloud/care/identity.py)."""
    seen: dict[tuple[str, str], list[Any]] = {}
    for r in records:
        offset_h = int((r.hour - first).total_seconds()) // 3600
        if not 0 <= offset_h < n_hours:
            continue
        item = seen.get((r.home, r.device))
        if item is None:
            item = seen[(r.home, r.device)] = [r.hour, r.hour, None, None, None, set(), set(), r.hour]
        item[0], item[1] = min(item[0], r.hour), max(item[1], r.hour)
        if r.device_name and r.hour >= item[7]:
            item[2], item[7] = r.device_name, r.hour
        item[3] = item[3] or r.device_kind
        item[4] = r.mac_randomized if r.mac_randomized is not None else item[4]
        item[5].update(r.device_instances or ())
        item[6].update(r.device_services or ())
    by_home: dict[str, list[Sighting]] = {}
    for (home, mac), (lo, hi, name, kind, rnd, inst, svc, _) in seen.items():
        by_home.setdefault(home, []).append(
            Sighting(mac, lo, hi, name, kind, rnd, frozenset(inst), frozenset(svc))
        )
    out: dict[tuple[str, str], str] = {}
    for home, sightings in by_home.items():
        if len(sightings) > 1:
            for mac, canonical in merge_rotations(sightings).items():
                out[(home, mac)] = canonical
    return out


def history_from_records(records: Iterable[HourRecord], day: date, window_days: int = WINDOW_DAYS) -> History:
    """Arrange records into a History for ``day`` (UTC); records outside the window are ignored.

    A device is a MAC, or the MACs one device rotated through (identity.py): its history is theirs
    together, under its newest MAC and name, with the older MACs in ``device_aliases``.
    """
    first = day_start(day) - timedelta(days=window_days)
    n_days = window_days + 1
    records = list(records)
    canonical = _identities(records, first, n_days * 24)
    homes: dict[str, int] = {}
    devices: dict[tuple[int, str], int] = {}
    names: list[str | None] = []
    name_hours: list[datetime] = []
    kinds: list[str | None] = []
    aliases: list[set[str]] = []
    series: dict[tuple[int, str], int] = {}
    s_idx: list[int] = []
    d_idx: list[int] = []
    h_idx: list[int] = []
    tx: list[int] = []
    smtp: list[int] = []
    flows: list[int] = []
    hosts: list[int] = []
    total: list[int] = []
    for record in records:
        offset_h = int((record.hour - first).total_seconds()) // 3600
        if not 0 <= offset_h < n_days * 24:
            continue
        home = homes.setdefault(record.home, len(homes))
        mac = canonical.get((record.home, record.device), record.device)
        device = devices.setdefault((home, mac), len(devices))
        if device == len(names):
            names.append(record.device_name)
            name_hours.append(record.hour)
            kinds.append(record.device_kind)
            aliases.append(set())
        else:
            # The newest name counts: a device renamed yesterday is called by its new name.
            if record.device_name and (names[device] is None or record.hour >= name_hours[device]):
                names[device], name_hours[device] = record.device_name, record.hour
            kinds[device] = kinds[device] or record.device_kind
        if record.device != mac:
            aliases[device].add(record.device)
        s_idx.append(series.setdefault((device, record.traffic_class), len(series)))
        d_idx.append(device)
        h_idx.append(offset_h)
        tx.append(record.bytes_tx)
        smtp.append(record.smtp_connections)
        flows.append(record.flows)
        hosts.append(record.remote_hosts)
        total.append(record.bytes_rx + record.bytes_tx)
    n_dev, n_series = len(devices), len(series)
    hours = np.asarray(h_idx, dtype=np.int64)
    dev = np.asarray(d_idx, dtype=np.int64)
    ser = np.asarray(s_idx, dtype=np.int64)
    upload = (
        np.bincount(
            ser * n_days * 24 + hours,
            weights=np.asarray(tx, dtype=np.float64),
            minlength=n_series * n_days * 24,
        )
        .reshape(n_series, n_days, 24)
        .astype(np.float64)
    )

    def per_device_day(values: list[int]) -> FloatArray:
        flat = dev * n_days + hours // 24
        return (
            np.bincount(flat, weights=np.asarray(values, dtype=np.float64), minlength=n_dev * n_days)
            .reshape(n_dev, n_days)
            .astype(np.float64)
        )

    def per_device_hour(values: list[int]) -> FloatArray:
        flat = dev * n_days * 24 + hours
        return (
            np.bincount(flat, weights=np.asarray(values, dtype=np.float64), minlength=n_dev * n_days * 24)
            .reshape(n_dev, n_days, 24)
            .astype(np.float32)
        )

    device_home = np.zeros(n_dev, dtype=np.int64)
    device_macs = [""] * n_dev
    for (home, mac), index in devices.items():
        device_home[index] = home
        device_macs[index] = mac
    upload_device = np.zeros(n_series, dtype=np.int64)
    upload_class = [""] * n_series
    for (device, cls), index in series.items():
        upload_device[index] = device
        upload_class[index] = cls
    weekend = np.array([(first + timedelta(days=i)).weekday() >= 5 for i in range(n_days)])
    return History(
        day=day,
        days=n_days,
        weekend=weekend,
        homes=list(homes),
        devices=device_macs,
        device_home=device_home,
        device_names=names,
        device_kinds=kinds,
        upload_device=upload_device,
        upload_class=upload_class,
        upload=upload,
        smtp=per_device_day(smtp),
        flows=per_device_day(flows),
        total_bytes=per_device_day(total),
        hour_flows=per_device_hour(flows),
        hour_hosts=per_device_hour(hosts),
        device_aliases=[tuple(sorted(a)) for a in aliases],
    )


def _middle(ordered: FloatArray, count: IntArray) -> FloatArray:
    """Median of rows sorted along the last axis whose first ``count`` entries are the valid ones."""
    lo = np.maximum((count - 1) // 2, 0)[..., None]
    hi = np.maximum(count // 2, 0)[..., None]
    low = np.take_along_axis(ordered, lo, axis=-1)[..., 0]
    high = np.take_along_axis(ordered, hi, axis=-1)[..., 0]
    return np.where(count == 0, np.nan, 0.5 * (low + high))


def robust_last(values: FloatArray, valid: BoolArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """(median, sigma = 1.4826 * MAD, count) along the last axis over the valid entries only.

    ``valid`` broadcasts against ``values``. Invalid entries become +inf and sort to the end, so
    the median is the middle of the first ``count``; the deviations of the sorted rows are sorted
    again for the MAD. In-place float32 sorts along the contiguous axis: several times faster than
    nanmedian, which matters at 100,000 homes.
    """
    work = np.where(valid, values, np.inf).astype(np.float32, copy=False)
    count = np.broadcast_to(valid, values.shape).sum(axis=-1)
    work.sort(axis=-1)
    median = _middle(work, count)
    np.subtract(work, median[..., None].astype(np.float32), out=work)
    np.abs(work, out=work)
    work.sort(axis=-1)
    spread = _middle(work, count)
    return median.astype(np.float64), MAD_TO_SIGMA * spread.astype(np.float64), count.astype(np.int64)


def masked_median(values: FloatArray, valid: BoolArray) -> tuple[FloatArray, IntArray]:
    """Median along the last axis over the valid entries only (NaN where none), and their count."""
    median, _sigma, count = robust_last(values, valid)
    return median, count


def robust(values: FloatArray, valid: BoolArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """(median, sigma, count) of 2-D (series, days) arrays along the days."""
    return robust_last(values, valid)


@dataclass
class Baseline:
    """Per series and day type (0 weekday, 1 weekend): medians, sigmas and how many days they saw."""

    away: BoolArray  # (homes, days): the home was nearly silent (left out of baselines)
    upload_hour_median: FloatArray  # (series, 2, 24)
    upload_hour_sigma: FloatArray  # (series, 2, 24)
    upload_days: IntArray  # (series, 2)
    device_upload_median: FloatArray  # (devices, 2) bytes a day
    device_upload_sigma: FloatArray  # (devices, 2)
    smtp_median: FloatArray  # (devices, 2) connections a day
    smtp_sigma: FloatArray  # (devices, 2)
    device_days: IntArray  # (devices, 2)


def per_device(history: History, per_series: FloatArray) -> FloatArray:
    """Sum (series, days) rows into (devices, days); bincount, since ufunc.at is slow."""
    n_dev, days = len(history.devices), per_series.shape[1]
    flat = (history.upload_device[:, None] * days + np.arange(days)[None, :]).ravel()
    summed = np.bincount(flat, weights=per_series.ravel(), minlength=n_dev * days)
    return summed.reshape(n_dev, days).astype(np.float64)


def per_home(history: History, per_device_day: FloatArray) -> FloatArray:
    n_homes, days = len(history.homes), per_device_day.shape[1]
    flat = (history.device_home[:, None] * days + np.arange(days)[None, :]).ravel()
    summed = np.bincount(flat, weights=per_device_day.ravel(), minlength=n_homes * days)
    return summed.reshape(n_homes, days).astype(np.float64)


def home_away(history: History) -> BoolArray:
    """Days on which a home's activity was below AWAY_SHARE of its median day (holidays away)."""
    n_homes = len(history.homes)
    activity = per_home(history, history.flows)
    baseline_days = np.ones((n_homes, history.days - 1), dtype=bool)
    median, _ = masked_median(activity[:, :-1], baseline_days)
    return np.asarray(activity < AWAY_SHARE * median[:, None])


def candidates(history: History) -> BoolArray:
    """Devices whose day under test could be an upload or SMTP finding at all.

    Both findings need at least their minimum excess *on that day* (1 GB sent, 100 SMTP
    connections), so a device below it cannot be one whatever its baseline says. Baselines are
    computed for these devices only: the daily cost follows the busy devices, not all of them.
    """
    today_upload = per_device(history, history.upload[:, -1:, :].sum(axis=2))[:, 0]
    return np.asarray((today_upload >= UPLOAD_MIN_EXCESS_BYTES) | (history.smtp[:, -1] >= SMTP_MIN_EXCESS))


def build_baseline(history: History, devices: BoolArray | None = None) -> Baseline:
    """Baselines for ``devices`` (a mask; default every device); the others' are NaN."""
    away = home_away(history)
    base = ~away[:, :-1]  # the day under test is never part of its own baseline
    n_series, n_dev = len(history.upload_class), len(history.devices)
    wanted = np.ones(n_dev, dtype=bool) if devices is None else devices
    dev_rows = np.flatnonzero(wanted)
    series_rows = np.flatnonzero(wanted[history.upload_device])
    upload_valid = base[history.device_home[history.upload_device[series_rows]]]
    device_valid = base[history.device_home[dev_rows]]
    device_upload = per_device(history, history.upload.sum(axis=2))[dev_rows]
    smtp = history.smtp[dev_rows]
    # (series, hour, day): the days contiguous, so each hour's days sort in place.
    by_hour = np.ascontiguousarray(history.upload[series_rows].transpose(0, 2, 1), dtype=np.float32)
    hour_median = np.full((n_series, 2, 24), np.nan)
    hour_sigma = np.full((n_series, 2, 24), np.nan)
    upload_days = np.zeros((n_series, 2), dtype=np.int64)
    dev_median = np.full((n_dev, 2), np.nan)
    dev_sigma = np.full((n_dev, 2), np.nan)
    smtp_median = np.full((n_dev, 2), np.nan)
    smtp_sigma = np.full((n_dev, 2), np.nan)
    device_days = np.zeros((n_dev, 2), dtype=np.int64)
    for day_type in (0, 1):
        days = np.flatnonzero(history.weekend[:-1] == bool(day_type))
        m, s, c = robust_last(by_hour[:, :, days], upload_valid[:, None, days])
        hour_median[series_rows, day_type], hour_sigma[series_rows, day_type] = m, s
        upload_days[series_rows, day_type] = c[:, 0]
        m, s, c = robust(device_upload[:, days], device_valid[:, days])
        dev_median[dev_rows, day_type], dev_sigma[dev_rows, day_type], device_days[dev_rows, day_type] = (
            m,
            s,
            c,
        )
        m, s, _ = robust(smtp[:, days], device_valid[:, days])
        smtp_median[dev_rows, day_type], smtp_sigma[dev_rows, day_type] = m, s
    return Baseline(
        away=away,
        upload_hour_median=hour_median,
        upload_hour_sigma=hour_sigma,
        upload_days=upload_days,
        device_upload_median=dev_median,
        device_upload_sigma=dev_sigma,
        smtp_median=smtp_median,
        smtp_sigma=smtp_sigma,
        device_days=device_days,
    )
