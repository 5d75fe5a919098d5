"""The Wi-Fi link of this host: signal, noise, bit rate and frequency, or "not applicable".

Linux reports signal and noise per wireless interface in ``/proc/net/wireless`` (dBm in recent
drivers); bit rate and frequency come from ``iw dev IF link`` when ``iw`` is installed. A host
without a wireless interface gets ``Status: "Error_NotApplicable"`` once, as data: a wired PC is
not a fault.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

from protocol.samples import WifiData

from ..result import COMPLETE, ProbeResult
from ..subprocesses import communicate

PROC_WIRELESS = "/proc/net/wireless"
NOT_APPLICABLE = "Error_NotApplicable"
IW_TIMEOUT_S = 5.0  # iw answers in milliseconds; a wedged driver must not hold the probe


def parse_proc_wireless(text: str) -> dict[str, dict[str, float]]:
    """Interface -> link quality, signal (dBm) and noise (dBm) from /proc/net/wireless."""
    links: dict[str, dict[str, float]] = {}
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        fields = rest.split()
        if not name.strip() or len(fields) < 4:
            continue
        try:
            quality, signal, noise = (float(f.rstrip(".")) for f in fields[1:4])
        except ValueError:
            continue
        # Old drivers report unsigned 8-bit values: 256 - x is the dBm figure.
        signal = signal - 256 if signal > 63 else signal
        noise = noise - 256 if noise > 63 else noise
        links[name.strip()] = {"LinkQuality": quality, "SignalStrength": signal, "Noise": noise}
    return links


def parse_iw_link(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m := re.search(r"SSID: (.+)", text):
        out["SSID"] = m.group(1).strip()
    if m := re.search(r"freq: ([\d.]+)", text):
        out["Frequency"] = float(m.group(1))  # MHz
    if m := re.search(r"tx bitrate: ([\d.]+) MBit/s", text):
        out["LastDataUplinkRate"] = round(float(m.group(1)) * 1000)  # kbps, as TR-181 AssociatedDevice
    if m := re.search(r"rx bitrate: ([\d.]+) MBit/s", text):
        out["LastDataDownlinkRate"] = round(float(m.group(1)) * 1000)
    if m := re.search(r"signal: (-?\d+) dBm", text):
        out.setdefault("SignalStrength", int(m.group(1)))
    return out


async def wifi_link(interface: str | None = None, proc_path: str = PROC_WIRELESS) -> ProbeResult:
    try:
        text = await asyncio.get_running_loop().run_in_executor(None, Path(proc_path).read_text)
    except OSError:
        text = ""
    links = parse_proc_wireless(text)
    if interface:
        links = {k: v for k, v in links.items() if k == interface}
    if not links:
        return ProbeResult.of(WifiData(message="this host has no Wi-Fi link"), NOT_APPLICABLE)
    name, values = next(iter(sorted(links.items())))
    data: dict[str, Any] = {"Interface": name, **values}
    data["SNR"] = values["SignalStrength"] - values["Noise"] if values["Noise"] else None
    iw = shutil.which("iw")
    if iw:
        out = await _iw_link(iw, name)
        data |= {k: v for k, v in parse_iw_link(out).items() if k not in data}
    return ProbeResult.of(WifiData(**data), COMPLETE)


async def _iw_link(iw: str, interface: str, timeout_s: float = IW_TIMEOUT_S) -> str:
    """``iw dev IF link``'s output, or "" when it fails or hangs (a wedged driver): killed, not waited on."""
    proc = await asyncio.create_subprocess_exec(
        iw, "dev", interface, "link", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    done = await communicate(proc, None, timeout_s)
    return "" if done is None else done[0].decode(errors="replace")
