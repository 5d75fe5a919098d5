"""Connectivity degraded against the home's own normal: the detector (degraded.py) and the care
loop's alert (alerts.py), once per episode and cleared when it ends, on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from cloud.care.alerts import DEGRADED_KIND, connectivity_alerts
from cloud.care.degraded import Interval, Normal, cleared_text, episodes, judge, raised_text
from cloud.care.loop import CareLoop
from cloud.config import load_settings
from cloud.storage import Agent, CareNotification, CarePreference, make_engine, make_sessionmaker, migrate
from cloud.storage.connectivity import ConnectivitySample

NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
STEP = timedelta(minutes=5)


def _quiet(n: int, *, end: datetime = NOW, loss: float = 0.0, p50: float = 12.0) -> list[Interval]:
    """A quiet home's intervals, ``STEP`` apart, ending just before ``end``."""
    rng = random.Random(n)
    return [
        Interval(end - (n - i) * STEP, loss, p50 + rng.uniform(-1, 1), dns_ok=True, where="none")
        for i in range(n)
    ]


def _series(pattern: str, start: datetime = NOW, *, bad: Interval | None = None) -> list[Interval]:
    """Intervals from a pattern: ``.`` good, ``x`` 20% loss beyond the gateway."""
    bad = bad or Interval(start, 20.0, 14.0, True, "beyond_gateway")
    out = []
    for i, ch in enumerate(pattern):
        at = start + i * STEP
        out.append(
            Interval(at, bad.loss_pct, bad.latency_ms, bad.dns_ok, bad.where)
            if ch == "x"
            else Interval(at, 0.0, 12.0, True, "none")
        )
    return out


QUIET = Normal.of(_quiet(2000, end=NOW))


def test_a_quiet_homes_normal_has_floors_so_one_lost_echo_is_not_news() -> None:
    assert QUIET.loss is not None and QUIET.loss.median == 0 and QUIET.loss.sigma == 0
    assert QUIET.loss_limit() == 5.0  # max(5 %, 0 + max(3 sigma, 3))
    assert judge(Interval(NOW, 2.5, 12.0, True), QUIET) == ()  # one echo in 40
    assert judge(Interval(NOW, 5.0, 12.0, True), QUIET) == ("loss",)
    assert QUIET.latency is not None and 11 < QUIET.latency.median < 13
    assert judge(Interval(NOW, 0.0, 40.0, True), QUIET) == ()  # within median + 30 ms
    assert judge(Interval(NOW, 0.0, 45.0, True), QUIET) == ("latency",)
    assert judge(Interval(NOW, 0.0, 12.0, False), QUIET) == ("dns",)


def test_a_new_home_falls_back_to_absolute_thresholds() -> None:
    new = Normal.of(_quiet(10))  # too few intervals for a baseline
    assert new.loss is None and new.latency is None and new.dns_fail_share is None
    assert judge(Interval(NOW, 4.9, 149.0, True), new) == ()
    assert judge(Interval(NOW, 5.0, 150.0, False), new) == ("loss", "latency", "dns")


def test_a_noisy_home_is_judged_against_its_own_noise() -> None:
    rng = random.Random(7)
    noisy = [
        Interval(NOW - i * STEP, rng.choice([0, 2.5, 5, 7.5, 10]), rng.uniform(30, 90), rng.random() > 0.3)
        for i in range(2000)
    ]
    normal = Normal.of(noisy)
    # 10 % loss and 120 ms would be news in a quiet home, not in this one; its DNS fails 30 % of
    # the time, so a failed lookup is its normal.
    assert judge(Interval(NOW, 10.0, 120.0, False), QUIET) == ("loss", "latency", "dns")
    assert judge(Interval(NOW, 10.0, 120.0, False), normal) == ()
    assert judge(Interval(NOW, 30.0, 200.0, False), normal) == ("loss", "latency")


def test_one_bad_interval_or_two_is_not_an_episode() -> None:
    assert episodes(_series("....x....xx...x.x.x...."), QUIET) == []


def test_an_episode_opens_after_three_bad_and_closes_after_three_good() -> None:
    rows = _series("...xxx.x.xx..x...")
    found = episodes(rows, QUIET)
    assert len(found) == 1  # the good intervals inside it do not split it: hysteresis
    (episode,) = found
    assert episode.start == rows[3].at and episode.last_bad == rows[13].at
    assert episode.cleared_at == rows[16].at and not episode.open
    assert episode.metric == "loss" and episode.where == "beyond_gateway"
    assert episode.value == 20.0 and episode.normal == 0.0
    assert not episode.from_window_start


def test_an_episode_still_going_is_open_and_two_episodes_are_two() -> None:
    found = episodes(_series("xxxx....xxx"), QUIET)
    assert [e.open for e in found] == [False, True]
    assert found[0].from_window_start and not found[1].from_window_start


def test_intervals_without_figures_neither_open_nor_close() -> None:
    rows = _series("xx.xx")
    rows[2] = Interval(rows[2].at)  # the probe measured nothing that interval
    assert len(episodes(rows, QUIET)) == 1


@pytest.mark.parametrize(
    ("bad", "metric", "where", "words"),
    [
        (Interval(NOW, 20.0, 14.0, True, "beyond_gateway"), "loss", "beyond_gateway", "provider's side"),
        (Interval(NOW, 25.0, 3.0, True, "lan"), "loss", "lan", "inside the home"),
        (Interval(NOW, 0.0, 250.0, True, "remote"), "latency", "remote", "some internet services"),
        (Interval(NOW, 0.0, 12.0, False, "dns"), "dns", "dns", "name lookups fail"),
        (Interval(NOW, 0.0, 12.0, False, None), "dns", "dns", "name lookups fail"),
    ],
)
def test_where_the_trouble_is_comes_from_the_agents_finding(
    bad: Interval, metric: str, where: str, words: str
) -> None:
    (episode,) = episodes(_series("..xxxx", bad=bad), QUIET)
    assert (episode.metric, episode.where) == (metric, where)
    assert words in raised_text("SUB-1001", episode)[1]


def test_the_words_name_the_home_the_figure_since_when_its_normal_and_what_to_check() -> None:
    rows = _series("xxxx...", start=datetime(2026, 11, 20, 14, 5, tzinfo=UTC))
    rows[1] = Interval(rows[1].at, 18.0, 14.0, True, "beyond_gateway")
    rows[2] = Interval(rows[2].at, 18.0, 14.0, True, "beyond_gateway")
    rows[3] = Interval(rows[3].at, 18.0, 14.0, True, "beyond_gateway")
    (episode,) = episodes(rows, QUIET)
    subject, body = raised_text("SUB-1001", episode)
    assert subject == "Home SUB-1001: internet connection degraded"
    assert body == (
        "Home SUB-1001: 18% of pings beyond the gateway are lost since 14:05 UTC (its normal is 0%); "
        "the trouble is beyond the home's router, on the provider's side: check the line."
    )
    _, cleared = cleared_text("SUB-1001", episode)
    assert cleared == (
        "Home SUB-1001: the internet connection is back to normal since 14:35 UTC; from 14:05 UTC, "
        "for about 30 minutes, 18% of pings beyond the gateway were lost."
    )


def test_an_open_episode_has_no_all_clear() -> None:
    (episode,) = episodes(_series("xxx"), QUIET)
    assert episode.open
    with pytest.raises(ValueError, match="no all-clear"):
        cleared_text("SUB-1001", episode)


# ---------------------------------------------------------------------------- the care loop

AGENT = "care-degraded-1"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(database_url)
    migrate(engine)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        session.add(Agent(id=AGENT, public_key="k" * 43, subscriber_id="SUB-1001", last_seen_at=NOW))
        session.flush()
        session.add(
            CarePreference(agent_id=AGENT, email="sub@home.test", muted_kinds=[], unsubscribe_token="t-deg")
        )
        for row in _quiet(14 * 24 * 12, end=NOW - timedelta(hours=3)):  # two weeks of a quiet home
            session.add(_sample(row))
    yield factory
    engine.dispose()


def _sample(row: Interval) -> ConnectivitySample:
    return ConnectivitySample(
        agent_id=AGENT,
        at=row.at,
        probe="connectivity",
        loss_pct=row.loss_pct,
        latency_p50_ms=row.latency_ms,
        dns_ok=row.dns_ok,
        finding=row.where,
    )


def _add(sessions: sessionmaker[Session], rows: list[Interval]) -> None:
    with sessions.begin() as session:
        session.add_all(_sample(r) for r in rows)


def _notes(sessions: sessionmaker[Session]) -> list[tuple[str, str, str, str]]:
    with sessions() as session:
        return [
            (n.threshold, n.cycle, n.channel, n.body)
            for n in session.scalars(
                select(CareNotification)
                .where(CareNotification.kind == DEGRADED_KIND)
                .order_by(CareNotification.id)
            )
        ]


def _pass(sessions: sessionmaker[Session], now: datetime) -> int:
    with sessions.begin() as session:
        return connectivity_alerts(session, now=now, email_enabled=True)


def test_the_alert_is_raised_once_per_episode_and_cleared_when_it_ends(
    sessions: sessionmaker[Session],
) -> None:
    start = NOW - timedelta(hours=1)
    # Good, then one stray bad interval, then an episode of 18 bad intervals with good ones among them.
    pattern = "......x....xxxx.xxxxx.xxxxxxxxx"
    rows = _series(pattern, start)
    first_bad = start + pattern.index("xxxx") * STEP
    for i in range(1, len(rows) + 1):
        _add(sessions, rows[i - 1 : i])
        _pass(sessions, rows[i - 1].at + timedelta(seconds=1))
        _pass(sessions, rows[i - 1].at + timedelta(seconds=2))  # a repeated pass adds nothing
    notes = _notes(sessions)
    assert {(t, c, ch) for t, c, ch, _ in notes} == {
        ("open", first_bad.isoformat(timespec="seconds"), "console"),
        ("open", first_bad.isoformat(timespec="seconds"), "email"),
    }
    assert "Home SUB-1001: 20% of pings beyond the gateway are lost since" in notes[0][3]
    # The line recovers: three good intervals clear it, once.
    after = rows[-1].at
    for k in range(1, 6):
        _add(sessions, _series(".", after + k * STEP))
        _pass(sessions, after + k * STEP + timedelta(seconds=1))
    cleared = [n for n in _notes(sessions) if n[0] == "cleared"]
    assert len(cleared) == 2 and {n[1] for n in cleared} == {first_bad.isoformat(timespec="seconds")}
    assert "back to normal since" in cleared[0][3]
    assert _pass(sessions, after + 6 * STEP) == 0


def test_an_episode_longer_than_the_scan_window_stays_one_alert(sessions: sessionmaker[Session]) -> None:
    start = NOW - timedelta(hours=1)
    rows = _series("x" * 60, start)  # five hours of loss, longer than the three-hour scan
    for i in range(0, len(rows), 6):
        _add(sessions, rows[i : i + 6])
        _pass(sessions, rows[min(i + 5, len(rows) - 1)].at + timedelta(seconds=1))
    opened = {c for t, c, ch, _ in _notes(sessions) if t == "open" and ch == "console"}
    assert opened == {start.isoformat(timespec="seconds")}
    # It ends after its start has left the window: the open alert is the one cleared.
    end = rows[-1].at
    _add(sessions, _series("." * 40, end + STEP))
    _pass(sessions, end + 41 * STEP)
    cleared = {c for t, c, ch, _ in _notes(sessions) if t == "cleared" and ch == "console"}
    assert cleared == opened


def test_the_care_loop_decides_it_with_the_other_alerts(
    sessions: sessionmaker[Session], tmp_path: Path, database_url: str
) -> None:
    _add(sessions, _series("xxxx", NOW - timedelta(minutes=30)))
    care = CareLoop(load_settings(state_dir=tmp_path / "state", db_url=database_url), sessions)
    assert care.decide(NOW)["connectivity"] == 1  # the console only: no SMTP configured
    assert care.decide(NOW)["connectivity"] == 0
