"""The daily list on synthetic labelled homes: incidents found with the right device and reason,
normal change (holidays, a streaming habit, a bank holiday) left alone, and CSR feedback used."""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest

from cloud.care.baseline import history_from_records, masked_median
from cloud.care.detector import Feedback, FeedbackIndex, daily_list, detect, rank
from tests.care_homes import DAYS, GB, HOUSEHOLDS, TARGET, fleet, inject, make_home, records


@pytest.fixture(scope="module")
def homes_and_list():
    homes = fleet(48, incident_share=0.25, seed=3)
    history = history_from_records([r for h in homes for r in records(h)], TARGET)
    return homes, history, daily_list(history)


def test_every_incident_is_listed_with_its_device_and_nothing_else(homes_and_list) -> None:
    homes, _history, entries = homes_and_list
    expected = {(h.home_id, h.incident_device) for h in homes if h.incident}
    assert len(expected) == 12
    assert {(e.home, e.device) for e in entries} == expected
    kinds = {h.home_id: h.incident for h in homes}
    wanted = {
        "spambot": "smtp_burst",
        "upload": "upload_rise",
        "gone_dark": "silent",
        "drift": "upload_drift",
    }
    for entry in entries:
        assert entry.kind == wanted[kinds[entry.home]]
    # Normal households of every kind are in the data and none of them is listed.
    assert {h.household for h in homes if not h.incident} == set(HOUSEHOLDS)


def test_reasons_are_in_words(homes_and_list) -> None:
    _homes, _history, entries = homes_and_list
    by_kind = {e.kind: e.reason for e in entries}
    assert re.fullmatch(
        r"the PC 'DESKTOP-\d+' opened [\d,]+ outbound SMTP connections in the last 24 hours; its normal is 0",
        by_kind["smtp_burst"],
    )
    assert re.fullmatch(
        r"the (camera|PC) '.+' uploaded [\d.]+ GB in the last 24 hours, mostly other; "
        r"its normal is [\d.]+ GB a day",
        by_kind["upload_rise"],
    )
    assert re.fullmatch(
        r"the (printer|camera) '.+' has been silent for (three|four) days; "
        r"it is normally active on 100% of days",
        by_kind["silent"],
    )
    assert re.fullmatch(
        r"the upload of the (camera|PC) '.+' has grown over the last weeks from [\d.]+ to [\d.]+ GB a day",
        by_kind["upload_drift"],
    )


def test_a_false_alarm_moves_an_entry_down_and_a_confirmation_up(homes_and_list) -> None:
    _homes, history, entries = homes_and_list
    findings = detect(history)
    first = entries[0]
    down = rank(
        findings,
        TARGET,
        FeedbackIndex([Feedback(first.home, first.device, first.kind, "false_alarm", TARGET)]),
    )
    moved = next(e for e in down if e.home == first.home)
    assert moved.score == pytest.approx(first.score * 0.25, rel=0.01)
    assert moved.rank > 1
    # A weak finding after a false alarm drops off the list altogether.
    weakest = entries[-1]
    gone = rank(
        findings,
        TARGET,
        FeedbackIndex(
            [Feedback(weakest.home, weakest.device, weakest.kind, "false_alarm", TARGET - timedelta(days=3))]
        ),
    )
    assert weakest.home not in {e.home for e in gone}
    # ... but only for 30 days, and only for that device and kind.
    old = FeedbackIndex(
        [Feedback(weakest.home, weakest.device, weakest.kind, "false_alarm", TARGET - timedelta(days=31))]
    )
    assert weakest.home in {e.home for e in rank(findings, TARGET, old)}
    other = FeedbackIndex([Feedback(weakest.home, "00:00:00:00:00:00", weakest.kind, "false_alarm", TARGET)])
    assert weakest.home in {e.home for e in rank(findings, TARGET, other)}
    up = rank(
        findings,
        TARGET,
        FeedbackIndex([Feedback(weakest.home, weakest.device, weakest.kind, "confirmed", TARGET)]),
    )
    assert next(e for e in up if e.home == weakest.home).score > weakest.score


def test_a_holiday_away_does_not_make_the_return_look_like_a_jump() -> None:
    rng = np.random.default_rng(5)
    homes = [make_home(rng, i, "holiday") for i in range(20)]
    assert daily_list(history_from_records([r for h in homes for r in records(h)], TARGET)) == []


def test_a_spambot_in_a_home_on_holiday_is_still_found() -> None:
    rng = np.random.default_rng(6)
    home = make_home(rng, 0, "holiday")
    inject(rng, home, "spambot")
    (entry,) = daily_list(history_from_records(records(home), TARGET))
    assert (entry.kind, entry.device) == ("smtp_burst", home.incident_device)


def test_masked_median_ignores_invalid_entries() -> None:
    values = np.array([[1.0, 100.0, 3.0, 2.0], [5.0, 6.0, 7.0, 8.0]])
    valid = np.array([[True, False, True, True], [False, False, False, False]])
    median, count = masked_median(values, valid)
    assert median[0] == 2.0 and np.isnan(median[1])
    assert list(count) == [3, 0]


def test_a_weekly_backup_is_a_habit_not_an_upload_rise(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(8)
    homes = [make_home(rng, i, "backup") for i in range(10)]
    history = history_from_records([r for h in homes for r in records(h)], TARGET)
    assert daily_list(history) == []
    # Without the habit rule (and the "more than on any older day" rule, which alone keeps most
    # of them off too) every one of them would be listed: the rules are what keep them off.
    monkeypatch.setattr("cloud.care.detector.RECURRING_MIN_DAYS", 99)
    assert 0 < len(daily_list(history)) < 10
    monkeypatch.setattr(
        "cloud.care.detector._Detector._beyond_own_range",
        lambda _self, rows, _today: np.ones(len(rows), bool),
    )
    assert {e.kind for e in daily_list(history)} == {"upload_rise"}
    assert len(daily_list(history)) == 10


def test_a_leak_that_began_days_ago_is_not_excused_as_a_habit() -> None:
    rng = np.random.default_rng(9)
    home = make_home(rng, 0, "family")
    pc = next(d for d in home.devices if d.kind == "pc")
    leak = np.zeros((5, DAYS, 24))
    leak[1, -6:, :] = 4 * GB / 24  # 4 GB a day for the last six days: six days at today's level
    pc.traffic["other"] = leak
    (entry,) = daily_list(history_from_records(records(home), TARGET))
    assert (entry.kind, entry.device) == ("upload_rise", pc.mac)
