"""A labelled world for the daily list that the detector's rules were not written against (issue 20).

Households of several kinds in several time zones (some crossing a daylight-saving change in the
window), weekday and weekend rhythms, holidays away, phones whose randomised MAC rotates, guests'
phones; each device's hours are drawn from its own activity profile in local time, so noise is in
*when* as well as *how much*. Incidents: every finding kind the daily list must catch. Traps: every
change it must not list. ``world(n, seed)`` -> homes; ``records(home)`` -> HourRecords.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np

from cloud.care.records import HourRecord

GB = 10**9
MB = 10**6
KB = 10**3
TARGET = date(2026, 11, 20)  # a Friday
WINDOW = 28
DAYS = WINDOW + 1
FIRST = TARGET - timedelta(days=WINDOW)
#: Local days: one more than the UTC window, so every UTC hour of the day under test has its
#: local hour whatever the time zone (local day i is FIRST + i).
LDAYS = DAYS + 1
WEEKEND = np.array([(FIRST + timedelta(days=i)).weekday() >= 5 for i in range(LDAYS)])

INCIDENTS = ("spambot", "scanning", "ddos", "miner", "beaconing", "exfiltration", "drift", "gone_dark")
#: The finding kind that names each incident (drift may show as a rise when it is steep).
EXPECTED = {
    "spambot": {"smtp_burst"},
    "scanning": {"scanning"},
    "ddos": {"ddos"},
    "miner": {"always_on"},
    "beaconing": {"beaconing"},
    "exfiltration": {"upload_rise"},
    "drift": {"upload_drift", "upload_rise"},
    "gone_dark": {"silent"},
}
TRAPS = (
    "none",
    "backup",
    "holiday",
    "streaming",
    "gaming",
    "download",
    "guest",
    "renamed",
    "dst",
    "rotation",
)
ZONES = (-8, -6, -5, 0, 0, 1, 1, 2, 3, 8, 9)
CHANNELS = 5  # rx, tx, flows, hosts, smtp


@dataclass
class Device:
    mac: str
    kind: str
    name: str
    #: class -> (CHANNELS, DAYS, 24) in the home's *local* hours
    traffic: dict[str, np.ndarray] = field(default_factory=dict)
    #: (day from which this MAC is used, MAC, name): a rotation or a rename in the window
    changes: list[tuple[int, str, str]] = field(default_factory=list)
    instance: str | None = None

    def channel(self, cls: str) -> np.ndarray:
        return self.traffic.setdefault(cls, np.zeros((CHANNELS, LDAYS, 24)))


@dataclass
class Home:
    home_id: str
    household: str
    offset_h: int
    devices: list[Device]
    trap: str = "none"
    incident: str | None = None
    incident_device: str | None = None
    #: From this day on the home's offset is offset_h - 1 (a daylight-saving change), or None.
    dst_day: int | None = None

    def utc_day(self) -> np.ndarray:
        """(LDAYS, 24): the UTC day index (0 = FIRST) of every local hour."""
        offsets = np.full(LDAYS, self.offset_h)
        if self.dst_day is not None:
            offsets[self.dst_day :] -= 1
        return np.asarray((np.arange(LDAYS)[:, None] * 24 + np.arange(24)[None, :] - offsets[:, None]) // 24)

    def since(self, days_ago: int) -> np.ndarray:
        """(LDAYS, 24) mask of the local hours in the last ``days_ago`` + 1 UTC days of the window."""
        day = self.utc_day()
        return (day >= DAYS - 1 - days_ago) & (day <= DAYS - 1)


def _mac(rng: np.random.Generator, randomized: bool) -> str:
    first = int(rng.integers(0, 64)) * 4 + (2 if randomized else 0)
    return f"{first:02x}:" + ":".join(f"{b:02x}" for b in rng.integers(0, 256, 5))


def _hours(rng: np.random.Generator, wd: np.ndarray, we: np.ndarray) -> np.ndarray:
    """(LDAYS, 24) activity drawn from per-hour probabilities, weekday and weekend."""
    p = np.where(WEEKEND[:, None], we[None, :], wd[None, :])
    # Some days start or end an hour early or late: people are not clocks.
    shift = rng.integers(-1, 2, LDAYS)
    p = np.array([np.roll(row, s) for row, s in zip(p, shift, strict=True)])
    return rng.random((LDAYS, 24)) < p


def _profile(hours: list[int], p: float, rest: float = 0.0) -> np.ndarray:
    out = np.full(24, rest)
    out[hours] = p
    return out


def _fill(
    rng: np.random.Generator,
    dev: Device,
    cls: str,
    active: np.ndarray,
    rx: float,
    tx: float,
    flows: float,
    hosts: float,
    spread: float = 0.5,
) -> None:
    arr = dev.channel(cls)
    level = rng.lognormal(0, spread, (LDAYS, 24)) * active
    arr[0] += rx * level
    arr[1] += tx * level
    arr[2] += np.ceil(flows * rng.lognormal(0, 0.3, (LDAYS, 24)) * active)
    arr[3] += np.ceil(hosts * rng.lognormal(0, 0.3, (LDAYS, 24)) * active)


WAKING = list(range(7, 24))
EVENING = list(range(18, 24))
OFFICE = list(range(8, 18))
NAMES = ("Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo")


def _phone(rng: np.random.Generator, owner: str) -> Device:
    generic = rng.random() < 0.2
    name = "iPhone" if generic else f"{owner}s-{rng.choice(['iPhone', 'Galaxy', 'Pixel'])}"
    dev = Device(_mac(rng, True), "phone", name, instance=f"{owner}'s phone" if generic else None)
    active = _hours(rng, _profile(WAKING, 0.75, 0.08), _profile(list(range(9, 24)), 0.75, 0.08))
    _fill(rng, dev, "web", active, rx=rng.uniform(5, 30) * MB, tx=1.5 * MB, flows=30, hosts=12)
    video = _hours(rng, _profile(EVENING, 0.3), _profile(list(range(10, 24)), 0.3))
    _fill(rng, dev, "video", video, rx=rng.uniform(100, 400) * MB, tx=3 * MB, flows=6, hosts=2)
    return dev


def _pc(rng: np.random.Generator, office: bool) -> Device:
    dev = Device(_mac(rng, False), "pc", f"DESKTOP-{rng.integers(1, 99)}")
    wd = _profile(OFFICE + EVENING if office else EVENING, 0.8)
    active = _hours(rng, wd, _profile(list(range(10, 24)), 0.5))
    # Left on some nights (updates, a forgotten download): a little noise in the quiet hours.
    active |= rng.random((LDAYS, 24)) < 0.015
    _fill(rng, dev, "web", active, rx=rng.uniform(30, 200) * MB, tx=5 * MB, flows=60, hosts=20)
    _fill(
        rng, dev, "mail", active & (rng.random((LDAYS, 24)) < 0.5), rx=1 * MB, tx=0.3 * MB, flows=3, hosts=1
    )
    if office:
        calls = _hours(rng, _profile(list(range(9, 17)), 0.4), np.zeros(24))
        _fill(rng, dev, "calls", calls, rx=300 * MB, tx=250 * MB, flows=4, hosts=2)
    return dev


def _tv(rng: np.random.Generator) -> Device:
    dev = Device(_mac(rng, False), "tv", str(rng.choice(["Living-room TV", "Bedroom TV"])))
    active = _hours(rng, _profile([19, 20, 21, 22], 0.7), _profile(list(range(14, 24)), 0.6))
    _fill(rng, dev, "video", active, rx=rng.uniform(0.8, 2.0) * GB, tx=15 * MB, flows=10, hosts=3)
    return dev


def _always(rng: np.random.Generator, kind: str, name: str, tx: float, flows: float, hosts: float) -> Device:
    dev = Device(_mac(rng, False), kind, name)
    active = rng.random((LDAYS, 24)) < (0.999 if kind == "camera" else 0.93)
    _fill(rng, dev, "other", active, rx=tx * 0.05 + 20 * KB, tx=tx, flows=flows, hosts=hosts, spread=0.15)
    return dev


def _camera(rng: np.random.Generator) -> Device:
    return _always(rng, "camera", str(rng.choice(["Garden cam", "Door cam"])), rng.uniform(4, 12) * MB, 6, 1)


def _printer(rng: np.random.Generator) -> Device:
    return _always(rng, "printer", str(rng.choice(["HP LaserJet", "Brother"])), 10 * KB, 2, 1)


def _speaker(rng: np.random.Generator) -> Device:
    return _always(rng, "speaker", "Echo Dot", 50 * KB, 8, 3)


def _console(rng: np.random.Generator, hours: list[int]) -> Device:
    dev = Device(_mac(rng, False), "console", "PlayStation")
    active = _hours(rng, _profile(hours, 0.5), _profile(list(range(12, 24)), 0.6))
    _fill(rng, dev, "gaming", active, rx=rng.uniform(50, 300) * MB, tx=20 * MB, flows=25, hosts=3)
    return dev


def make_home(rng: np.random.Generator, index: int, trap: str) -> Home:
    household = str(rng.choice(["family", "couple", "single", "home_office", "gamer"]))
    people = {"family": 4, "couple": 2, "single": 1, "home_office": 2, "gamer": 2}[household]
    owners = rng.choice(NAMES, people, replace=False)
    devices = [_phone(rng, str(o)) for o in owners]
    devices.append(_pc(rng, household == "home_office"))
    if rng.random() < 0.9:
        devices.append(_tv(rng))
    if household == "gamer":
        devices.append(_console(rng, [19, 20, 21, 22]))
    for make, share in ((_camera, 0.5), (_printer, 0.5), (_speaker, 0.4)):
        if rng.random() < share:
            devices.append(make(rng))
    home = Home(f"w-{index:05d}", household, int(rng.choice(ZONES)), devices, trap)
    _trap(rng, home, trap)
    return home


def _first(home: Home, *kinds: str) -> Device | None:
    return next((d for d in home.devices if d.kind in kinds), None)


def _trap(rng: np.random.Generator, home: Home, trap: str) -> None:
    pc = _first(home, "pc")
    assert pc is not None
    if trap == "backup":
        size = rng.uniform(2.0, 6.0) * GB
        arr = pc.channel("web")
        for d in range(LDAYS - 1, -1, -7):
            arr[1, d, 2:5] += size / 3 * rng.lognormal(0, 0.15, 3)
            arr[2, d, 2:5] += 40
            arr[3, d, 2:5] += 2
    elif trap == "holiday":
        back = DAYS - 1 - int(rng.integers(1, 6))
        away = slice(max(back - int(rng.integers(6, 14)), 0), back)
        for dev in home.devices:
            if dev.kind not in ("camera", "printer", "speaker"):
                for arr in dev.traffic.values():
                    arr[:, away, :] = 0
    elif trap == "streaming":
        start = DAYS - int(rng.integers(3, 12))
        tv = _first(home, "tv") or pc
        for arr in tv.traffic.values():
            arr[0, start:, :] *= 4  # a habit of watching: downloads, not uploads
        stick = Device(_mac(rng, False), "tv", "Streaming stick")
        active = _hours(rng, _profile(EVENING, 0.8), _profile(list(range(12, 24)), 0.8))
        active[:start] = False
        _fill(rng, stick, "video", active, rx=1.5 * GB, tx=20 * MB, flows=12, hosts=3)
        home.devices.append(stick)
    elif trap == "gaming":
        start = DAYS - int(rng.integers(2, 8))
        console = _console(rng, list(range(14, 24)))
        for arr in console.traffic.values():
            arr[:, :start, :] = 0
        home.devices.append(console)
    elif trap == "download":
        size = rng.uniform(20, 90) * GB
        order = np.argwhere(home.since(0))
        start = int(rng.integers(0, len(order) - 3))
        arr = pc.channel("web")
        cells = order[start : start + int(rng.integers(3, 10))]
        for d, h in cells:
            arr[0, d, h] += size / len(cells)
            arr[1, d, h] += size * 0.01 / len(cells)
            arr[2, d, h] += int(rng.integers(40, 150))
            arr[3, d, h] += int(rng.integers(3, 25))
    elif trap == "guest":
        guest = _phone(rng, "Guest")
        guest.name = str(rng.choice(["iPhone", "Galaxy-S23", ""])) or "iPhone"
        here = home.since(0)
        for arr in guest.traffic.values():
            arr[:, ~here] = 0
        up = guest.channel("web")
        up[1] += rng.uniform(0.3, 1.5) * GB / 4 * (here & (rng.random((LDAYS, 24)) < 0.2))  # photo backup
        home.devices.append(guest)
    elif trap == "renamed":
        target = pc if rng.random() < 0.5 else (_first(home, "tv") or pc)
        target.changes.append((DAYS - int(rng.integers(1, 10)), target.mac, f"{target.name} (new)"))
    elif trap == "dst":
        home.dst_day = DAYS - int(rng.integers(2, 20))
    elif trap == "rotation":
        phone = _first(home, "phone")
        assert phone is not None
        day = DAYS - int(rng.integers(2, 15))
        phone.changes.append((day, _mac(rng, True), phone.name))


def inject(rng: np.random.Generator, home: Home, incident: str) -> None:
    """One incident, placed in UTC days (the day under test, or from a few days before it)."""
    home.incident = incident
    pc = _first(home, "pc")
    assert pc is not None
    today = home.since(0)
    target: Device
    if incident == "spambot":
        target = pc
        mail = target.channel("mail")
        n = np.round(rng.dirichlet(np.full(24, 3.0)) * rng.uniform(300, 6000) / 24 * today.sum()) * today
        mail[4] += n
        mail[2] += n
        mail[3] += np.ceil(n / 5)
        mail[1] += n * 20 * KB
    elif incident == "scanning":
        target = (_first(home, "camera", "speaker") if rng.random() < 0.4 else None) or pc
        arr = target.channel("other")
        cells = today & (rng.random((LDAYS, 24)) < rng.uniform(0.3, 1.0))
        hosts = np.round(rng.uniform(300, 4000) * rng.lognormal(0, 0.2, (LDAYS, 24))) * cells
        arr[3] += hosts
        arr[2] += np.round(hosts * 1.3)
        arr[1] += hosts * 1.3 * 80
        arr[0] += hosts * 0.2 * 60
    elif incident == "ddos":
        target = _first(home, "camera", "printer", "speaker") or pc
        arr = target.channel("other")
        order = np.argwhere(today)
        start = int(rng.integers(0, len(order) - 1))
        for d, h in order[start : start + int(rng.integers(1, 5))]:
            flows = rng.uniform(2000, 30000)
            arr[2, d, h] += round(flows)
            arr[3, d, h] += int(rng.integers(1, 6))
            arr[1, d, h] += flows * rng.uniform(20, 80) * KB
    elif incident == "miner":
        target = pc
        cells = home.since(int(rng.integers(0, 3)))
        arr = target.channel("other")
        arr[1] += rng.uniform(0.5, 4) * MB * rng.lognormal(0, 0.1, (LDAYS, 24)) * cells
        arr[0] += rng.uniform(0.5, 4) * MB * cells
        arr[2] += int(rng.integers(4, 30)) * cells
        arr[3] += int(rng.integers(1, 3)) * cells
    elif incident == "beaconing":
        target = pc if rng.random() < 0.6 else (_first(home, "tv") or pc)
        arr = target.channel("other")
        quiet = np.zeros(24, dtype=bool)
        quiet[[h for h in range(24) if h not in (OFFICE + EVENING + [6, 7])]] = True
        every = int(rng.choice([1, 1, 2]))
        quiet[1::2] &= every == 1
        cells = home.since(int(rng.integers(0, 3))) & quiet[None, :]
        flows = int(rng.integers(1, 6))
        arr[2] += flows * cells
        arr[3] += cells
        arr[1] += flows * rng.uniform(1, 20) * KB * cells
        arr[0] += flows * rng.uniform(1, 20) * KB * cells
    elif incident == "exfiltration":
        target = (_first(home, "camera") if rng.random() < 0.5 else None) or pc
        cells = home.since(int(rng.integers(0, 3)))
        arr = target.channel("other")
        arr[1] += rng.uniform(2, 12) * GB / 24 * rng.lognormal(0, 0.2, (LDAYS, 24)) * cells
        arr[2] += 20 * cells
        arr[3] += 2 * cells
    elif incident == "drift":
        target = _first(home, "camera") or pc
        day = np.clip(home.utc_day() - (DAYS - 21), 0, 21)
        ramp = rng.uniform(2.0, 5.0) * GB / 24 * day / 21
        arr = target.channel("other")
        arr[1] += ramp * rng.lognormal(0, 0.1, (LDAYS, 24))
        arr[2] += 10 * (day > 0)
        arr[3] += 1 * (day > 0)
    elif incident == "gone_dark":
        candidate = _first(home, "camera", "printer", "speaker")
        if candidate is None:
            candidate = _camera(rng)
            home.devices.append(candidate)
        target = candidate
        gone = home.utc_day() >= DAYS - int(rng.integers(2, 5))
        for arr in target.traffic.values():
            arr[:, gone] = 0
    else:
        raise ValueError(incident)
    home.incident_device = target.changes[-1][1] if target.changes else target.mac


def records(home: Home) -> list[HourRecord]:
    """The home's hourly records in UTC: local hour h of day d is UTC hour d*24 + h - offset."""
    out: list[HourRecord] = []
    start = datetime(FIRST.year, FIRST.month, FIRST.day, tzinfo=UTC)
    offsets = np.full(LDAYS, home.offset_h)
    if home.dst_day is not None:
        offsets[home.dst_day :] -= 1
    for dev in home.devices:
        macs = [(0, dev.mac, dev.name), *dev.changes]
        for cls, arr in dev.traffic.items():
            values = np.round(arr).astype(np.int64)
            for d, h in np.argwhere(values[:3].sum(axis=0) > 0):
                utc = int(d) * 24 + int(h) - int(offsets[d])
                if not 0 <= utc < DAYS * 24:
                    continue
                _, mac, name = next(m for m in reversed(macs) if m[0] <= d)
                rx, tx, flows, hosts, smtp = (int(v) for v in values[:, d, h])
                out.append(
                    HourRecord(
                        home=home.home_id,
                        device=mac,
                        traffic_class=cls,  # type: ignore[arg-type]
                        hour=start + timedelta(hours=utc),
                        bytes_rx=rx,
                        bytes_tx=tx,
                        flows=max(flows, 1),
                        remote_hosts=max(hosts, 1),
                        smtp_connections=smtp,
                        device_name=name,
                        device_kind=dev.kind,
                        device_instances=(dev.instance,) if dev.instance else None,
                    )
                )
    return out


def world(n: int, seed: int, incident_share: float = 0.2) -> list[Home]:
    """``n`` homes, traps spread evenly, ``incident_share`` of them with one incident each."""
    rng = np.random.default_rng(seed)
    homes = [make_home(rng, i, TRAPS[i % len(TRAPS)]) for i in range(n)]
    chosen = rng.choice(n, size=round(n * incident_share), replace=False)
    for k, i in enumerate(sorted(chosen)):
        inject(rng, homes[i], INCIDENTS[k % len(INCIDENTS)])
    return homes
