"""Synthetic homes for proactive care: labelled households and incidents as hourly records.

Used by the evaluation harness (tests/bench/eval_care.py), the tests and the CLI test. Every
number is a plausible order of magnitude, not a measurement: a TV streams a few GB in the evening,
a camera uploads a steady 0.2 GB a day, a printer chatters a little every hour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from cloud.care.records import HourRecord

GB = 10**9
MB = 10**6
TARGET = date(2026, 11, 20)  # a Friday
WINDOW = 28
DAYS = WINDOW + 1

HOUSEHOLDS = ("family", "home_office", "gamer", "holiday", "streaming", "bank_holiday", "backup")
INCIDENTS = ("spambot", "upload", "gone_dark", "drift")


@dataclass
class Device:
    mac: str
    kind: str
    name: str
    #: class -> arrays (DAYS, 24) of rx, tx, flows, hosts, smtp
    traffic: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, cls: str, rx: np.ndarray, tx: np.ndarray, flows: np.ndarray, hosts: np.ndarray) -> None:
        cur = self.traffic.setdefault(cls, np.zeros((5, DAYS, 24)))
        cur[0] += rx
        cur[1] += tx
        cur[2] += flows
        cur[3] += hosts


@dataclass
class Home:
    home_id: str
    household: str
    devices: list[Device]
    incident: str | None = None
    incident_device: str | None = None


def _weekend(first: date) -> np.ndarray:
    return np.array([(first + timedelta(days=i)).weekday() >= 5 for i in range(DAYS)])


FIRST = TARGET - timedelta(days=WINDOW)
WEEKEND = _weekend(FIRST)


def _profile(
    rng: np.random.Generator,
    hours_wd: list[int],
    hours_we: list[int],
    daily: float,
    spread: float = 0.35,
    weekend_factor: float = 1.0,
) -> np.ndarray:
    """(DAYS, 24) bytes-or-counts: a day total around ``daily`` spread over the active hours."""
    out = np.zeros((DAYS, 24))
    for d in range(DAYS):
        hours = hours_we if WEEKEND[d] else hours_wd
        if not hours:
            continue
        total = daily * (weekend_factor if WEEKEND[d] else 1.0) * rng.lognormal(0, spread)
        weights = rng.dirichlet(np.full(len(hours), 2.0))
        out[d, hours] = total * weights
    return out


def _mac(rng: np.random.Generator) -> str:
    return "02:" + ":".join(f"{b:02x}" for b in rng.integers(0, 256, 5))


EVENING = list(range(18, 24))
DAYTIME = list(range(9, 18))
WAKING = list(range(7, 24))
ALL = list(range(24))


def _phone(rng: np.random.Generator, n: int) -> Device:
    dev = Device(_mac(rng), "phone", f"Phone {n}")
    rx = _profile(rng, WAKING, WAKING, rng.uniform(0.1, 0.4) * GB)
    dev.add("web", rx, rx * 0.08, rx / MB * 0.6, rx / MB * 0.2)
    video = _profile(rng, EVENING, WAKING, rng.uniform(0.1, 0.6) * GB, spread=0.6)
    dev.add("video", video, video * 0.015, video / MB * 0.05, video / MB * 0.01)
    return dev


def _pc(rng: np.random.Generator, office: bool) -> Device:
    dev = Device(_mac(rng), "pc", f"DESKTOP-{rng.integers(1, 99)}")
    rx = _profile(rng, DAYTIME + EVENING if office else EVENING, WAKING, rng.uniform(0.3, 1.0) * GB)
    dev.add("web", rx, rx * 0.06, rx / MB * 0.5, rx / MB * 0.15)
    if office:
        calls = _profile(rng, DAYTIME, [], rng.uniform(0.3, 0.8) * GB)
        dev.add("calls", calls, calls * 0.9, calls / MB * 0.02, calls / MB * 0.01)
    mail = _profile(rng, WAKING, WAKING, 5 * MB)
    dev.add("mail", mail, mail * 0.3, mail / MB * 2, mail / MB * 0.5)
    return dev


def _tv(rng: np.random.Generator, daily_gb: float) -> Device:
    dev = Device(_mac(rng), "tv", str(rng.choice(["Living-room TV", "Bedroom TV"])))
    rx = _profile(rng, [19, 20, 21, 22, 23], list(range(14, 24)), daily_gb * GB, weekend_factor=1.6)
    dev.add("video", rx, rx * 0.015, rx / MB * 0.02, rx / MB * 0.005)
    return dev


def _camera(rng: np.random.Generator) -> Device:
    dev = Device(_mac(rng), "camera", str(rng.choice(["Garden cam", "Door cam"])))
    tx = np.full((DAYS, 24), rng.uniform(0.1, 0.3) * GB / 24) * rng.lognormal(0, 0.1, (DAYS, 24))
    dev.add("other", tx * 0.05, tx, np.full((DAYS, 24), 4.0), np.full((DAYS, 24), 1.0))
    return dev


def _printer(rng: np.random.Generator) -> Device:
    dev = Device(_mac(rng), "printer", str(rng.choice(["HP LaserJet", "Brother"])))
    ones = np.ones((DAYS, 24))
    dev.add("other", ones * 20_000, ones * 8_000, ones * 2, ones)
    return dev


def _console(rng: np.random.Generator) -> Device:
    dev = Device(_mac(rng), "console", "PlayStation")
    rx = _profile(rng, [19, 20, 21, 22], list(range(12, 24)), rng.uniform(0.3, 1.0) * GB, weekend_factor=2.0)
    dev.add("gaming", rx, rx * 0.3, rx / MB * 0.2, rx / MB * 0.05)
    return dev


def make_home(rng: np.random.Generator, index: int, household: str) -> Home:
    devices = [_phone(rng, i + 1) for i in range(int(rng.integers(1, 4)))]
    devices.append(_pc(rng, office=household == "home_office"))
    devices.append(_tv(rng, rng.uniform(1.0, 3.0)))
    if household == "gamer":
        devices.append(_console(rng))
    if rng.random() < 0.6:
        devices.append(_printer(rng))
    if rng.random() < 0.5:
        devices.append(_camera(rng))
    home = Home(f"home-{index:05d}", household, devices)
    if household == "holiday":
        # Away for 6-12 days, back 1-6 days before the day under test: only always-on devices talk.
        back = DAYS - 1 - int(rng.integers(1, 7))
        away = slice(max(back - int(rng.integers(6, 13)), 0), back)
        for dev in devices:
            if dev.kind not in ("camera", "printer"):
                for arr in dev.traffic.values():
                    arr[:, away, :] = 0
    elif household == "streaming":
        # A new habit: the TV streams five times as much for the last 4-12 days, and a new stick.
        start = DAYS - int(rng.integers(4, 13))
        for arr in next(d for d in devices if d.kind == "tv").traffic.values():
            arr[:, start:, :] *= 5
        stick = Device(_mac(rng), "tv", "Streaming stick")
        rx = _profile(rng, EVENING, list(range(12, 24)), 6 * GB)
        rx[:start] = 0
        stick.add("video", rx, rx * 0.015, rx / MB * 0.02, rx / MB * 0.005)
        devices.append(stick)
    elif household == "backup":
        # A weekly cloud backup of 2-5 GB at night, and the day under test is a backup day.
        pc = next(d for d in devices if d.kind == "pc")
        size = rng.uniform(2.0, 5.0) * GB
        up = np.zeros((DAYS, 24))
        for d in range(DAYS - 1, -1, -7):
            up[d, 1:4] = size / 3 * rng.lognormal(0, 0.15, 3)
        pc.add("web", up * 0.02, up, (up > 0) * 40.0, (up > 0) * 2.0)
    elif household == "bank_holiday":
        # The day under test is a weekday off: everyone home, weekend rhythm, more of everything.
        for dev in devices:
            for arr in dev.traffic.values():
                weekend_day = arr[:, DAYS - 2, :] if WEEKEND[DAYS - 2] else arr[:, DAYS - 6, :]
                arr[:, -1, :] = weekend_day * 1.3
    return home


def inject(rng: np.random.Generator, home: Home, incident: str) -> None:
    home.incident = incident
    if incident == "spambot":
        pc = next(d for d in home.devices if d.kind == "pc")
        mail = pc.traffic["mail"]
        n = rng.uniform(1500, 6000)
        hours = rng.dirichlet(np.full(24, 3.0)) * n
        mail[4, -1, :] += np.round(hours)
        mail[2, -1, :] += np.round(hours)
        mail[1, -1, :] += hours * 30_000
        home.incident_device = pc.mac
    elif incident == "upload":
        target = next((d for d in home.devices if d.kind == "camera"), None) or next(
            d for d in home.devices if d.kind == "pc"
        )
        start = DAYS - 1 - int(rng.integers(0, 4))
        per_hour = rng.uniform(2.0, 9.0) * GB / 24
        target.add(
            "other", np.zeros((DAYS, 24)), np.zeros((DAYS, 24)), np.zeros((DAYS, 24)), np.zeros((DAYS, 24))
        )
        target.traffic["other"][1, start:, :] += per_hour * rng.lognormal(0, 0.1, (DAYS - start, 24))
        target.traffic["other"][2, start:, :] += 30
        home.incident_device = target.mac
    elif incident == "gone_dark":
        dark = next((d for d in home.devices if d.kind in ("printer", "camera")), None)
        if dark is None:
            dark = _printer(rng)
            home.devices.append(dark)
        target = dark
        days = int(rng.integers(3, 5))
        for arr in target.traffic.values():
            arr[:, DAYS - days :, :] = 0
        home.incident_device = target.mac
    elif incident == "drift":
        target = next((d for d in home.devices if d.kind == "camera"), None) or next(
            d for d in home.devices if d.kind == "pc"
        )
        ramp_days = 21
        extra = np.linspace(0, rng.uniform(2.0, 4.0) * GB, ramp_days) / 24
        target.add(
            "other", np.zeros((DAYS, 24)), np.zeros((DAYS, 24)), np.zeros((DAYS, 24)), np.zeros((DAYS, 24))
        )
        target.traffic["other"][1, DAYS - ramp_days :, :] += extra[:, None]
        target.traffic["other"][2, DAYS - ramp_days :, :] += 10
        home.incident_device = target.mac
    else:
        raise ValueError(incident)


def records(home: Home) -> list[HourRecord]:
    out: list[HourRecord] = []
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    for dev in home.devices:
        for cls, arr in dev.traffic.items():
            values = np.round(arr).astype(np.int64)
            active = np.argwhere(values.sum(axis=0) > 0)
            for d, h in active:
                rx, tx, flows, hosts, smtp = (int(v) for v in values[:, d, h])
                out.append(
                    HourRecord(
                        home=home.home_id,
                        device=dev.mac,
                        traffic_class=cls,  # type: ignore[arg-type]
                        hour=start + timedelta(days=int(d), hours=int(h)),
                        bytes_rx=rx,
                        bytes_tx=tx,
                        flows=max(flows, 1) if rx + tx > 0 else flows,
                        remote_hosts=hosts,
                        smtp_connections=smtp,
                        device_name=dev.name,
                        device_kind=dev.kind,
                    )
                )
    return out


def fleet(n: int, incident_share: float = 0.2, seed: int = 7) -> list[Home]:
    """``n`` homes of every household kind, ``incident_share`` of them with one incident each."""
    rng = np.random.default_rng(seed)
    homes = [make_home(rng, i, HOUSEHOLDS[i % len(HOUSEHOLDS)]) for i in range(n)]
    chosen = rng.choice(n, size=round(n * incident_share), replace=False)
    for k, i in enumerate(sorted(chosen)):
        inject(rng, homes[i], INCIDENTS[k % len(INCIDENTS)])
    return homes
