"""Benchmark: the console's subscriber search on PostgreSQL with and without migration 0016's
trigram indexes, on one large tenant.

    flock /tmp/bench.lock .venv/bin/python tests/bench/bench_search.py [--subscribers 1000000] [--runs 15]

A throw-away PostgreSQL cluster (tests/support.py), the schema migrated to 0015, ``--subscribers``
households in one tenant (and a tenth as many in a second) loaded with ``COPY``, then the query the
API runs for ``GET /subscribers?q=`` (``cloud.api.routes.subscribers.search_query``, scoped to the
tenant, first page of 100) timed for a few kinds of search, before and after ``upgrade 0016``, in
the same run, on the same data (ANALYZE after each step). Latency is the query's wall time through
SQLAlchemy and psycopg, warm cache. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cloud.api.routes.subscribers import search_query
from cloud.storage import Subscriber, make_engine
from cloud.storage.db import alembic_config
from tests.support import PostgresServer

TENANT = "big"
SURNAMES = [f"{a}{b}" for a in ("Mill", "Smith", "Jones", "Garc", "Nguy", "Kowal", "Brown", "Okaf") for b in
            ("er", "son", "ia", "en", "ski", "ez", "ley", "or", "ine", "ard")]  # fmt: skip
GIVEN = ["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jin", "Kira", "Luis"]


def load(engine: Engine, subscribers: int, seed: int) -> list[tuple[str, str, str]]:
    """Households of ``TENANT`` (and of a second tenant), by COPY; returns a sample of them."""
    rnd = random.Random(seed)
    sample: list[tuple[str, str, str]] = []
    raw: Any = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(
            "INSERT INTO tenants (id, name, created_at) VALUES ('big', '', now()), ('other', '', now())"
        )
        with cursor.copy(
            "COPY subscribers (id, tenant_id, reference, name, email, tier, created_at) FROM STDIN"
        ) as copy:
            for i in range(subscribers + subscribers // 10):
                tenant = TENANT if i < subscribers else "other"
                name = f"{rnd.choice(GIVEN)} {rnd.choice(SURNAMES)}"
                reference = f"SUB-{i:08d}"
                email = f"{name.split(maxsplit=1)[0].lower()}.{i}@{rnd.choice(('example.net', 'mail.test'))}"
                copy.write_row(
                    (f"{i:032x}", tenant, reference, name, email, "standard", "2026-01-01T00:00:00Z")
                )
                if tenant == TENANT and rnd.random() < 0.001:
                    sample.append((reference, name, email))
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE subscribers"))
    return sample


def searches(sample: list[tuple[str, str, str]], rnd: random.Random) -> dict[str, list[str]]:
    """What CSRs type: a whole reference, a surname (many matches), an e-mail, two letters."""
    picks = rnd.sample(sample, 20)
    return {
        "reference (SUB-00123456)": [p[0] for p in picks],
        "surname (1 in 80 match)": [p[1].split()[1] for p in picks],
        "e-mail (one match)": [p[2] for p in picks],
        "no match": [f"zq{n}xv" for n in range(20)],
        "two letters": [p[1].split()[1][:2].lower() for p in picks],
    }


def measure(engine: Engine, kinds: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float, int]]:
    out = {}
    with engine.connect() as conn:
        for kind, queries in kinds.items():
            times, found = [], 0
            for i in range(runs):
                q = queries[i % len(queries)]
                statement = search_query(q, 100, 0).where(Subscriber.tenant_id == TENANT)
                started = time.perf_counter()
                rows = conn.execute(statement).all()
                times.append(time.perf_counter() - started)
                found = max(found, len(rows))
            times.sort()
            out[kind] = (statistics.median(times) * 1000, times[int(0.95 * (len(times) - 1))] * 1000, found)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    try:
        engine = make_engine(server.new_database())
        config = alembic_config(engine)
        command.upgrade(config, "0015")
        started = time.monotonic()
        sample = load(engine, args.subscribers, args.seed)
        loaded_s = time.monotonic() - started
        print(f"loaded {args.subscribers:,} + {args.subscribers // 10:,} subscribers in {loaded_s:.0f} s")
        kinds = searches(sample, random.Random(args.seed))
        before = measure(engine, kinds, args.runs)
        started = time.monotonic()
        command.upgrade(config, "0016")
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE subscribers"))
            size = conn.scalar(
                text("SELECT sum(pg_relation_size(oid)) FROM pg_class"
                     " WHERE relname LIKE 'ix_subscribers_%_trgm'")
            )  # fmt: skip
            table = conn.scalar(text("SELECT pg_relation_size('subscribers')"))
        built = time.monotonic() - started
        after = measure(engine, kinds, args.runs)
        engine.dispose()
    finally:
        server.stop()
    print(
        f"PostgreSQL, tenant of {args.subscribers:,} subscribers; first page (100) of"
        f" GET /subscribers?q=; {args.runs} runs each"
    )
    mib = 2**20
    print(f"0016: three trigram indexes in {built:.0f} s, {size / mib:.0f} MiB (table {table / mib:.0f} MiB)")
    print(f"{'search':<26} {'rows':>5} {'scan p50/p95 ms':>17} {'trigram p50/p95 ms':>19} {'p50 ratio':>9}")
    for kind in kinds:
        b, a = before[kind], after[kind]
        print(f"{kind:<26} {a[2]:>5} {b[0]:8.1f} /{b[1]:7.1f} {a[0]:9.1f} /{a[1]:7.1f} {a[0] / b[0]:9.2f}")


if __name__ == "__main__":
    main()
