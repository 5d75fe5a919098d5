"""The durable outbox: sequence numbers, bounds, acks and crash safety."""

from __future__ import annotations

from pathlib import Path

import pytest

import protocol
from agent import Outbox, OutboxError
from protocol import Hello, Kind, Sample, TelemetryBatch

KEY = protocol.generate_private_key()


def _builder(size: int = 10):
    def build(epoch: int, seq: int, dropped: int) -> bytes:
        body = TelemetryBatch(
            samples=[Sample(probe="p", at=1.0, status="Complete", data={"pad": "x" * size})], dropped=dropped
        )
        return protocol.seal(KEY, agent="agent-1", body=body, epoch=epoch, seq=seq)

    return build


def _open(path: Path, **kw: int) -> Outbox:
    return Outbox(path, max_messages=kw.get("max_messages", 1000), max_bytes=kw.get("max_bytes", 1 << 20))


def test_sequence_survives_reopen(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite")
    epoch = box.epoch
    assert [box.put(Kind.TELEMETRY, _builder()) for _ in range(3)] == [1, 2, 3]
    box.close()
    box = _open(tmp_path / "o.sqlite")
    assert box.epoch == epoch
    assert box.put(Kind.TELEMETRY, _builder()) == 4
    pending = box.due(now=0.0, resend_after_s=30, max_inflight=100)
    assert [p.seq for p in pending] == [1, 2, 3, 4]
    envelope = protocol.unseal(pending[-1].payload, KEY.public_key())
    assert (envelope.epoch, envelope.seq) == (epoch, 4)


def test_a_new_outbox_gets_a_new_epoch(tmp_path: Path) -> None:
    first = _open(tmp_path / "a.sqlite")
    second = _open(tmp_path / "b.sqlite")
    assert second.epoch >= first.epoch
    assert second.ack(first.epoch - 1, [1]) == 0


def test_ack_removes_only_acknowledged_reports(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite")
    for _ in range(5):
        box.put(Kind.TELEMETRY, _builder())
    assert box.ack(box.epoch + 1, [1, 2]) == 0, "an ack for another epoch is stale"
    assert box.ack(box.epoch, [2, 4, 99]) == 2
    assert [p.seq for p in box.due(now=0.0, resend_after_s=30, max_inflight=100)] == [1, 3, 5]


def test_inflight_window_and_resend(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite")
    for _ in range(10):
        box.put(Kind.TELEMETRY, _builder())
    first = box.due(now=100.0, resend_after_s=30, max_inflight=4)
    assert [p.seq for p in first] == [1, 2, 3, 4]
    box.mark_sent([p.seq for p in first], now=100.0)
    assert box.due(now=101.0, resend_after_s=30, max_inflight=4) == [], "window full"
    box.ack(box.epoch, [1, 2])
    assert [p.seq for p in box.due(now=101.0, resend_after_s=30, max_inflight=4)] == [5, 6]
    # Unacknowledged for longer than resend_after_s: due again.
    assert [p.seq for p in box.due(now=131.0, resend_after_s=30, max_inflight=4)] == [3, 4, 5, 6]
    box.reset_sent()
    assert len(box.due(now=101.0, resend_after_s=30, max_inflight=100)) == 8


def test_full_outbox_drops_oldest_and_reports_the_gap(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite", max_messages=10)
    for _ in range(15):
        box.put(Kind.TELEMETRY, _builder())
    pending = box.due(now=0.0, resend_after_s=30, max_inflight=100)
    assert [p.seq for p in pending] == list(range(6, 16))
    assert box.stats().dropped_total == 5
    # Every telemetry report carries the running total as it stood when it was sealed.
    bodies = [
        protocol.decode_body(protocol.unseal(p.payload, KEY.public_key()), TelemetryBatch) for p in pending
    ]
    assert [b.dropped for b in bodies] == [0, 0, 0, 0, 0, 0, 1, 2, 3, 4]


def test_byte_bound(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite", max_bytes=64 * 1024)
    for _ in range(20):
        box.put(Kind.TELEMETRY, _builder(size=8000))
    stats = box.stats()
    assert stats.bytes <= 64 * 1024
    assert stats.depth + stats.dropped_total == 20


def test_hello_is_tracked_by_kind(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite")
    assert not box.has_pending(Kind.HELLO)
    box.put(
        Kind.HELLO,
        lambda e, s, d: protocol.seal(
            KEY, agent="agent-1", body=Hello(agent_version="1", platform="x"), epoch=e, seq=s
        ),
    )
    assert box.has_pending(Kind.HELLO)


def test_a_failed_build_stores_nothing(tmp_path: Path) -> None:
    box = _open(tmp_path / "o.sqlite")

    def broken(epoch: int, seq: int, dropped: int) -> bytes:
        raise protocol.PayloadTooLarge("too big")

    with pytest.raises(protocol.PayloadTooLarge):
        box.put(Kind.TELEMETRY, broken)
    assert box.put(Kind.TELEMETRY, _builder()) == 1, "the sequence number was not consumed"


def test_full_disk_loses_reports_visibly_and_recovers(tmp_path: Path) -> None:
    """SQLite's max_page_count makes the database 'full' exactly as a full disk does (SQLITE_FULL)."""
    box = _open(tmp_path / "o.sqlite", max_messages=100_000, max_bytes=1 << 30)
    box.put(Kind.TELEMETRY, _builder())
    (pages,) = box._db.execute("PRAGMA page_count").fetchone()
    box._db.execute(f"PRAGMA max_page_count = {pages + 2}")
    failures = 0
    for _ in range(200):
        try:
            box.put(Kind.TELEMETRY, _builder(size=2000))
        except OutboxError:
            failures += 1
    assert failures > 0
    assert box.lost_unwritten == failures
    box._db.execute("PRAGMA max_page_count = 1073741823")  # space returns
    seq = box.put(Kind.TELEMETRY, _builder())
    last = box.due(now=0.0, resend_after_s=30, max_inflight=100_000)[-1]
    assert last.seq == seq
    body = protocol.decode_body(protocol.unseal(last.payload, KEY.public_key()), TelemetryBatch)
    assert body.dropped == failures, "the gap travels with the next report"
    assert box.stats().dropped_total == failures
    assert box.lost_unwritten == 0
    (check,) = box._db.execute("PRAGMA integrity_check").fetchone()
    assert check == "ok"
