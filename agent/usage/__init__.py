"""Usage: what the line and each device moved, counted on the agent (per device: issue 6).

    counters      the line: interface counters as deltas that survive restarts, reboots, wraps, renames
    billing       the billing cycle to date as this agent counted it (`homediag-agent usage`)
    flows         per device and traffic class, per hour, from flow counters; hashed remote hosts
    conntrack     the kernel's connection tracking over netlink (pyroute2, loaded on first poll)
    capture       a header-only packet capture where the agent sees a bridge or a mirror port
    devices       DeviceUsagePoller: conntrack or capture -> flows, at the report pace
    meter         `homediag-agent meter`: the same count in the foreground, in its own file

The probes that schedule these are ``agent/probes/usage.py`` and ``agent/probes/device_usage.py``;
nothing here imports them. Errors (both :class:`agent.errors.AgentError`):
:class:`conntrack.ConntrackUnavailable` and :class:`capture.CaptureUnavailable`, each turned into
a status (``Error_NoConntrack``, ``Error_NoCapture``) by :class:`devices.DeviceUsagePoller`.
"""

from .billing import cycle_report
from .capture import Capture, CaptureUnavailable
from .conntrack import ConntrackUnavailable
from .counters import LocalUsage, MeterState, Reading, UsageDelta, delta, measure_line
from .devices import DeviceUsagePoller
from .flows import CLASSES, DeviceHours, Flow, classify

__all__ = [
    "CLASSES",
    "Capture",
    "CaptureUnavailable",
    "ConntrackUnavailable",
    "DeviceHours",
    "DeviceUsagePoller",
    "Flow",
    "LocalUsage",
    "MeterState",
    "Reading",
    "UsageDelta",
    "classify",
    "cycle_report",
    "delta",
    "measure_line",
]
