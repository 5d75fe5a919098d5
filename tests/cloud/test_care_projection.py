"""Cap projection by hand-computed numbers, the warning text and the next-plan-up offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cloud.care.const import GB
from cloud.care.projection import Plan, ordinal, plan_offer, project, top_device, warning_text

START = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
END = datetime(2026, 12, 1, tzinfo=UTC)
CAP = 200 * GB


def _hours(first: datetime, days: int, weekday_gb: float, weekend_gb: float) -> list[tuple[datetime, int]]:
    out = []
    for h in range(days * 24):
        moment = first + timedelta(hours=h)
        gb = weekend_gb if moment.weekday() >= 5 else weekday_gb
        out.append((moment, round(gb * GB / 24)))
    return out


def test_the_projection_follows_the_weekly_rhythm() -> None:
    # 14 days before the cycle and 12 days into it: 6 GB a weekday, 12 GB a weekend day.
    hours = _hours(START - timedelta(days=14), 26, 6, 12)
    now = START + timedelta(days=12)  # Friday 13 November, 00:00
    p = project(hours, now=now, cycle_start=START, cycle_end=END, cap_bytes=CAP)
    assert p.rate_weekday == pytest.approx(6 * GB, rel=1e-6)
    assert p.rate_weekend == pytest.approx(12 * GB, rel=1e-6)
    # Used: Sun 1 (12) + Mon 2-Fri 6 (30) + Sat 7-Sun 8 (24) + Mon 9-Thu 12 (24) = 90 GB.
    assert p.used_bytes == pytest.approx(90 * GB, rel=1e-6)
    # From Fri 13: 96, Sat 108, Sun 120, Mon-Fri 150, Sat-Sun 174, Mon 23-Thu 26 198, and the
    # last 2 GB a third into Friday the 27th: 08:00.
    assert p.reach_at is not None
    assert abs(p.reach_at - datetime(2026, 11, 27, 8, 0, tzinfo=UTC)) < timedelta(minutes=1)
    # To the end: 12 more weekdays (72) and 6 more weekend days (72): 234 GB.
    assert p.projected_bytes == pytest.approx(234 * GB, rel=1e-4)


def test_an_early_cycle_uses_the_pace_so_far() -> None:
    hours = _hours(START, 1, 8, 8)[:12]  # half a day of data, no history
    p = project(hours, now=START + timedelta(hours=12), cycle_start=START, cycle_end=END, cap_bytes=CAP)
    assert p.rate_weekday == pytest.approx(8 * GB, rel=1e-3)  # 4 GB in half a day


def test_warning_text_with_projection_top_device_and_offer() -> None:
    hours = _hours(START - timedelta(days=14), 26, 6, 12)
    p = project(hours, now=START + timedelta(days=12), cycle_start=START, cycle_end=END, cap_bytes=CAP)
    top = top_device(
        [("aa:01", "video", 40 * GB), ("aa:01", "web", 8 * GB), ("aa:02", "web", 52 * GB - 1)],
        {"aa:01": "the TV 'living-room TV'"},
    )
    assert top is not None and top.device == "aa:02"
    top = top_device(
        [("aa:01", "video", 40 * GB), ("aa:01", "web", 8 * GB), ("aa:02", "web", 52 * GB)],
        {"aa:01": "the TV 'living-room TV'"},
    )
    assert top is not None and (top.device, top.share, top.top_class) == ("aa:02", 0.52, "web")
    top = top_device(
        [("aa:01", "video", 40 * GB), ("aa:01", "web", 8 * GB), ("aa:02", "web", 42 * GB)],
        {"aa:01": "the TV 'living-room TV'"},
    )
    assert top is not None
    plans = [Plan("Basic", 200, 25), Plan("Plus", 400, 35), Plan("Max", 1000, 60)]
    offer = plan_offer(p, plans, overage_price_per_gb=2.0, currency="EUR")
    subject, body = warning_text(p, None, top, offer)
    assert subject == "You are on course to reach your 200 GB cap"
    assert body.startswith(
        "At this pace you will reach your 200 GB cap around the 27th; your TV 'living-room TV' used 53% "
        "of this cycle's traffic, mostly video."
    )
    # Projected 234 GB: 34 GB over at 2.00 = 68.00 > 10.00 more for Plus.
    assert "the Plus plan (400 GB) costs EUR 10.00 more a month" in body
    assert plan_offer(p, plans, overage_price_per_gb=0.1, currency="EUR") is None  # 3.40 < 10.00
    subject, body = warning_text(p, 50, top, None)
    assert subject == "You have used 50% of your 200 GB cap"
    assert body.startswith("You have used 50% of your 200 GB cap (90 GB), with 18 days left in this cycle.")


def test_ordinals() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st",
    ]  # fmt: skip
