"""The offline entry point: strict JSON Lines, malformed lines reported by number and never counted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cloud.care.offline import offline_daily_list
from cloud.care.records import encode, parse_lines
from cloud.errors import MalformedRecords
from tests.care_homes import fleet, records
from tests.support import ROOT

GOOD = (
    '{"home":"h1","device":"aa:bb:cc:dd:ee:01","class":"mail","hour":"2026-11-20T13:00:00Z",'
    '"bytes_rx":10,"bytes_tx":20,"flows":3,"remote_hosts":1,"smtp_connections":2}'
)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "not JSON"),
        (GOOD.replace('"flows":3,', ""), "missing required field `flows`"),
        (GOOD.replace('"bytes_tx":20', '"bytes_tx":-5'), "bytes_tx"),
        (GOOD.replace('"mail"', '"email"'), "class"),
        (GOOD.replace("T13:00:00Z", "T13:30:00Z"), "whole hour"),
        (GOOD.replace("T13:00:00Z", "T13:00:00"), "UTC offset"),
        (GOOD.replace("T13:00:00Z", "T13:00:00+01:00"), "in UTC"),
        (GOOD.replace("}", ',"extra":1}'), "unknown field"),
        (GOOD.replace('"bytes_rx":10', '"bytes_rx":"10"'), "bytes_rx"),
    ],
)
def test_a_malformed_line_is_rejected_with_its_number(line: str, error: str) -> None:
    parsed = parse_lines([GOOD, "", line])
    assert len(parsed.records) == 1
    assert [r.line for r in parsed.rejected] == [3]
    assert error.lower() in parsed.rejected[0].error.lower()


def test_a_repeated_hour_is_rejected_not_added() -> None:
    parsed = parse_lines([GOOD, GOOD])
    assert len(parsed.records) == 1
    assert parsed.rejected[0].line == 2
    assert "duplicate" in parsed.rejected[0].error


def test_records_round_trip() -> None:
    parsed = parse_lines([GOOD])
    assert parse_lines([encode(parsed.records[0])]).records == parsed.records


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloud", "care", "daily-list", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_cli_prints_the_daily_list_and_reports_bad_lines(tmp_path: Path) -> None:
    homes = fleet(12, incident_share=0.34, seed=11)
    path = tmp_path / "records.jsonl"
    lines = [encode(r) for h in homes for r in records(h)]
    lines.insert(5, b'{"home": "h9", "device": "x"}')  # line 6
    lines.insert(100, b"garbage")  # line 101
    path.write_bytes(b"\n".join(lines) + b"\n")

    out = _cli("--input", str(path), "--date", "2026-11-20")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [r["line"] for r in result["rejected"]] == [6, 101]
    assert "line 6: skipped" in out.stderr and "line 101: skipped" in out.stderr
    assert result["records"] == len(lines) - 2
    assert result["homes"] == 12
    expected = {(h.home_id, h.incident_device) for h in homes if h.incident}
    assert len(expected) == 4
    assert {(e["home"], e["device"]) for e in result["entries"]} == expected
    assert [e["rank"] for e in result["entries"]] == [1, 2, 3, 4]
    assert result["entries"][0]["kind"] == "smtp_burst"  # a spambot outranks everything else

    strict = _cli("--input", str(path), "--strict")
    assert strict.returncode == 1
    assert "2 malformed line(s), the first is line 6" in strict.stderr
    assert strict.stdout == ""


def test_feedback_file_is_used_and_a_bad_one_refused(tmp_path: Path) -> None:
    homes = fleet(8, incident_share=0.25, seed=12)
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join(encode(r) for h in homes for r in records(h)))
    before = offline_daily_list(path)["entries"]
    assert len(before) == 2
    weakest = before[-1]
    verdict = {"home": weakest["home"], "device": weakest["device"], "kind": weakest["kind"]}
    feedback = tmp_path / "verdicts.jsonl"
    feedback.write_text(json.dumps({**verdict, "verdict": "false_alarm", "day": "2026-11-19"}) + "\n")
    after = offline_daily_list(path, feedback=feedback)["entries"]
    assert [e["home"] for e in after] == [e["home"] for e in before]
    assert after[-1]["score"] == pytest.approx(weakest["score"] * 0.25, rel=0.01)
    assert after[0]["score"] == before[0]["score"]  # other homes are untouched
    feedback.write_text(json.dumps({**verdict, "verdict": "maybe", "day": "2026-11-19"}) + "\n")
    with pytest.raises(MalformedRecords, match="line 1"):
        offline_daily_list(path, feedback=feedback)
