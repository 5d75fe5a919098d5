"""`homediag-agent status`: what the agent is, and what the running one last said."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import protocol

from . import revocation
from .config import AgentConfig
from .const import OUTBOX_FILE, STATUS_FILE, STATUS_WRITE_INTERVAL_S
from .errors import NotEnrolled
from .identity import load_enrollment, load_or_create_key
from .outbox import Outbox


def collect_status(config: AgentConfig) -> dict[str, Any]:
    state_dir = config.state_dir
    result: dict[str, Any] = {"state_dir": str(state_dir)}
    try:
        enrollment = load_enrollment(state_dir)
    except NotEnrolled:
        result["enrolled"] = False
        return result
    result.update(
        enrolled=True,
        agent_id=enrollment.agent_id,
        cloud_url=enrollment.cloud_url,
        broker_url=config.link.broker_url or enrollment.broker_url,
        public_key=protocol.public_key_text(load_or_create_key(state_dir)),
    )
    revoked = revocation.load(state_dir, enrollment.agent_id)
    result["revoked"] = asdict(revoked) if revoked else None
    running = _read_running(state_dir / STATUS_FILE)
    result["running"] = running is not None
    if running is not None:
        result.update(
            link=running["link"],
            probes=running["probes"],
            commands=running.get("commands"),
            cloud_clock_offset_s=running.get("cloud_clock_offset_s"),
            certificate_renewals=running.get("certificate_renewals", 0),
            status_updated_at=running["updated_at"],
        )
    else:
        result["link"] = {"state": "stopped"}
    if (state_dir / OUTBOX_FILE).exists():
        outbox = Outbox(
            state_dir / OUTBOX_FILE,
            max_messages=config.outbox.max_messages,
            max_bytes=config.outbox.max_bytes,
        )
        try:
            stats = outbox.stats(resend_after_s=config.link.resend_after_s)
        finally:
            outbox.close()
        result["outbox"] = {
            "depth": stats.depth,
            "bytes": stats.bytes,
            "epoch": stats.epoch,
            "next_seq": stats.next_seq,
            "dropped_total": stats.dropped_total,
        }
    return result


def _read_running(path: Path) -> dict[str, Any] | None:
    """The running agent's last snapshot, if that agent is still alive and the snapshot fresh."""
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        os.kill(int(data["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if time.time() - float(data.get("updated_at", 0)) > 5 * STATUS_WRITE_INTERVAL_S:
        return None
    return data
