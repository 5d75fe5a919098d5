"""Benchmark: the console's home page and subscriber search against a big database.

    .venv/bin/python tests/bench/bench_api.py [--homes 10000] [--days 30] [--postgres]
        [--api-processes 1] [--csrs 1,8] [--duration 60] [--full-homes 500] [--reuse]

1. Generates a database (cached under /tmp/homediag-bench-api, ``--reuse`` keeps it): the
   migrations, then tenants, plans, subscribers, homes, their devices, care notifications and
   ``--days`` of telemetry, bulk-loaded (SQLite: ``executemany`` in big transactions; PostgreSQL:
   ``COPY``), in time order across homes as ingestion writes it. ``--full-homes`` homes get the
   cadence a real agent produces (connectivity every minute, speed tests every 6 h, device usage
   per device, class and hour); every other home gets one row per ``--filler-hours`` in each
   time-series table, so tables and indexes hold every home without the full volume.
2. Starts ``homediag-cloud serve`` (``--api-processes`` of them, sharing one state directory, so
   one login works on each) and logs in CSRs of each tenant (OAuth2 password grant).
3. For each ``--csrs`` level, that many CSRs loop for ``--duration`` seconds: search a subscriber,
   then open one of the full homes' page, all its requests at once (what the console does).

Prints per-endpoint and per-page p50/p95, requests and pages per second. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cloud.accounts import create_tenant, create_user
from cloud.storage import Plan, Tenant, User, make_engine, make_sessionmaker, migrate
from tests.support import CloudProcess, PostgresServer, free_port

CACHE = Path("/tmp/homediag-bench-api")
PASSWORD = "bench-password-0123456789"
TENANTS = ("acme", "globex", "initech", "umbrella")
#: (name, cap GB, cycle start day, zone) per tenant.
PLANS = (("Basic", 200, 1, "Europe/Paris"), ("Plus", 500, 15, "Europe/Paris"), ("Max", 2000, 1, "UTC"))
FIRST = ("Anna", "Ben", "Chloe", "David", "Emma", "Farid", "Giulia", "Hugo", "Ines", "Jonas", "Lea", "Marc")
LAST: tuple[str, ...] = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
)
LAST += (
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
)
#: kind: (vendor, traffic classes, probability the device talks in a daytime hour).
KINDS: dict[str, tuple[str, tuple[str, ...], float]] = {
    "phone": ("Apple", ("web", "video", "calls", "dns"), 0.7),
    "laptop": ("Dell", ("web", "video", "mail", "calls", "vpn", "dns"), 0.5),
    "tv": ("Samsung", ("video", "web"), 0.3),
    "tablet": ("Apple", ("web", "video"), 0.3),
    "console": ("Sony", ("gaming", "video", "web"), 0.15),
    "speaker": ("Sonos", ("web", "other"), 0.4),
    "camera": ("Hikvision", ("video", "other"), 0.95),
    "printer": ("HP", ("other",), 0.05),
    "iot": ("Espressif", ("other", "dns"), 0.9),
}
#: The home page: name -> path (``{a}`` is the home's id), as the console loads it.
PAGE: dict[str, str] = {
    "agent": "/api/v1/agents/{a}",
    "experience": "/api/v1/agents/{a}/experience",
    "devices": "/api/v1/agents/{a}/devices",
    "connectivity 24h": "/api/v1/agents/{a}/connectivity?bucket_s=600",
    "usage": "/api/v1/agents/{a}/usage",
    "care/notifications": "/api/v1/agents/{a}/care/notifications?limit=10",
    "consent": "/api/v1/agents/{a}/consent",
    "commands": "/api/v1/agents/{a}/commands?limit=10",
}
#: Also measured one at a time: the latest values and the per-device breakdown (self-care, reports).
EXTRA: dict[str, str] = {
    "connectivity/latest": "/api/v1/agents/{a}/connectivity/latest",
    "usage/devices": "/api/v1/agents/{a}/usage/devices",
}
SEARCH_REF, SEARCH_NAME = "subscribers?q=<reference>", "subscribers?q=<last name>"

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Home:
    index: int
    agent_id: str
    tenant: str
    subscriber_id: str
    reference: str
    last_name: str
    full: bool
    #: (mac, kind) of each device.
    devices: tuple[tuple[str, str], ...]


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # ids shaped like uuid4().hex, but reproducible


def _homes(n: int, full: int, seed: int) -> list[Home]:
    rnd = random.Random(seed)
    chosen = set(random.Random(seed + 99).sample(range(n), full))
    out = []
    for i in range(n):
        devices = []
        for d in range(rnd.randint(8, 15)):
            kind = rnd.choice(list(KINDS))
            devices.append(
                (":".join(f"{b:02x}" for b in hashlib.md5(f"{i}/{d}".encode()).digest()[:6]), kind)
            )
        out.append(
            Home(
                index=i,
                agent_id=_hex(f"home{i}"),
                tenant=TENANTS[i % len(TENANTS)],
                subscriber_id=_hex(f"subscriber{i}"),
                reference=f"C{1_000_000 + i:08d}",
                last_name=LAST[rnd.randrange(len(LAST))],
                full=i in chosen,
                devices=tuple(devices),
            )
        )
    return out


@dataclass
class Layout:
    homes: int
    days: int
    full_homes: int
    filler_hours: int
    seed: int = 7
    end: datetime = field(default_factory=lambda: datetime.now(UTC).replace(second=0, microsecond=0))

    @property
    def key(self) -> str:
        return f"{self.homes}h-{self.days}d-{self.full_homes}f-{self.filler_hours}x"


class Loader:
    """Bulk inserts into one database: ``executemany`` for SQLite, ``COPY`` for PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = url.startswith("postgresql")
        self.counts: dict[str, int] = {}
        if self.pg:
            self.pconn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        else:
            self.sconn = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
            # A throw-away database being filled: no journal, no fsync. WAL again at the end.
            for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
                self.sconn.execute(f"PRAGMA {pragma}")

    def ts(self, moment: datetime) -> str:
        text = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        return text + "+00" if self.pg else text

    def load(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        n = 0
        if self.pg:
            with (
                self.pconn.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    n += 1
            self.pconn.commit()
        else:
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            self.sconn.execute("BEGIN")
            it = iter(rows)
            while chunk := [r for _, r in zip(range(200_000), it, strict=False)]:
                self.sconn.executemany(sql, chunk)
                n += len(chunk)
            self.sconn.execute("COMMIT")
        self.counts[table] = self.counts.get(table, 0) + n
        print(f"  {table}: {n:,} rows", flush=True)

    def finish(self) -> None:
        if self.pg:
            self.pconn.autocommit = True
            self.pconn.execute("VACUUM ANALYZE")
            self.pconn.close()
        else:
            self.sconn.execute("ANALYZE")
            self.sconn.execute("PRAGMA journal_mode=WAL")
            self.sconn.close()


def _accounts(url: str, homes: list[Home], layout: Layout) -> dict[str, list[int]]:
    """Tenants and plans through the ORM (a handful of rows); returns plan ids per tenant."""
    engine = make_engine(url)
    plans: dict[str, list[int]] = {}
    with make_sessionmaker(engine).begin() as session:
        for tenant in TENANTS:
            create_tenant(session, tenant, tenant.title())
            rows = [
                Plan(tenant_id=tenant, name=n, cap_bytes=gb * 10**9, cycle_start_day=d, timezone=z)
                for n, gb, d, z in PLANS
            ]
            session.add_all(rows)
            session.flush()
            plans[tenant] = [p.id for p in rows]
    engine.dispose()
    return plans


def generate(url: str, layout: Layout) -> dict[str, int]:
    """Fill an empty, migrated database; returns rows per table."""
    homes = _homes(layout.homes, layout.full_homes, layout.seed)
    plans = _accounts(url, homes, layout)
    db = Loader(url)
    rnd = random.Random(layout.seed + 1)
    end, start = layout.end, layout.end - timedelta(days=layout.days)
    now = db.ts(end)
    plan_of = {h.index: rnd.randrange(len(PLANS)) for h in homes}

    db.load(
        "subscribers",
        ("id", "tenant_id", "reference", "name", "email", "tier", "plan_id", "created_at"),
        (
            (
                h.subscriber_id,
                h.tenant,
                h.reference,
                f"{FIRST[h.index % len(FIRST)]} {h.last_name}",
                f"{FIRST[h.index % len(FIRST)].lower()}.{h.last_name.lower()}{h.index}@mail.example",
                "premium" if h.index % 5 == 0 else "standard",
                plans[h.tenant][plan_of[h.index]],
                db.ts(end - timedelta(days=400 - h.index % 300)),
            )
            for h in homes
        ),
    )
    db.load(
        "agents",
        (
            "id", "public_key", "hostname", "platform", "agent_version", "enrolled_at", "last_seen_at",
            "online", "status_session", "status_changed_at", "revoked", "tenant_id", "subscriber_id",
        ),
        (
            (
                h.agent_id, _hex(f"key{h.index}") + "AAAAAAAAAAA=", f"gw-{h.index}", "linux-aarch64",
                "0.9.0", db.ts(end - timedelta(days=400 - h.index % 300)), now, h.index % 50 != 0,
                float(end.timestamp() - 86400), now, False, h.tenant, h.subscriber_id,
            )
            for h in homes
        ),
    )  # fmt: skip
    db.load(
        "usage_plans",
        ("agent_id", "cap_bytes", "cycle_start_day", "timezone"),
        ((h.agent_id, PLANS[plan_of[h.index]][1] * 10**9, *PLANS[plan_of[h.index]][2:]) for h in homes),
    )
    db.load("inventory_devices", _DEVICE_COLUMNS, _devices(db, homes, start, end, rnd))
    db.load("care_notifications", _NOTIFICATION_COLUMNS, _notifications(db, homes, end, rnd))
    db.load(
        "samples", ("agent_id", "epoch", "seq", "probe", "at", "status", "data"), _samples(db, homes, layout)
    )
    db.load("connectivity_samples", _CONNECTIVITY_COLUMNS, _connectivity(db, homes, layout))
    db.load("usage_hours", ("agent_id", "hour", "bytes_rx", "bytes_tx"), _usage_hours(db, homes, layout))
    db.load("usage_device_hours", _DEVICE_HOUR_COLUMNS, _device_hours(db, homes, layout))
    print("  analyze ...", flush=True)
    db.finish()
    return db.counts


_DEVICE_COLUMNS = (
    "agent_id", "key", "mac", "ips", "hostname", "vendor", "random_mac", "kind", "evidence", "sources",
    "services", "upnp", "printer", "printer_state", "printer_reason", "active", "first_seen", "last_seen",
    "reported_at",
)  # fmt: skip


def _devices(
    db: Loader, homes: list[Home], start: datetime, end: datetime, rnd: random.Random
) -> Iterator[Row]:
    for h in homes:
        for n, (mac, kind) in enumerate(h.devices):
            vendor, _classes, _p = KINDS[kind]
            services = []
            if kind in ("printer", "speaker", "tv"):
                services.append(
                    {
                        "InstanceName": f"{vendor} {kind} {n}",
                        "ApplicationProtocol": {"printer": "ipp", "speaker": "raop", "tv": "airplay"}[kind],
                        "TransportProtocol": "TCP",
                        "Port": {"printer": 631, "speaker": 7000, "tv": 7000}[kind],
                        "TextRecord": {"model": f"{vendor}-{n}", "txtvers": "1"},
                        "Type": "_ipp._tcp" if kind == "printer" else "_airplay._tcp",
                    }
                )
            printer = {"make_and_model": f"{vendor} LaserJet", "uri": f"ipp://192.168.1.{20 + n}/ipp"}
            yield (
                h.agent_id, mac, mac, json.dumps([f"192.168.1.{20 + n}"]), f"{kind}-{n}", vendor,
                kind == "phone" and rnd.random() < 0.5, kind,
                json.dumps(["oui", "mdns"] if services else ["oui"]),
                json.dumps(["arp", "mdns"] if services else ["arp"]), json.dumps(services),
                json.dumps({"friendlyName": f"{vendor} {kind}"}) if kind == "tv" else None,
                json.dumps(printer) if kind == "printer" else None,
                "online" if kind == "printer" else "", "", rnd.random() < 0.85,
                db.ts(start - timedelta(days=rnd.randrange(300))), db.ts(end), db.ts(end),
            )  # fmt: skip


_NOTIFICATION_COLUMNS = (
    "key", "agent_id", "kind", "threshold", "cycle", "channel", "target", "subject", "body", "payload",
    "status", "attempts", "next_attempt_at", "created_at", "sent_at", "last_error",
)  # fmt: skip


def _notifications(db: Loader, homes: list[Home], end: datetime, rnd: random.Random) -> Iterator[Row]:
    """A few cap warnings per home over its recent cycles, on the console and by e-mail."""
    for h in homes:
        for cycle in range(rnd.randrange(4)):
            day = end - timedelta(days=30 * cycle + rnd.randrange(20))
            for threshold in ("50", "75", "90")[: rnd.randrange(1, 4)]:
                for channel in ("console", "email"):
                    at = db.ts(day)
                    yield (
                        f"{h.subscriber_id}:cap:{threshold}:{day:%Y-%m}:{channel}", h.agent_id, "cap",
                        threshold, f"{day:%Y-%m}", channel, "" if channel == "console" else "x@mail.example",
                        f"You have used {threshold}% of your data",
                        "Your household has used most of this month's data. " * 4,
                        json.dumps({"percent": int(threshold), "used_bytes": 10**11}),
                        "sent", 1, at, at, at, "",
                    )  # fmt: skip


def _samples(db: Loader, homes: list[Home], layout: Layout) -> Iterator[Row]:
    """Raw samples: the page reads consent only (index (agent_id, probe, at)), so full homes get a
    netdev sample per hour (an agent sends one a minute) and a few consents; the rest one a day."""
    end = layout.end
    for hour in range(layout.days * 24, 0, -1):
        at = end - timedelta(hours=hour)
        ts = db.ts(at)
        for h in homes:
            if not (h.full or (hour + h.index) % 24 == 0):
                continue
            data = {"Interface": {"eth0": {"BytesSent": hour * 10**7, "BytesReceived": hour * 9 * 10**7}}}
            yield (h.agent_id, 1, hour, "netdev", ts, "Complete", json.dumps(data))
            if h.full and (hour + h.index) % 97 == 0:
                consent = {
                    "active": hour < 2,
                    "granted_at": at.timestamp(),
                    "expires_at": at.timestamp() + 3600,
                }
                yield (h.agent_id, 1, hour, "consent", ts, "Complete", json.dumps(consent))


_CONNECTIVITY_COLUMNS = (
    "agent_id", "at", "probe", "target", "loss_pct", "latency_p50_ms", "latency_p95_ms", "jitter_ms",
    "dns_ok", "dns_ms", "down_mbps", "up_mbps", "finding", "finding_message",
)  # fmt: skip


def _connectivity(db: Loader, homes: list[Home], layout: Layout) -> Iterator[Row]:
    """Full homes: the connectivity probe every minute, download and upload every 6 h (the documented
    configuration, docs/connectivity.md); other homes one connectivity row per filler period."""
    rnd = random.Random(layout.seed + 2)
    full = [h for h in homes if h.full]
    step = layout.filler_hours * 60
    fillers: dict[int, list[Home]] = {}
    for h in homes:
        if not h.full:
            fillers.setdefault((h.index * 7919) % step, []).append(h)
    # A pool of plausible measurements, cycled with a per-home offset: cheap and varied enough.
    pool = []
    for _ in range(4099):
        p50 = rnd.uniform(8, 30)
        loss = 0.0 if rnd.random() < 0.97 else rnd.choice((5.0, 10.0, 20.0))
        pool.append((loss, round(p50, 2), round(p50 * rnd.uniform(1.2, 3), 2), round(rnd.uniform(0.5, 6), 2)))
    minutes = layout.days * 1440
    for m in range(minutes, 0, -1):
        ts = db.ts(layout.end - timedelta(minutes=m))
        for h in full:
            loss, p50, p95, jitter = pool[(m * 31 + h.index) % 4099]
            finding = "none" if loss == 0 else "beyond_gateway"
            yield (h.agent_id, ts, "connectivity", "192.168.1.1", loss, p50, p95, jitter, True, p50 + 4,
                   None, None, finding, None)  # fmt: skip
            if (m + h.index) % 360 == 0:
                yield (h.agent_id, ts, "download", "http://care.isp.example/api/v1/speedtest/download",
                       None, None, None, None, None, None, 80 + p50, None, None, None)  # fmt: skip
                yield (h.agent_id, ts, "upload", "http://care.isp.example/api/v1/speedtest/upload",
                       None, None, None, None, None, None, None, 15 + p50 / 4, None, None)  # fmt: skip
        for h in fillers.get(m % step, ()):
            loss, p50, p95, jitter = pool[(m + h.index) % 4099]
            yield (h.agent_id, ts, "connectivity", "192.168.1.1", loss, p50, p95, jitter, True, p50 + 4,
                   None, None, "none", None)  # fmt: skip


def _hour_rows(homes: list[Home], layout: Layout) -> Iterator[tuple[int, datetime, list[Home]]]:
    """(hour index, hour, homes with a row that hour): full homes every hour, others once a period."""
    start = layout.end.replace(minute=0) - timedelta(days=layout.days)
    full = [h for h in homes if h.full]
    fillers: dict[int, list[Home]] = {}
    for h in homes:
        if not h.full:
            fillers.setdefault(h.index % layout.filler_hours, []).append(h)
    for n in range(layout.days * 24):
        yield n, start + timedelta(hours=n), full + fillers.get(n % layout.filler_hours, [])


def _usage_hours(db: Loader, homes: list[Home], layout: Layout) -> Iterator[Row]:
    rnd = random.Random(layout.seed + 3)
    for _n, hour, active in _hour_rows(homes, layout):
        ts = db.ts(hour)
        evening = 1.0 + 3.0 * (17 <= hour.hour <= 23)
        for h in active:
            rx = int(rnd.lognormvariate(19.5, 1.0) * evening)
            yield (h.agent_id, ts, rx, rx // 8)


_DEVICE_HOUR_COLUMNS = (
    "agent_id", "hour", "device", "traffic_class", "bytes_rx", "bytes_tx", "flows", "remote_hosts",
    "smtp_connections",
)  # fmt: skip


def _device_hours(db: Loader, homes: list[Home], layout: Layout) -> Iterator[Row]:
    """Per device, class and hour, only where the device talked (an agent on a gateway sends these)."""
    rnd = random.Random(layout.seed + 4)
    for _n, hour, active in _hour_rows(homes, layout):
        ts = db.ts(hour)
        night = hour.hour < 7
        for h in active:
            if not h.full:
                mac = h.devices[0][0]
                yield (h.agent_id, ts, mac, "web", 10**8, 10**7, 40, 12, 0)
                continue
            for mac, kind in h.devices:
                _vendor, classes, p = KINDS[kind]
                if rnd.random() > (p / 3 if night and kind not in ("camera", "iot") else p):
                    continue
                for cls in rnd.sample(classes, min(len(classes), rnd.randint(1, 3))):
                    rx = int(rnd.lognormvariate(16 if cls in ("other", "dns") else 18.5, 1.2))
                    yield (h.agent_id, ts, mac, cls, rx, rx // 10 + 1000, rnd.randint(1, 200),
                           rnd.randint(1, 40), 0)  # fmt: skip


# --- the database: where it lives, made once and reused -------------------------------------------


class CachedPostgres(PostgresServer):
    """A PostgreSQL cluster kept under CACHE between runs (``--reuse``), tuned like a small server."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        with contextlib.suppress(OSError):
            self.dir.rmdir()  # the parent made a temporary one
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        if self._as:
            subprocess.run(["chown", "postgres:postgres", str(self.dir)], check=True)
        self.data = self.dir / "data"

    def start(self) -> None:
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8")  # fmt: skip
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c shared_buffers=2GB -c effective_cache_size=12GB -c max_wal_size=8GB"
            " -c maintenance_work_mem=512MB -c work_mem=16MB"
        )
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "start",
                  "-o", options)  # fmt: skip

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        )


def prepare(layout: Layout, postgres: CachedPostgres | None, reuse: bool) -> tuple[str, dict[str, Any]]:
    """The database URL and its metadata (rows per table, generation time, data end)."""
    meta_path = CACHE / f"{'pg' if postgres else 'sqlite'}-{layout.key}.json"
    name = f"bench_{layout.key.replace('-', '_')}"
    sqlite_url = f"sqlite:///{CACHE / f'sqlite-{layout.key}.sqlite'}"
    url = postgres.url(name) if postgres is not None else sqlite_url
    if reuse and meta_path.exists():
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        print(f"reusing {url} (generated {meta['end']})")
        return url, meta
    if postgres is not None:
        with postgres.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(url.split("///", 1)[1] + suffix).unlink(missing_ok=True)
    print(
        f"generating {url}: {layout.homes:,} homes, {layout.days} days, {layout.full_homes} at full cadence"
    )
    started = time.monotonic()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    counts = generate(url, layout)
    meta = {
        "end": layout.end.isoformat(),
        "generation_s": round(time.monotonic() - started, 1),
        "rows": counts,
    }
    meta_path.write_text(json.dumps(meta, indent=1))
    return url, meta


def db_size(url: str) -> int:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        return sum(Path(path + s).stat().st_size for s in ("", "-wal") if Path(path + s).exists())
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    return int(row[0]) if row else 0


def pg_blocks(url: str) -> tuple[int, int]:
    """(blocks found in shared buffers, blocks read from the OS) for the database so far."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def ensure_csrs(url: str, per_tenant: int) -> list[tuple[str, str]]:
    """(tenant, username) of ``per_tenant`` CSR logins in each tenant, created when missing."""
    engine = make_engine(url)
    logins = []
    with make_sessionmaker(engine).begin() as session:
        for tenant in TENANTS:
            if session.get(Tenant, tenant) is None:
                raise SystemExit(f"tenant {tenant} missing: generate the database again")
            for n in range(per_tenant):
                username = f"csr{n}"
                exists = session.query(User.id).filter_by(tenant_id=tenant, username=username).first()
                if exists is None:
                    create_user(session, tenant_id=tenant, username=username, password=PASSWORD, role="csr")
                logins.append((tenant, username))
    engine.dispose()
    return logins


# --- the load ---------------------------------------------------------------------------------------


@dataclass
class Results:
    by_endpoint: dict[str, list[float]] = field(default_factory=dict)
    pages: list[float] = field(default_factory=list)
    searches: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    sizes: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, seconds: float, status: int) -> None:
        self.requests += 1
        self.by_endpoint.setdefault(name, []).append(seconds)
        if status != 200:
            self.errors[f"{name} {status}"] = self.errors.get(f"{name} {status}", 0) + 1


async def _get(client: httpx.AsyncClient, base: str, path: str, token: str) -> tuple[float, int, int]:
    started = time.perf_counter()
    try:
        response = await client.get(base + path, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError:
        return time.perf_counter() - started, 599, 0  # counted as an error, like a 5xx
    return time.perf_counter() - started, response.status_code, len(response.content)


async def _login(client: httpx.AsyncClient, base: str, tenant: str, username: str) -> str:
    response = await client.post(
        base + "/api/v1/auth/token",
        data={"grant_type": "password", "username": username, "password": PASSWORD, "tenant": tenant},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def _csr(
    client: httpx.AsyncClient,
    bases: list[str],
    token: str,
    homes: list[Home],
    deadline: float,
    results: Results | None,
    seed: int,
) -> None:
    """One CSR: search a subscriber (by reference; one in five by last name), then open a home page.
    Requests go round-robin to the API processes, as a load balancer would send them."""
    rnd = random.Random(seed)
    turn = 0
    while time.monotonic() < deadline:
        home = rnd.choice(homes)
        by_name = turn % 5 == 4
        name = SEARCH_NAME if by_name else SEARCH_REF
        q = home.last_name if by_name else home.reference
        turn += 1
        seconds, status, _ = await _get(client, bases[turn % len(bases)], f"/api/v1/subscribers?q={q}", token)
        if results is not None:
            results.add(name, seconds, status)
            results.searches.append(seconds)
        started = time.perf_counter()
        calls = []
        for n, path in enumerate(PAGE.values()):
            calls.append(_get(client, bases[(turn + n) % len(bases)], path.format(a=home.agent_id), token))
        answers = await asyncio.gather(*calls)
        wall = time.perf_counter() - started
        if results is not None:
            for endpoint, (seconds, status, _) in zip(PAGE, answers, strict=True):
                results.add(endpoint, seconds, status)
            results.pages.append(wall)


async def run_load(
    bases: list[str], logins: list[tuple[str, str]], homes: list[Home], csrs: int, duration: float
) -> tuple[Results, float]:
    limits = httpx.Limits(
        max_connections=csrs * len(PAGE) * 2, max_keepalive_connections=csrs * len(PAGE) * 2
    )
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        chosen = [logins[i % len(logins)] for i in range(csrs)]
        tokens = [await _login(client, bases[i % len(bases)], t, u) for i, (t, u) in enumerate(chosen)]
        per_tenant = {t: [h for h in homes if h.tenant == t] for t in TENANTS}
        results = Results()
        started = time.monotonic()
        end = started + duration
        await asyncio.gather(
            *(_csr(client, bases, tok, per_tenant[t], end, results, 1000 + i) for i, (tok, (t, _)) in
              enumerate(zip(tokens, chosen, strict=True)))
        )  # fmt: skip
        return results, time.monotonic() - started


async def one_at_a_time(base: str, login: tuple[str, str], homes: list[Home]) -> Results:
    """Each endpoint alone, one request at a time: the service time without queueing."""
    results = Results()
    async with httpx.AsyncClient(timeout=120) as client:
        token = await _login(client, base, *login)
        for home in homes:
            for name, path in (PAGE | EXTRA).items():
                seconds, status, size = await _get(client, base, path.format(a=home.agent_id), token)
                results.add(name, seconds, status)
                results.sizes[name] = size
    return results


def _ms(values: list[float], q: float) -> float:
    if q >= 100 and values:
        return max(values) * 1000
    if len(values) < 2:
        return values[0] * 1000 if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] * 1000


def _line(name: str, values: list[float]) -> str:
    return f"  {name:<28}{len(values):>7}" + "".join(f"{_ms(values, q):>10.1f}" for q in (50, 95, 100))


def report(results: Results, elapsed: float, csrs: int, blocks: tuple[int, int] | None) -> None:
    print(f"\n{csrs} CSR(s), {elapsed:.0f} s, load average {os.getloadavg()[0]:.1f}: "
          f"{results.requests / elapsed:.1f} requests/s, "
          f"{len(results.pages) / elapsed:.2f} home pages/s (+ a search each)")  # fmt: skip
    print(f"  {'endpoint':<28}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, values in results.by_endpoint.items():
        print(_line(name, values))
    for name, values in (
        (f"home page ({len(PAGE)} in parallel)", results.pages),
        ("search (one request)", results.searches),
    ):
        print(_line(name, values))
    if results.errors:
        print(f"  errors: {results.errors}")
    if blocks is not None and results.pages:
        hit, read = blocks
        print(f"  PostgreSQL blocks per home page + search: {(hit + read) / len(results.pages):,.0f} "
              f"({read / len(results.pages):,.1f} read from the OS, the rest in shared buffers)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--homes", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--full-homes", type=int, default=500, help="homes with full-cadence telemetry (queried)"
    )
    parser.add_argument(
        "--filler-hours", type=int, default=6, help="one row per this many hours, other homes"
    )
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL (a cluster kept under the cache)")
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--csrs", default="1,8", help="concurrent CSRs, a comma-separated list of levels")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured per level")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of unmeasured load first")
    parser.add_argument("--reuse", action="store_true", help="reuse the cached database of the same size")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    layout = Layout(args.homes, args.days, min(args.full_homes, args.homes), args.filler_hours)
    CACHE.mkdir(parents=True, exist_ok=True)
    postgres = CachedPostgres(CACHE / "pg") if args.postgres else None
    if postgres is not None:
        postgres.start()
    try:
        url, meta = prepare(layout, postgres, args.reuse)
        measure(args, layout, url, meta)
    finally:
        if postgres is not None:
            postgres.stop()


def measure(args: argparse.Namespace, layout: Layout, url: str, meta: dict[str, Any]) -> None:
    store = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    rows: dict[str, int] = meta["rows"]
    print(f"\ndatabase: {store}, {db_size(url) / 1e9:.2f} GB, generated in {meta['generation_s']} s, "
          f"data until {meta['end']}")  # fmt: skip
    for table, n in rows.items():
        print(f"  {table:<22}{n:>14,}")
    if args.generate_only:
        return
    started = time.monotonic()
    engine = make_engine(url)
    migrate(engine)  # before `serve`, whose start-up wait is short: a new index on big tables takes a while
    engine.dispose()
    print(f"  migrations to head: {time.monotonic() - started:.1f} s")
    levels = [int(x) for x in args.csrs.split(",")]
    logins = ensure_csrs(url, max(1, -(-max(levels) // len(TENANTS))))
    homes = [h for h in _homes(layout.homes, layout.full_homes, layout.seed) if h.full]
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        clouds: list[CloudProcess] = []
        try:
            for n in range(args.api_processes):
                workdir = Path(tmp) / f"api{n}"
                workdir.mkdir()
                cloud = CloudProcess(workdir, db_url=url)
                cloud.state_dir = Path(tmp) / "state"  # shared: one token key for every process
                cloud.broker_port = free_port()
                cloud.env |= {
                    "HOMEDIAG_CARE_INTERVAL_S": "0",  # background jobs off: the API alone is measured
                    "HOMEDIAG_RETENTION_INTERVAL_S": "0",
                    "HOMEDIAG_LOG_LEVEL": "WARNING",
                }
                cloud.start()
                clouds.append(cloud)
            bases = [c.api_url for c in clouds]
            print(
                f"\n{args.api_processes} API process(es) (`homediag-cloud serve`), {len(homes)} homes queried"
            )
            login = next(x for x in logins if x[0] == homes[0].tenant)
            alone = asyncio.run(
                one_at_a_time(bases[0], login, [h for h in homes if h.tenant == login[0]][:20])
            )
            print(f"  one request at a time ({len(alone.pages or alone.by_endpoint['agent'])} homes):")
            print(f"  {'endpoint':<28}{'p50 ms':>10}{'p95 ms':>10}{'bytes':>10}")
            for name, values in alone.by_endpoint.items():
                print(f"  {name:<28}{_ms(values, 50):>10.1f}{_ms(values, 95):>10.1f}{alone.sizes[name]:>10,}")
            for csrs in levels:
                if args.warmup > 0:
                    asyncio.run(run_load(bases, logins, homes, csrs, args.warmup))
                before = pg_blocks(url) if store == "PostgreSQL" else None
                results, elapsed = asyncio.run(run_load(bases, logins, homes, csrs, args.duration))
                blocks = None
                if before is not None:
                    after = pg_blocks(url)
                    blocks = (after[0] - before[0], after[1] - before[1])
                report(results, elapsed, csrs, blocks)
                if results.errors:
                    for cloud in clouds:
                        print(
                            "  "
                            + "\n  ".join(x for x in cloud.log_tail(400).splitlines() if "Error" in x)[-1500:]
                        )
        finally:
            for cloud in clouds:
                cloud.stop()


if __name__ == "__main__":
    main()
