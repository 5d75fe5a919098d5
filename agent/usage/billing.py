"""The current billing cycle as this agent counted it, for `homediag-agent usage` and the CSR's command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.cycles import cycle_bounds, zone

from ..const import DEVICE_USAGE_FILE, PLAN_FILE
from .counters import LOCAL_FILE, LocalUsage
from .flows import DeviceHours


def cycle_report(state_dir: Path, now: float) -> dict[str, Any]:
    """Cycle-to-date usage as this agent counted it, in the plan's cycle (UTC months without one)."""
    try:
        plan = json.loads((state_dir / PLAN_FILE).read_text())
        start_day, tz, cap = int(plan["cycle_start_day"]), str(plan["timezone"]), int(plan["cap_bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        start_day, tz, cap = 1, "UTC", None
    moment = datetime.fromtimestamp(now, UTC)
    start, end = cycle_bounds(moment, start_day, tz)
    zinfo = zone(tz)
    days: dict[str, list[int]] = {}
    for hour, rx, tx in LocalUsage(state_dir / LOCAL_FILE).hours(start.timestamp(), end.timestamp()):
        day = days.setdefault(datetime.fromtimestamp(hour, zinfo).date().isoformat(), [0, 0])
        day[0] += rx
        day[1] += tx
    rx_total, tx_total = sum(d[0] for d in days.values()), sum(d[1] for d in days.values())
    devices_db = state_dir / DEVICE_USAGE_FILE
    return {
        "cycle_start": start.isoformat(),
        "cycle_end": end.isoformat(),
        "timezone": tz,
        "cap_bytes": cap,
        "bytes_rx": rx_total,
        "bytes_tx": tx_total,
        "total_bytes": rx_total + tx_total,
        "daily": [{"date": d, "bytes_rx": v[0], "bytes_tx": v[1]} for d, v in sorted(days.items())],
        # Per device only where the agent meters a gateway's connection tracking (probe device_usage).
        "devices": (
            DeviceHours(devices_db).breakdown(start.timestamp(), end.timestamp())
            if devices_db.exists()
            else None
        ),
    }
