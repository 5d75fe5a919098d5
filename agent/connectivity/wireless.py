"""The Wi-Fi link of this host: signal, noise, bit rate and frequency, or "not applicable".

Linux reports signal and noise per wireless interface in ``/proc/net/wireless`` (dBm in recent
drivers); bit rate and frequency come from ``iw dev IF link`` when ``iw`` is installed. A host
without a wireless interface gets ``Status: "Error_NotApplicable"`` once, as data: a wired PC is
not a fault.

The link is TR-181's station side, ``Device.WiFi.EndPoint.{i}.``: signal and rates in ``Stats``
(``int`` dBm, ``unsignedInt(1000:600000)`` kbit/s, clamped to those ranges), noise and SNR as the
access point's ``AssociatedDevice`` has them, but as extensions, and SNR left out when the driver
gives no noise. The SSID, frequency, link quality and the ``Device.IP.Interface.{i}`` reference
live in other tables of the model and travel as extensions.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path
from typing import Any

from protocol.samples import UNSET
from protocol.samples.connectivity import WifiData, WifiStats

from ..result import COMPLETE, ProbeResult
from ..subprocesses import communicate
from ..usage.interfaces import interface_path

PROC_WIRELESS = "/proc/net/wireless"
NOT_APPLICABLE = "Error_NotApplicable"
IW_TIMEOUT_S = 5.0  # iw answers in milliseconds; a wedged driver must not hold the probe
#: TR-181's ranges: ``int(-200:0)`` dBm, ``EndPoint.Stats.LastData...Rate`` ``(1000:600000)`` kbit/s.
DBM_RANGE = (-200, 0)
RATE_RANGE = (1000, 600_000)


def _clamp(value: float, bounds: tuple[int, int]) -> int:
    return min(bounds[1], max(bounds[0], round(value)))


def link_data(name: str, values: dict[str, float], iw: dict[str, Any]) -> WifiData:
    """The Wi-Fi link as TR-181's EndPoint: /proc/net/wireless's ``values`` first, then iw's."""
    signal = values.get("SignalStrength", iw.get("SignalStrength"))
    noise = values.get("Noise") or None  # 0: the driver does not know
    stats = WifiStats(
        SignalStrength=_clamp(signal, DBM_RANGE) if signal is not None else UNSET,
        Noise=_clamp(noise, DBM_RANGE) if noise is not None else UNSET,
        SNR=max(0, round(signal - noise)) if signal is not None and noise is not None else UNSET,
        LastDataDownlinkRate=(
            _clamp(iw["LastDataDownlinkRate"], RATE_RANGE) if "LastDataDownlinkRate" in iw else UNSET
        ),
        LastDataUplinkRate=(
            _clamp(iw["LastDataUplinkRate"], RATE_RANGE) if "LastDataUplinkRate" in iw else UNSET
        ),
    )
    quality = values.get("LinkQuality")
    return WifiData(
        Interface=interface_path(name),
        Stats=stats,
        LinkQuality=max(0, round(quality)) if quality is not None else UNSET,
        SSID=iw.get("SSID", UNSET),
        Frequency=round(iw["Frequency"]) if "Frequency" in iw else UNSET,
    )


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
    iw = shutil.which("iw")
    from_iw = parse_iw_link(await _iw_link(iw, name)) if iw else {}
    return ProbeResult.of(link_data(name, values, from_iw), COMPLETE)


async def _iw_link(iw: str, interface: str, timeout_s: float = IW_TIMEOUT_S) -> str:
    """``iw dev IF link``'s output, or "" when it fails or hangs (a wedged driver): killed, not waited on."""
    proc = await asyncio.create_subprocess_exec(
        iw, "dev", interface, "link", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    done = await communicate(proc, None, timeout_s)
    return "" if done is None else done[0].decode(errors="replace")
