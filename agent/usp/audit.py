"""The local audit of every controller action, in the agent's state directory for the subscriber.

One JSON object a line (``usp-audit.jsonl``, mode 0644 like ``status.json``): when, which
controller, what it asked, and the outcome. Bounded: past :data:`AUDIT_MAX_BYTES` the file is
rotated once to ``.1``, so a chatty controller cannot fill the disk. Writes are blocking and run
off the loop; a failing disk is logged, never fatal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .const import AUDIT_FILE, AUDIT_MAX_BYTES

_LOGGER = logging.getLogger(__name__)


class Audit:
    def __init__(self, state_dir: Path, max_bytes: int = AUDIT_MAX_BYTES) -> None:
        self.path = state_dir / AUDIT_FILE
        self.max_bytes = max_bytes
        self.failures = 0
        self._lock = asyncio.Lock()

    async def record(self, controller: str, action: str, outcome: str, **details: Any) -> None:
        entry = {"at": time.time(), "controller": controller[:256], "action": action, "outcome": outcome}
        line = json.dumps(entry | details, separators=(",", ":"), default=str)[:4096] + "\n"
        async with self._lock:
            try:
                await asyncio.to_thread(self._append, line)
            except OSError as exc:
                self.failures += 1
                _LOGGER.warning("cannot write the USP audit %s: %s", self.path, exc)

    def _append(self, line: str) -> None:
        try:
            if self.path.stat().st_size + len(line) > self.max_bytes:
                os.replace(self.path, self.path.with_suffix(".jsonl.1"))
        except FileNotFoundError:
            pass
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.write(line)

    def read(self) -> list[dict[str, Any]]:
        """Every entry of the current file (for tests and a future ``homediag-agent`` command)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]


#: What a controller read, in the subscriber's words (the longest matching path wins).
_WHAT = {
    "Device.Hosts.": "the list of devices in your home",
    "Device.DNS.SD.": "the services your devices announce",
    "Device.DeviceInfo.": "this device's make and software version",
    "Device.LocalAgent.": "the agent's own settings",
    "Device.MQTT.": "the agent's connection settings",
    "Device.": "everything the agent shares",
}
_COMMAND = {
    "Device.IP.Diagnostics.IPPing()": "a ping test",
    "Device.IP.Diagnostics.TraceRoute()": "a route trace",
    "Device.DNS.Diagnostics.NSLookupDiagnostics()": "a name lookup (DNS) test",
    "Device.IP.Diagnostics.DownloadDiagnostics()": "a download speed test",
    "Device.IP.Diagnostics.UploadDiagnostics()": "an upload speed test",
}
_REFUSED = {
    7026: "it asked for something this agent does not have",
    7016: "it asked for something this agent does not have",
}
_NEEDS_CONSENT = "it needs your permission first (homediag-agent consent grant)"
_NOT_ALLOWED = "this tool is not allowed to do that on your device"


def describe(entry: dict[str, Any]) -> str:
    """One audit entry as a sentence for the subscriber (``homediag-agent controllers``)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(float(entry.get("at", 0))))
    who = str(entry.get("controller", "a controller"))
    action, outcome = entry.get("action"), entry.get("outcome")
    command = str(entry.get("command") or next(iter(entry.get("paths") or []), ""))
    if action == "operate":
        what = _COMMAND.get(command) or ("a support bundle" if "SupportBundle" in command else "a command")
        target = (entry.get("input_args") or {}).get("Host") or (entry.get("input_args") or {}).get(
            "HostName"
        )
        what += f" to {target}" if target else ""
        done = {"started": "started", "complete": "finished", "failed": "could not finish"}.get(str(outcome))
        text = f"{who} {done} {what}" if done else f"{who} asked for {what}"
    elif action in ("get", "get_instances"):
        paths = [str(p) for p in entry.get("paths", [])]
        things = sorted({_thing(p) for p in paths}) or ["what the agent shares"]
        text = f"{who} read {', '.join(things)}"
    elif action in ("get_supported_dm", "get_supported_protocol"):
        text = f"{who} asked what this agent supports"
    elif action in ("add", "set"):
        text = f"{who} asked to be told about changes"
    elif action == "delete":
        text = f"{who} stopped being told about changes"
    else:
        text = f"{who} sent a request ({action})"
    if outcome == "refused":
        code = int(entry.get("code", 0) or 0)
        if code == 7006:
            why = _NEEDS_CONSENT if "remote-assistance" in str(entry.get("reason", "")) else _NOT_ALLOWED
        else:
            why = _REFUSED.get(code, "the request was not valid")
        text += f"; it was refused: {why}"
    return f"{when}  {text}."


def _thing(path: str) -> str:
    for prefix in sorted(_WHAT, key=len, reverse=True):
        if path.startswith(prefix):
            return _WHAT[prefix]
    return "something this agent does not have"
