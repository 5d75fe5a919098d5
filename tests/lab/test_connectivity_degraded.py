"""The connectivity-degraded alert end to end in the virtual home (issue 20).

The whole product runs (tests/lab/stack.py): the cloud in the ISP namespace, the agent on the PC
with its connectivity probe every 2 s, reporting over MQTT through the gateway's NAT. Two weeks
of a quiet home are seeded into the cloud's store as the baseline; the episode itself comes from
the agent's real probes while the lab drops 30% of what the gateway sends on its WAN. The care
loop's decision pass runs against the cloud's database, as ``care run-once`` does.
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from cloud.care.alerts import DEGRADED_KIND
from cloud.care.loop import CareLoop
from cloud.config import load_settings
from cloud.storage import CareNotification, make_engine, make_sessionmaker
from cloud.storage.connectivity import ConnectivitySample
from cloud.storage.models import utcnow
from lab import CLOUD_ADDRESS, Lab

from .stack import lab_stack

pytestmark = pytest.mark.lab

PROBE: dict[str, Any] = {
    "interval_s": 2,
    "targets": [CLOUD_ADDRESS],
    "count": 20,
    "echo_interval_s": 0.02,
    "timeout_s": 1,
}


def test_loss_on_the_wan_raises_one_alert_and_its_end_clears_it(clean_home: Lab, tmp_path: Path) -> None:
    started = time.monotonic()
    with lab_stack(clean_home, tmp_path / "stack") as stack:
        agent_id = stack.agent("pc", {"netdev": {"enabled": False}, "connectivity": PROBE})
        engine = make_engine(f"sqlite:///{stack.workdir / 'cloud' / 'homediag.sqlite'}")
        sessions = make_sessionmaker(engine)
        care = CareLoop(load_settings(state_dir=stack.workdir / "cloud"), sessions)
        try:

            def stored(since: Any) -> int:
                with sessions() as session:
                    return int(
                        session.scalar(
                            select(func.count()).where(
                                ConnectivitySample.agent_id == agent_id,
                                ConnectivitySample.probe == "connectivity",
                                ConnectivitySample.at >= since,
                            )
                        )
                        or 0
                    )

            def notes() -> list[tuple[str, str, str]]:
                care.decide(utcnow())
                with sessions() as session:
                    return [
                        (n.threshold, n.cycle, n.body)
                        for n in session.scalars(
                            select(CareNotification).where(
                                CareNotification.agent_id == agent_id,
                                CareNotification.kind == DEGRADED_KIND,
                                CareNotification.channel == "console",
                            )
                        )
                    ]

            # The baseline: two weeks of a quiet home (no loss, LAN-speed pings), before the scan.
            now = utcnow()
            with sessions.begin() as session:
                session.add_all(
                    ConnectivitySample(
                        agent_id=agent_id,
                        at=now - timedelta(hours=4) - k * timedelta(minutes=15),
                        probe="connectivity",
                        loss_pct=0.0,
                        latency_p50_ms=0.3,
                        dns_ok=None,
                        finding="none",
                    )
                    for k in range(14 * 24 * 4)
                )
            stack.wait("good intervals from the agent", lambda: stored(now) >= 3, timeout_s=30)
            assert notes() == []

            clean_home.impair("gw", ifname="wan0", loss_pct=30)
            impaired = utcnow()
            opened = stack.wait(
                "the alert",
                lambda: [n for n in notes() if n[0] == "open"],
                timeout_s=30,
            )
            assert len(opened) == 1, opened
            body = opened[0][2]
            assert "of pings beyond the gateway are lost since" in body, body
            assert "(its normal is 0%)" in body and "on the provider's side: check the line" in body
            # The loss goes on: later passes add nothing.
            stack.wait("more bad intervals", lambda: stored(impaired) >= 6, timeout_s=30)
            assert [n for n in notes() if n[0] == "open"] == opened

            clean_home.clear_impairment("gw")
            cleared = stack.wait(
                "the all-clear",
                lambda: [n for n in notes() if n[0] == "cleared"],
                timeout_s=30,
            )
            assert [c[1] for c in cleared] == [opened[0][1]], cleared
            assert "back to normal since" in cleared[0][2]
            assert len(notes()) == 2  # one alert, one all-clear: nothing raised twice
        finally:
            engine.dispose()
    assert time.monotonic() - started < 90
